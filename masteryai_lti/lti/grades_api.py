"""Grade passback and roster sync for teachers: list and resend grade posts, post a
grade, read results back from the LMS, sync the roster."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from masteryai_lti.core.errors import ApiError
from masteryai_lti.core.policy import current_actor
from masteryai_lti.core.schemas import ProblemSchema
from masteryai_lti.lti import grading, outbox, placements, roster
from masteryai_lti.lti.outbox_models import OUTBOX_STATUSES
from masteryai_lti.lti.service_client import PlatformServiceError

blp = Blueprint(
    "lti_grades",
    __name__,
    url_prefix="/api/v1/courses",
    description="Grades sent to the LMS (AGS) and roster sync (NRPS) of LMS courses.",
)
BEARER = [{"bearerAuth": []}]


class GradePostSchema(Schema):
    id = fields.Integer(dump_only=True)
    resource_link_pk = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    lti_user_id = fields.String(dump_only=True)
    student_name = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "The learner's name"}
    )
    score_given = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    score_maximum = fields.Float(load_default=None, allow_none=True)
    activity_progress = fields.String(
        load_default="Completed", validate=validate.OneOf(grading.ACTIVITY_PROGRESS)
    )
    grading_progress = fields.String(
        load_default="FullyGraded", validate=validate.OneOf(grading.GRADING_PROGRESS)
    )
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    status = fields.String(dump_only=True)
    attempts = fields.Integer(dump_only=True)
    next_attempt_at = fields.DateTime(dump_only=True)
    last_error = fields.String(dump_only=True, allow_none=True)
    source = fields.String(dump_only=True)
    score_timestamp = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    sent_at = fields.DateTime(dump_only=True, allow_none=True)


class GradePostQuerySchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(OUTBOX_STATUSES))


class ResendAllSchema(Schema):
    resent = fields.Integer()


class ResultSchema(Schema):
    user_id = fields.String()
    result_score = fields.Float(allow_none=True)
    result_maximum = fields.Float(allow_none=True)
    comment = fields.String(allow_none=True)


class RosterSyncSchema(Schema):
    pages = fields.Integer()
    members = fields.Integer()
    users_created = fields.Integer()
    enrollments_active = fields.Integer()
    enrollments_deactivated = fields.Integer()
    observers = fields.Integer(metadata={"description": "Parents and mentors: not enrolled"})
    test_users = fields.Integer(
        metadata={"description": "The LMS's test students: enrolled, not in the class"}
    )
    skipped = fields.Integer()


class SessionCountSchema(Schema):
    correct = fields.Float()
    total = fields.Integer()
    sessions = fields.Integer()


class GradeStatusSchema(Schema):
    state = fields.String(
        metadata={"description": "not_graded, on_finish, pending, sent, failed or not_sent"}
    )
    message = fields.String(metadata={"description": "What to tell the student"})


class PlacementResultSchema(Schema):
    assignment_id = fields.Integer()
    status = fields.String(metadata={"description": "open or completed"})
    answered = fields.Integer()
    correct = fields.Float(metadata={"description": "Answers' scores summed (right = 1)"})
    total = fields.Integer()
    best = fields.Nested(SessionCountSchema, allow_none=True)
    grade = fields.Nested(GradeStatusSchema)


class LmsUnavailable(ApiError):
    status, title, slug = 502, "LMS service unavailable", "lms-unavailable"


def _platform_call(call):
    try:
        return call()
    except PlatformServiceError as exc:
        raise LmsUnavailable(f"The LMS did not answer as expected: {exc.reason}") from exc


@blp.route("/<int:course_id>/grade-posts")
class GradePosts(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(GradePostQuerySchema, location="query")
    @blp.response(200, GradePostSchema(many=True))
    @blp.alt_response(403, schema=ProblemSchema, description="Not a teacher of the course")
    def get(self, query, course_id):
        """Grade posts of the course, newest first; ``status=failed`` lists what to resend."""
        return outbox.posts_for_course(current_actor(), course_id, query["status"])

    @blp.doc(security=BEARER)
    @blp.arguments(GradePostSchema)
    @blp.response(202, GradePostSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="The link has no grade service")
    @blp.alt_response(422, schema=ProblemSchema, description="A score no LMS would accept")
    def post(self, payload, course_id):
        """Send a learner's grade for a graded link to the LMS (queued; delivered with retries)."""
        return outbox.record_score_for_actor(current_actor(), course_id, **payload)


@blp.route("/<int:course_id>/grade-posts/<int:post_id>/resend", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(202, GradePostSchema)
@blp.alt_response(409, schema=ProblemSchema, description="Only failed posts can be resent")
def resend(course_id, post_id):
    """Send a failed grade post again."""
    return outbox.resend(current_actor(), course_id, post_id)


@blp.route("/<int:course_id>/grade-posts/resend-failed", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(202, ResendAllSchema)
def resend_failed(course_id):
    """Send every failed grade post of the course again."""
    return {"resent": outbox.resend_all_failed(current_actor(), course_id)}


@blp.route("/<int:course_id>/assignments/<int:assignment_id>/grade")
@blp.doc(security=BEARER)
@blp.response(200, PlacementResultSchema)
@blp.alt_response(404, schema=ProblemSchema, description="Not your assignment")
def placement_grade(course_id, assignment_id):
    """A practice session as recorded (answered, correct), the best session on its LMS
    placement, and whether that grade reached the gradebook (students: their own)."""
    return placements.placement_result(current_actor(), course_id, assignment_id)


@blp.route("/<int:course_id>/links/<int:resource_link_pk>/results")
@blp.doc(security=BEARER)
@blp.response(200, ResultSchema(many=True))
@blp.alt_response(502, schema=ProblemSchema, description="The LMS did not answer")
def results(course_id, resource_link_pk):
    """The LMS gradebook's results for a graded link, read through AGS (every page)."""
    actor = current_actor()
    return _platform_call(lambda: outbox.results_for_link(actor, course_id, resource_link_pk))


@blp.route("/<int:course_id>/roster-sync", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, RosterSyncSchema)
@blp.alt_response(409, schema=ProblemSchema, description="No roster service offered yet")
@blp.alt_response(502, schema=ProblemSchema, description="The LMS did not answer")
def roster_sync(course_id):
    """Sync the course's members from the LMS (NRPS), including students who never launched."""
    actor = current_actor()
    return _platform_call(lambda: roster.sync_course_for_actor(actor, course_id).as_dict())
