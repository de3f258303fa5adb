"""Project-based learning REST API: projects, groups, evaluations, evidence, scores.

Every route is under ``/api/v1/courses/<course_id>/projects``. Views parse, call one
service function and shape the result; tenant and role checks live in the service.
"""

from __future__ import annotations

from io import BytesIO

from flask import Response, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from masteryai_lti.core.api_input import UnsupportedMediaType
from masteryai_lti.core.errors import ValidationFailed, field_error, flatten_messages
from masteryai_lti.core.policy import current_actor
from masteryai_lti.core.schemas import ProblemSchema, not_blank
from masteryai_lti.core.security_headers import STORED_DATA_POLICY
from masteryai_lti.core.storable import LARGEST_INTEGER, unstorable_character
from masteryai_lti.pbl import service
from masteryai_lti.pbl.models import EVIDENCE_KINDS, PROJECT_STATUSES
from masteryai_lti.pbl.service.evidence import NOTE_MAX_LENGTH, URL_MAX_LENGTH
from masteryai_lti.pbl.service.groups import MAX_GROUP_SIZE

blp = Blueprint(
    "pbl",
    __name__,
    url_prefix="/api/v1/courses/<int:course_id>/projects",
    description="Project-based learning: projects with rubrics, groups, teacher and peer "
    "evaluation, evidence, group and individual scores.",
)
BEARER = [{"bearerAuth": []}]
COMMENT = validate.Length(max=5000)
TITLE = validate.And(validate.Length(min=1, max=200), not_blank)
GROUP_SIZE_HELP = (
    f"How many members students signing up may bring a group to (2..{MAX_GROUP_SIZE}); "
    f"null: the {MAX_GROUP_SIZE} of any group. Teachers may place more."
)


# -- schemas -------------------------------------------------------------------------


class ProjectInputSchema(Schema):
    title = fields.String(required=True, validate=TITLE)
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    status = fields.String(load_default="draft", validate=validate.OneOf(PROJECT_STATUSES))
    rubric = fields.Dict(
        load_default=None,
        metadata={
            "description": "{criteria: [{key, name, weight, description, levels: "
            "[{points, label, description}]}]}; default: communication, collaboration, "
            "problem solving, four levels each"
        },
    )
    peer_weight = fields.Float(
        load_default=0.5,
        metadata={"description": "Share of the group score moderated by peer ratings (0..1)"},
    )
    self_assessment = fields.Boolean(load_default=False)
    non_submission_penalty = fields.Float(
        load_default=0.0,
        metadata={"description": "Share deducted from a member who rated nobody (0..1)"},
    )
    due_at = fields.AwareDateTime(load_default=None, allow_none=True)
    group_sign_up = fields.Boolean(
        load_default=False,
        metadata={"description": "Students in no group join one with room themselves"},
    )
    max_group_size = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        metadata={"description": GROUP_SIZE_HELP},
    )


class ProjectPatchSchema(Schema):
    title = fields.String(validate=TITLE)
    description = fields.String(validate=validate.Length(max=20000))
    status = fields.String(validate=validate.OneOf(PROJECT_STATUSES))
    rubric = fields.Dict(allow_none=True, metadata={"description": "null: the default rubric"})
    peer_weight = fields.Float()
    self_assessment = fields.Boolean()
    non_submission_penalty = fields.Float()
    due_at = fields.AwareDateTime(allow_none=True)
    group_sign_up = fields.Boolean()
    max_group_size = fields.Integer(
        allow_none=True, strict=True, metadata={"description": GROUP_SIZE_HELP}
    )


class ProjectSchema(Schema):
    id = fields.Integer()
    course_id = fields.Integer()
    title = fields.String()
    description = fields.String()
    status = fields.String()
    rubric = fields.Dict()
    peer_weight = fields.Float()
    self_assessment = fields.Boolean()
    non_submission_penalty = fields.Float()
    due_at = fields.DateTime(allow_none=True)
    group_sign_up = fields.Boolean()
    max_group_size = fields.Integer(allow_none=True)
    scores_released_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class GroupMemberSchema(Schema):
    user_id = fields.Integer()
    name = fields.String()
    left_course = fields.Boolean(
        metadata={
            "description": "Their enrolment ended: still listed, but neither rated nor scored"
        }
    )


