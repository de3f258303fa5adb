"""Engagement API: class table, a student's breakdown and history, at-risk list,
attendance (JSON and CSV), graded items with due dates and per-course weights."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from masteryai_lti.core.policy import current_actor
from masteryai_lti.core.schemas import ProblemSchema
from masteryai_lti.engagement import attendance, graded_items, service
from masteryai_lti.engagement.engine import FACTORS
from masteryai_lti.engagement.models import ATTENDANCE_STATUSES, GRADED_KINDS

blp = Blueprint(
    "engagement",
    __name__,
    url_prefix="/api/v1/courses",
    description="Engagement Index, at-risk flags, attendance and weights per course.",
)
BEARER = [{"bearerAuth": []}]


class TableQuerySchema(Schema):
    sort = fields.String(
        load_default="score",
        validate=validate.OneOf([s for k in sorted(service.SORT_KEYS) for s in (k, f"-{k}")]),
        metadata={
            "description": "score, risk, name, student_id or days_since_active; '-' = descending"
        },
    )
    band = fields.String(load_default=None, validate=validate.OneOf(["high", "medium", "low"]))
    at_risk = fields.Boolean(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class TableRowSchema(Schema):
    student_id = fields.Integer()
    full_name = fields.String(metadata={"description": "as the LMS or the account gives it"})
    score = fields.Float()
    band = fields.String()
    trend = fields.String()
    risk = fields.Float()
    flagged = fields.Boolean()
    no_activity = fields.Boolean()
    days_since_active = fields.Integer(allow_none=True)


class TableSchema(Schema):
    course_id = fields.Integer()
    as_of = fields.String()
    time_zone = fields.String(
        metadata={"description": "IANA zone the days are counted in (the institution's)."}
    )
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    medians = fields.Dict(keys=fields.String(), values=fields.Float())
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    items = fields.List(fields.Nested(TableRowSchema))


class FactorSchema(Schema):
    factor = fields.String()
    raw = fields.Float()
    course_median = fields.Float()
    normalised = fields.Float()
    weight = fields.Float()
    contribution = fields.Float()
    reason = fields.String()


class ReasonSchema(Schema):
    factor = fields.String()
    text = fields.String()
    actionable = fields.Boolean()
    impact = fields.Float()


class MissingWorkSchema(Schema):
    object_id = fields.String()
    kind = fields.String()
    title = fields.String()
    due_date = fields.String()
    due_at = fields.String(
        allow_none=True,
        metadata={"description": "The due instant (ISO 8601), to show in the reader's time zone"},
    )


class BreakdownSchema(TableRowSchema):
    trend_slope = fields.Float()
    weekly_active_days = fields.List(fields.Integer())
    factors = fields.List(fields.Nested(FactorSchema))
    reasons = fields.List(fields.Nested(ReasonSchema))
    missing_work = fields.List(
        fields.Nested(MissingWorkSchema),
        metadata={"description": "items due in the period not handed in, soonest first"},
    )


class AtRiskSchema(TableRowSchema):
    flagged_since = fields.String(
        metadata={"description": "ISO date the flag went up; it carries over while it stays up"}
    )
    reasons = fields.List(fields.Nested(ReasonSchema))


class HistorySchema(Schema):
    date = fields.String()
    score = fields.Float()
    band = fields.String()
    risk = fields.Float()
    flagged = fields.Boolean()


class MarkSchema(Schema):
    user_id = fields.Integer(load_default=None, metadata={"description": "or give email"})
    email = fields.Email(load_default=None, metadata={"description": "as the LMS knows it"})
    date = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE_STATUSES))

    @validates_schema
    def names_one_student(self, data, **kwargs):
        if (data.get("user_id") is None) == (data.get("email") is None):
            raise ValidationError("give the student's user_id or email, not both", "user_id")


class AttendanceSchema(Schema):
    marks = fields.List(fields.Nested(MarkSchema), required=True, validate=validate.Length(min=1))


class GradedItemSchema(Schema):
    id = fields.Integer(dump_only=True)
    object_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=512),
        metadata={"description": "what events name: an xAPI activity IRI or an LTI resource link"},
    )
    kind = fields.String(required=True, validate=validate.OneOf(GRADED_KINDS))
    due_at = fields.DateTime(required=True, metadata={"description": "ISO 8601; no zone = UTC"})
    title = fields.String(load_default="", validate=validate.Length(max=255))
    source = fields.String(dump_only=True, metadata={"description": "teacher or lti"})


class GradedItemsSchema(Schema):
    items = fields.List(
        fields.Nested(GradedItemSchema), required=True, validate=validate.Length(min=1, max=500)
    )


class StoredSchema(Schema):
    stored = fields.Integer(metadata={"description": "marks the request gave"})
    changed = fields.Integer(metadata={"description": "of them, new or unlike the stored"})


class SettingsSchema(Schema):
    weights = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={"description": f"integer weights for {', '.join(FACTORS)} summing to 100"},
    )
    flag_at = fields.Float(load_default=None, validate=validate.Range(min=0, max=1))
    clear_below = fields.Float(load_default=None, validate=validate.Range(min=0, max=1))
    outcome_rate = fields.Float(
        allow_none=True,
        metadata={
            "description": "share of the course's students who usually fail or withdraw; "
            "the risk probabilities are calibrated to it. null: the model's own "
            "(model_outcome_rate); absent: unchanged"
        },
    )
    model_outcome_rate = fields.Float(
        dump_only=True,
        metadata={"description": "the share in the data the risk model was fitted on"},
    )


@blp.route("/<int:course_id>/engagement")
class ClassTable(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(TableQuerySchema, location="query")
    @blp.response(200, TableSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Teachers and admins only")
    @blp.alt_response(404, schema=ProblemSchema, description="No such course for you")
    def get(self, args, course_id):
        """The class engagement table, sortable and filterable by band and at-risk."""
        return service.class_table(current_actor(), course_id, **args)


@blp.route("/<int:course_id>/engagement/students/<int:student_id>")
class StudentBreakdown(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, BreakdownSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Students see only themselves")
    @blp.alt_response(404, schema=ProblemSchema, description="No such course or student")
    def get(self, course_id, student_id):
        """One student's index with its per-factor breakdown and at-risk reasons."""
        return service.student_breakdown(current_actor(), course_id, student_id)


