"""Courses API: create, list, read, update; members; join by code."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, Page
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from masteryai_lti.core.policy import current_actor, require_roles
from masteryai_lti.core.schemas import EmailAddress, ProblemSchema, not_blank
from masteryai_lti.courses import service
from masteryai_lti.extensions import db, limiter

blp = Blueprint(
    "courses",
    __name__,
    url_prefix="/api/v1/courses",
    description="Courses of your institution and their members.",
)
BEARER = [{"bearerAuth": []}]


class CourseSchema(Schema):
    id = fields.Integer(dump_only=True)
    institution_id = fields.Integer(dump_only=True)
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    join_code = fields.String(dump_only=True)
    lti_context_id = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class CourseUpdateSchema(Schema):
    title = fields.String(validate=[validate.Length(min=1, max=200), not_blank])
    code = fields.String(allow_none=True, validate=validate.Length(max=64))
    description = fields.String(validate=validate.Length(max=5000))


class EnrollSchema(Schema):
    user_id = fields.Integer(load_default=None)
    email = EmailAddress(load_default=None)
    role = fields.String(load_default="student", validate=validate.OneOf(["teacher", "student"]))

    @validates_schema
    def one_target(self, data, **kwargs):
        if (data.get("user_id") is None) == (data.get("email") is None):
            raise SchemaError("Give exactly one of user_id or email.", field_name="user_id")


class MemberSchema(Schema):
    user_id = fields.Integer()
    full_name = fields.String()
    email = fields.String(allow_none=True)
    role = fields.String()
    source = fields.String()
    test_user = fields.Boolean(
        metadata={"description": "The LMS's test student (a teacher's student preview)"}
    )
    enrolled_at = fields.DateTime()


class JoinSchema(Schema):
    join_code = fields.String(required=True, validate=validate.Length(min=4, max=16))


class EnrollmentSchema(Schema):
    course_id = fields.Integer()
    user_id = fields.Integer()
    role = fields.String()
    status = fields.String()


class _SelectPage(Page):
    """flask-smorest pagination over a SQLAlchemy select, counted in the database."""

    @property
    def item_count(self):
        from sqlalchemy import func, select

        return db.session.scalar(select(func.count()).select_from(self.collection.subquery()))

    @property
    def items(self):
        # A page past the end is empty; asking the database for it could overflow
        # its OFFSET (a 64-bit integer) with a page number big enough.
        if self.page_params.first_item >= self.page_params.item_count:
            return []
        query = self.collection.offset(self.page_params.first_item).limit(
            self.page_params.page_size
        )
        return list(db.session.scalars(query))


@blp.route("")
class Courses(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, CourseSchema(many=True))
    @blp.paginate(_SelectPage, page_size=50, max_page_size=200)
    def get(self):
        """Courses you can see (admins: the whole institution). Paged; see X-Pagination."""
        return service.visible_courses_query(current_actor())

    @blp.doc(security=BEARER)
    @require_roles("teacher", "admin")
    @blp.arguments(CourseSchema)
    @blp.response(201, CourseSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Teachers and admins only")
    def post(self, payload):
        """Create a course in your institution; you become its teacher."""
        return service.create_course(current_actor(), **payload)


@blp.route("/<int:course_id>")
class CourseResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, CourseSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="No such course for you")
    def get(self, course_id):
        """One course you can see."""
        return service.course_for_actor(current_actor(), course_id)

    @blp.doc(security=BEARER)
    @blp.arguments(CourseUpdateSchema)
    @blp.response(200, CourseSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Not a teacher of the course")
    @blp.alt_response(404, schema=ProblemSchema, description="No such course for you")
    def patch(self, payload, course_id):
        """Change title, code or description (course teachers and admins)."""
        return service.update_course(current_actor(), course_id, payload)


@blp.route("/<int:course_id>/members")
class Members(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, MemberSchema(many=True))
    @blp.alt_response(403, schema=ProblemSchema, description="Not a teacher of the course")
    def get(self, course_id):
        """Active members of the course (teachers and admins)."""
        return [
            {
                "user_id": user.id,
                "full_name": user.full_name,
                "email": user.email,
                "role": enrollment.role,
                "source": enrollment.source,
                "test_user": enrollment.test_user,
                "enrolled_at": enrollment.created_at,
            }
            for enrollment, user in service.members(current_actor(), course_id)
        ]

    @blp.doc(security=BEARER)
    @blp.arguments(EnrollSchema)
    @blp.response(201, EnrollmentSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Not a teacher of the course")
    @blp.alt_response(404, schema=ProblemSchema, description="No such course or user")
    def post(self, payload, course_id):
        """Enroll a user of your institution.

        Accounts of no institution (self-registered students) join with the course's
        join code; any other account is 404 here, as anything outside your institution.
        """
        return service.add_member(current_actor(), course_id, **payload)


@blp.route("/<int:course_id>/members/<int:user_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@blp.response(204)
@blp.alt_response(404, schema=ProblemSchema, description="Not a member")
def unenroll(course_id, user_id):
    """Unenroll a member; their history stays."""
    service.remove_member(current_actor(), course_id, user_id)


@blp.route("/join", methods=["POST"])
# A join code is 8 characters of 31 (about 40 bits): guessing one is hopeless only while
# guesses are few, so they are throttled per client address.
@limiter.limit(lambda: current_app.config["JOIN_RATE_LIMIT_PER_IP"])
@blp.doc(security=BEARER)
@blp.arguments(JoinSchema)
@blp.response(201, EnrollmentSchema)
@blp.alt_response(422, schema=ProblemSchema, description="Unknown join code")
@blp.alt_response(429, schema=ProblemSchema, description="Too many attempts; see Retry-After")
def join(payload):
    """Join a course with the code your teacher gave you."""
    return service.join_course(current_actor(), payload["join_code"])