MEMBERS = validate.Length(max=MAX_GROUP_SIZE, error="At most {max} members.")


class ProjectGroupInputSchema(Schema):
    name = fields.String(
        required=True, validate=validate.And(validate.Length(min=1, max=120), not_blank)
    )
    member_ids = fields.List(fields.Integer(), load_default=list, validate=MEMBERS)


class ProjectGroupPatchSchema(Schema):
    name = fields.String(validate=validate.And(validate.Length(min=1, max=120), not_blank))
    member_ids = fields.List(fields.Integer(), validate=MEMBERS)


class ProjectGroupSchema(Schema):
    id = fields.Integer()
    project_id = fields.Integer()
    name = fields.String()
    members = fields.List(fields.Nested(GroupMemberSchema))
    room = fields.Integer(
        metadata={"description": "Places left for students signing up to it themselves"}
    )


class RubricRatingsInputSchema(Schema):
    # The values are checked against the rubric by the service, which names each
    # problem ``ratings.<criterion>``; a Float here would call the same problem
    # ``ratings.<criterion>.value`` and hide the others behind it.
    ratings = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={
            "description": "{criterion key: points of the chosen level}",
            "additionalProperties": {"type": "number"},
        },
    )
    comment = fields.String(load_default="", validate=COMMENT)


class GroupEvaluationSchema(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    evaluator_id = fields.Integer()
    ratings = fields.Dict()
    score = fields.Float(metadata={"description": "This evaluation's rubric score, 0..100"})
    comment = fields.String()
    updated_at = fields.DateTime()


class PeerRatingSchema(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    rater_id = fields.Integer()
    ratee_id = fields.Integer()
    ratings = fields.Dict()
    score = fields.Float(metadata={"description": "This rating's rubric score, 0..100"})
    comment = fields.String()
    updated_at = fields.DateTime()


class ProjectEvidenceInputSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("link", "note")))
    title = fields.String(required=True, validate=TITLE)
    url = fields.String(load_default=None, validate=validate.Length(max=URL_MAX_LENGTH))
    note = fields.String(load_default=None, validate=validate.Length(max=NOTE_MAX_LENGTH))
    criterion_key = fields.String(load_default=None, validate=validate.Length(max=40))
    group_id = fields.Integer(load_default=None, metadata={"description": "Teachers only"})


class ProjectEvidenceFormSchema(Schema):
    title = fields.String(required=True, validate=TITLE)
    criterion_key = fields.String(load_default=None, validate=validate.Length(max=40))
    # A form is not JSON, so the API's check of every JSON number (core.api_input) does
    # not see this one; past 64 bits SQLite cannot even compare it with an id (a 500).
    group_id = fields.Integer(
        load_default=None,
        validate=validate.Range(
            min=-LARGEST_INTEGER - 1,
            max=LARGEST_INTEGER,
            error="Number out of range (64-bit integers).",
        ),
    )


class ProjectEvidenceSchema(Schema):
    id = fields.Integer()
    group_id = fields.Integer()
    author_id = fields.Integer(allow_none=True)
    kind = fields.String(validate=validate.OneOf(EVIDENCE_KINDS))
    title = fields.String()
    url = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    criterion_key = fields.String(allow_none=True)
    filename = fields.String(allow_none=True)
    content_type = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ProjectEvidenceQuerySchema(Schema):
    group_id = fields.Integer(load_default=None)


class RubricCriterionScoreSchema(Schema):
    key = fields.String()
    points = fields.Float()
    max_points = fields.Float()
    weight = fields.Float()
    contribution = fields.Float()


class ProjectGroupScoreSchema(Schema):
    score = fields.Float(allow_none=True)
    evaluators = fields.Integer()
    criteria = fields.List(fields.Nested(RubricCriterionScoreSchema))