@blp.route("/<int:course_id>/engagement/students/<int:student_id>/history")
class StudentHistory(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, HistorySchema(many=True))
    @blp.alt_response(403, schema=ProblemSchema, description="Students see only themselves")
    def get(self, course_id, student_id):
        """Daily snapshots of the student's index and risk."""
        return service.student_history(current_actor(), course_id, student_id)


@blp.route("/<int:course_id>/engagement/at-risk")
class AtRisk(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, AtRiskSchema(many=True))
    @blp.alt_response(403, schema=ProblemSchema, description="Teachers and admins only")
    def get(self, course_id):
        """Flagged students, most at risk first, each with 1-3 reasons."""
        return service.at_risk_list(current_actor(), course_id)


@blp.route("/<int:course_id>/engagement/weights")
class Weights(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, SettingsSchema)
    def get(self, course_id):
        """The course's factor weights, at-risk thresholds and outcome rate."""
        return service.get_settings(current_actor(), course_id)

    @blp.doc(security=BEARER)
    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Weights invalid")
    def put(self, payload, course_id):
        """Replace the weights (six integers summing to 100), optionally thresholds and the
        outcome rate; 422 lists every invalid value and changes nothing."""
        return service.put_settings(current_actor(), course_id, **payload)


@blp.route("/<int:course_id>/engagement/graded-items")
class GradedItems(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, GradedItemSchema(many=True))
    def get(self, course_id):
        """The course's assignments and graded quizzes with their due dates."""
        return graded_items.list_graded_items(current_actor(), course_id)

    @blp.doc(security=BEARER)
    @blp.arguments(GradedItemsSchema)
    @blp.response(200, GradedItemSchema(many=True))
    @blp.alt_response(422, schema=ProblemSchema, description="Invalid or repeated items")
    def post(self, payload, course_id):
        """Declare graded items (or change their due dates); events about them become
        graded work, those already stored included."""
        return graded_items.declare_graded_items(current_actor(), course_id, payload["items"])


@blp.route("/<int:course_id>/engagement/graded-items/<int:item_id>")
class GradedItemById(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self, course_id, item_id):
        """Forget a graded item; its events stay, as ungraded activity."""
        graded_items.remove_graded_item(current_actor(), course_id, item_id)


@blp.route("/<int:course_id>/attendance")
class Attendance(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(AttendanceSchema)
    @blp.response(201, StoredSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Unknown students")
    def post(self, payload, course_id):
        """Record attendance marks (present, late, absent, excused) for session dates."""
        return attendance.record_attendance(current_actor(), course_id, payload["marks"])


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODS = "application/vnd.oasis.opendocument.spreadsheet"


@blp.route("/<int:course_id>/attendance/import")
class AttendanceImport(MethodView):
    @blp.doc(
        security=BEARER,
        parameters=[
            {
                "name": "statuses",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "example": "P:present,R:late,J:excused,F:absent"},
                "description": (
                    "What the sheet's status letters mean, when not Moodle's English "
                    "defaults (P, L, E, A): Moodle names them in the site's language"
                ),
            }
        ],
        requestBody={
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
                ODS: {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
            "description": (
                "A sheet, CSV (comma, semicolon or tab), .xlsx or .ods: columns user_id or email, "
                "date (YYYY-MM-DD) and status (present, late, absent, excused or P, L, A, "
                "E); or Moodle Attendance's export as downloaded, a row per student named "
                "by Email address or Student ID and a column per session"
            ),
        },
    )
    @blp.response(201, StoredSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Invalid rows, listed by line")
    def post(self, course_id):
        """Import attendance from a CSV, .xlsx or .ods body (or a form field named ``file``)."""
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else request.get_data()
        return attendance.import_attendance(
            current_actor(), course_id, raw, request.args.get("statuses")
        )