class ProjectIndividualScoreSchema(Schema):
    student_id = fields.Integer()
    name = fields.String()
    group_score = fields.Float(allow_none=True)
    contribution_factor = fields.Float(
        metadata={"description": "Peer-rated contribution, 1.0 = an equal share"}
    )
    peer_raters = fields.Integer()
    rated_peers = fields.Boolean()
    moderated_score = fields.Float(allow_none=True)
    penalty = fields.Float()
    score = fields.Float(allow_none=True)
    explanation = fields.String()


class LeftMemberSchema(Schema):
    student_id = fields.Integer()
    name = fields.String()


class ProjectGroupResultSchema(Schema):
    group_id = fields.Integer()
    name = fields.String()
    group_score = fields.Nested(ProjectGroupScoreSchema)
    members = fields.List(fields.Nested(ProjectIndividualScoreSchema))
    left_course = fields.List(
        fields.Nested(LeftMemberSchema),
        metadata={
            "description": "Members whose enrolment ended (teachers' view): left out of "
            "peer moderation and given no score while they are away"
        },
    )
    feedback = fields.List(
        fields.String(), metadata={"description": "The teachers' comments on the group's work"}
    )


class ProjectScoresSchema(Schema):
    project_id = fields.Integer()
    released = fields.Boolean()
    groups = fields.List(fields.Nested(ProjectGroupResultSchema))
    ungrouped_student_ids = fields.List(fields.Integer())


class ScoresQuerySchema(Schema):
    # As the mastery API's exports choose their format (json by default, or csv).
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv: the scores table as a download (teachers)"},
    )


class ReleasedProjectScoreSchema(Schema):
    student_id = fields.Integer()
    score = fields.Float()
    comment = fields.String()


# -- replies -------------------------------------------------------------------------


def _scores_reply(found: service.ProjectScores) -> dict:
    return {
        "project_id": found.project.id,
        "released": found.released,
        "ungrouped_student_ids": found.ungrouped_student_ids,
        "groups": [
            {
                "group_id": g.group_id,
                "name": g.name,
                "group_score": g.group_score,
                "feedback": g.feedback,
                "members": [
                    {**m.__dict__, "name": g.member_names.get(m.student_id, "")} for m in g.members
                ],
                "left_course": [
                    {"student_id": u, "name": g.member_names.get(u, "")} for u in g.left_ids
                ],
            }
            for g in found.groups
        ],
    }


# -- projects ------------------------------------------------------------------------


@blp.route("")
class Projects(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ProjectSchema(many=True))
    def get(self, course_id):
        """The course's projects, newest first (students: open and closed ones)."""
        return service.list_projects(current_actor(), course_id)

    @blp.doc(security=BEARER)
    @blp.arguments(ProjectInputSchema)
    @blp.response(201, ProjectSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Invalid rubric or settings")
    def post(self, payload, course_id):
        """Create a project (teachers); without a rubric it gets the default one."""
        return service.create_project(current_actor(), course_id, **payload)


@blp.route("/<int:project_id>")
class ProjectResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ProjectSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="No such project for you")
    def get(self, course_id, project_id):
        """One project."""
        return service.get_project(current_actor(), course_id, project_id)

    @blp.doc(security=BEARER)
    @blp.arguments(ProjectPatchSchema)
    @blp.response(200, ProjectSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="Rubric change after evaluations")
    @blp.alt_response(422, schema=ProblemSchema, description="Invalid rubric or settings")
    def patch(self, payload, course_id, project_id):
        """Change a project (teachers): open it to students, close it, edit its rubric
        while nobody has evaluated against it."""
        return service.update_project(current_actor(), course_id, project_id, payload)

    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self, course_id, project_id):
        """Delete a project with its groups, evaluations and evidence (teachers)."""
        service.delete_project(current_actor(), course_id, project_id)


# -- groups --------------------------------------------------------------------------


@blp.route("/<int:project_id>/groups")
class Groups(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ProjectGroupSchema(many=True))
    def get(self, course_id, project_id):
        """The project's groups (a student: their own)."""
        return service.list_groups(current_actor(), course_id, project_id)

    @blp.doc(security=BEARER)
    @blp.arguments(ProjectGroupInputSchema)
    @blp.response(201, ProjectGroupSchema)
    @blp.alt_response(
        409,
        schema=ProblemSchema,
        description="A student is in another group, or the project is closed (its groups "
        "keep their members)",
    )
    @blp.alt_response(422, schema=ProblemSchema, description="Not students of the course")
    def post(self, payload, course_id, project_id):
        """Create a group of students of the course (teachers)."""
        return service.create_group(current_actor(), course_id, project_id, **payload)


@blp.route("/<int:project_id>/groups/<int:group_id>")
class GroupResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ProjectGroupSchema)
    def get(self, course_id, project_id, group_id):
        """One group (a student: their own)."""
        return service.get_group(current_actor(), course_id, project_id, group_id)

    @blp.doc(security=BEARER)
    @blp.arguments(ProjectGroupPatchSchema)
    @blp.response(200, ProjectGroupSchema)
    @blp.alt_response(
        409,
        schema=ProblemSchema,
        description="A student is in another group, or the project is closed (its groups "
        "keep their members)",
    )
    def patch(self, payload, course_id, project_id, group_id):
        """Rename a group or set its members (teachers); a member who leaves takes the
        peer ratings they gave and received in it along."""
        return service.update_group(current_actor(), course_id, project_id, group_id, **payload)

    @blp.doc(security=BEARER)
    @blp.response(204)
    @blp.alt_response(
        409,
        schema=ProblemSchema,
        description="The project is closed and the group has members (their scores would "
        "go with it): reopen the project first",
    )
    def delete(self, course_id, project_id, group_id):
        """Delete a group with its evaluations, peer ratings and evidence (teachers).
        Not a closed project's group with members: reopen the project first."""
        service.delete_group(current_actor(), course_id, project_id, group_id)


@blp.route("/<int:project_id>/groups/<int:group_id>/join")
class GroupJoin(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ProjectGroupSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Teachers place students instead")
    @blp.alt_response(
        409,
        schema=ProblemSchema,
        description="The group is full, you are in another group, the teacher forms the "
        "groups, or the project is not open",
    )
    def post(self, course_id, project_id, group_id):
        """Join a group with room (students in no group, where the project lets them
        choose their group, while it is open)."""
        return service.join_group(current_actor(), course_id, project_id, group_id)


@blp.route("/<int:project_id>/groups/<int:group_id>/leave")
class GroupLeave(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(204)
    @blp.alt_response(403, schema=ProblemSchema, description="Teachers place students instead")
    @blp.alt_response(404, schema=ProblemSchema, description="You are not in this group")
    @blp.alt_response(
        409,
        schema=ProblemSchema,
        description="The teacher forms the groups, or the project is not open",
    )
    def post(self, course_id, project_id, group_id):
        """Leave your group (where the project lets students choose their group, while
        it is open); the peer ratings you gave and received in it go with you."""
        service.leave_group(current_actor(), course_id, project_id, group_id)


# -- evaluations ---------------------------------------------------------------------


@blp.route("/<int:project_id>/groups/<int:group_id>/evaluation")
class GroupEvaluationResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(RubricRatingsInputSchema)
    @blp.response(200, GroupEvaluationSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Ratings that miss the rubric")
    def put(self, payload, course_id, project_id, group_id):
        """Save your evaluation of the group's work against the rubric (teachers).

        Several teachers may each evaluate a group: its score is their average.
        """
        return service.evaluate_group(current_actor(), course_id, project_id, group_id, **payload)


@blp.route("/<int:project_id>/evaluations")
class GroupEvaluations(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, GroupEvaluationSchema(many=True))
    def get(self, course_id, project_id):
        """Every teacher evaluation of the project's groups (teachers)."""
        return service.group_evaluations(current_actor(), course_id, project_id)


@blp.route("/<int:project_id>/evaluations/<int:evaluation_id>")
class GroupEvaluationById(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self, course_id, project_id, evaluation_id):
        """Withdraw a teacher evaluation (teachers)."""
        service.delete_group_evaluation(current_actor(), course_id, project_id, evaluation_id)


@blp.route("/<int:project_id>/peer-ratings")
class PeerRatings(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, PeerRatingSchema(many=True))
    def get(self, course_id, project_id):
        """Peer ratings: a teacher sees all with who gave them; a student the ones they gave."""
        return service.peer_ratings(current_actor(), course_id, project_id)


@blp.route("/<int:project_id>/peer-ratings/<int:ratee_id>")
class PeerRatingResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(RubricRatingsInputSchema)
    @blp.response(200, PeerRatingSchema)
    @blp.alt_response(
        409,
        schema=ProblemSchema,
        description="The project is not open, or the teammate left the course",
    )
    @blp.alt_response(422, schema=ProblemSchema, description="Ratings that miss the rubric")
    def put(self, payload, course_id, project_id, ratee_id):
        """Rate a teammate's contribution against the rubric (students, while open).

        Teammates never see who rated them or how; the teacher does. A teammate who
        left the course is not rated (409).
        """
        return service.rate_peer(current_actor(), course_id, project_id, ratee_id, **payload)

    @blp.doc(security=BEARER)
    @blp.response(204)
    @blp.alt_response(403, schema=ProblemSchema, description="Not in a group of this project")
    @blp.alt_response(404, schema=ProblemSchema, description="You have not rated this teammate")
    @blp.alt_response(409, schema=ProblemSchema, description="The project is not open")
    def delete(self, course_id, project_id, ratee_id):
        """Withdraw your rating of a teammate (students, while open). Only the student
        who gave a rating withdraws it; teachers cannot."""
        service.withdraw_peer_rating(current_actor(), course_id, project_id, ratee_id)


# -- evidence ------------------------------------------------------------------------


@blp.route("/<int:project_id>/evidence")
class EvidenceList(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(ProjectEvidenceQuerySchema, location="query")
    @blp.response(200, ProjectEvidenceSchema(many=True))
    def get(self, query, course_id, project_id):
        """Evidence, newest first: a student's own group's; a teacher's all or one group's."""
        return service.list_evidence(current_actor(), course_id, project_id, query["group_id"])

    @blp.doc(security=BEARER)
    @blp.arguments(ProjectEvidenceInputSchema)
    @blp.response(201, ProjectEvidenceSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="The project is closed")
    @blp.alt_response(422, schema=ProblemSchema, description="Missing or invalid address or text")
    def post(self, payload, course_id, project_id):
        """Add a link or a note as evidence (students to their group while the project is
        open; teachers to any group). Files go to ``evidence/files``."""
        return service.add_evidence(current_actor(), course_id, project_id, **payload)


def _form_fields() -> dict:
    if request.mimetype != "multipart/form-data":
        # Read (and so size-check: 413 past MAX_CONTENT_LENGTH) before refusing the type.
        request.get_data()
        raise UnsupportedMediaType(
            "Upload the file as a form (Content-Type: multipart/form-data) "
            f"with fields file and title, not {request.mimetype or 'no Content-Type'}."
        )
    errors = [
        field_error(key, "Must not contain the NUL character or invalid Unicode.", "form")
        for key, value in request.form.items(multi=True)
        if unstorable_character(key) or unstorable_character(value)
    ]
    if errors:
        raise ValidationFailed("The form has values that cannot be stored.", errors=errors)
    values = request.form.to_dict()
    # A file sent as a text field is no file: the service says to attach it (the schema
    # would call the field unknown).
    values.pop("file", None)
    try:
        return ProjectEvidenceFormSchema().load(values)
    except ValidationError as error:
        raise ValidationFailed(
            "The form is not valid.", errors=flatten_messages(error.messages, "form")
        ) from None


@blp.route("/<int:project_id>/evidence/files")
class EvidenceFiles(MethodView):
    @blp.doc(
        security=BEARER,
        requestBody={
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "title"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "title": {"type": "string", "maxLength": 200},
                            "criterion_key": {"type": "string", "maxLength": 40},
                            "group_id": {"type": "integer", "description": "Teachers only"},
                        },
                    }
                }
            },
        },
    )
    @blp.response(201, ProjectEvidenceSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="A student in no group of it")
    @blp.alt_response(409, schema=ProblemSchema, description="The project is closed (students)")
    @blp.alt_response(
        413, schema=ProblemSchema, description="Larger than any request the server takes"
    )
    @blp.alt_response(415, schema=ProblemSchema, description="Not a multipart/form-data form")
    @blp.alt_response(422, schema=ProblemSchema, description="No file, empty, or too large")
    def post(self, course_id, project_id):
        """Upload a file as evidence (a form with ``file`` and ``title``)."""
        values = _form_fields()
        uploaded = request.files.get("file")
        upload = None
        if uploaded is not None:
            # One byte past the limit is enough to refuse without reading a huge file.
            content = uploaded.stream.read(service.max_file_bytes() + 1)
            upload = service.EvidenceUpload(
                uploaded.filename or "file", uploaded.mimetype or "", content
            )
        return service.add_evidence(
            current_actor(), course_id, project_id, kind="file", upload=upload, **values
        )


@blp.route("/<int:project_id>/evidence/<int:evidence_id>")
class EvidenceResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(204)
    @blp.alt_response(409, schema=ProblemSchema, description="The project is closed")
    def delete(self, course_id, project_id, evidence_id):
        """Remove evidence: whoever added it while the project is open, or a teacher."""
        service.delete_evidence(current_actor(), course_id, project_id, evidence_id)


@blp.route("/<int:project_id>/evidence/<int:evidence_id>/file")
class EvidenceFileResource(MethodView):
    @blp.doc(
        security=BEARER,
        responses={
            "200": {
                "description": "The file's bytes as an attachment, with the type it was "
                "uploaded with",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    @blp.response(200)
    @blp.alt_response(404, schema=ProblemSchema, description="No such file for you")
    def get(self, course_id, project_id, evidence_id):
        """Download a file evidence (its group and the course's teachers).

        Always as an attachment: a student's upload is never rendered as a page of
        this site.
        """
        row, content = service.evidence_file(current_actor(), course_id, project_id, evidence_id)
        response = send_file(
            BytesIO(content),
            mimetype=row.content_type or "application/octet-stream",
            as_attachment=True,
            download_name=row.filename or "evidence",
        )
        # send_file marks every stream no-cache, which would stand for the view's own
        # choice; the app's rule for credentialed answers (no-store) is the one meant.
        del response.headers["Cache-Control"]
        # A student's upload is stored data, never a page of this site (core.security_headers).
        response.headers["Content-Security-Policy"] = STORED_DATA_POLICY
        return response


# -- scores --------------------------------------------------------------------------


SCORE_SHEET_HELP = (
    "The scores as JSON; with format=csv (teachers): the scores table as a UTF-8 CSV "
    "download (with a byte order mark, for Excel), a row per student: group, student, "
    "student_id, left_course, group_score, score, contribution_factor, released (yes/no), "
    "explanation"
)


@blp.route("/<int:project_id>/scores")
class Scores(MethodView):
    @blp.doc(
        security=BEARER,
        responses={
            # Both bodies: naming one media type here would hide the schema's.
            "200": {
                "description": SCORE_SHEET_HELP,
                "content": {
                    "application/json": {"schema": ProjectScoresSchema},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
        },
    )
    @blp.arguments(ScoresQuerySchema, location="query")
    @blp.response(200, ProjectScoresSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="A student asking for the CSV")
    def get(self, query, course_id, project_id):
        """Group and individual scores with their explanations: every group for a
        teacher; for a student their own, once the teacher has released them. Teachers
        download the table as CSV with ``?format=csv``."""
        actor = current_actor()
        if query["format"] == "csv":
            sheet = service.scores_sheet(actor, course_id, project_id)
            return Response(
                sheet.text,
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{sheet.filename}"'},
            )
        return _scores_reply(service.project_scores(actor, course_id, project_id))


@blp.route("/<int:project_id>/scores/release")
class ReleaseScores(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ReleasedProjectScoreSchema(many=True))
    @blp.alt_response(409, schema=ProblemSchema, description="The project is still open")
    def post(self, course_id, project_id):
        """Release a closed project's individual scores to its students and to the LMS
        gradebook of every placement of the project (teachers). Again later: resent."""
        return service.release_scores(current_actor(), course_id, project_id)
