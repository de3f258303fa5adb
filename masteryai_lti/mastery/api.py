"""Mastery REST API: concept graph, item bank, attempts, mastery, assignments.

Every route is under ``/api/v1/courses/<course_id>/...`` (plus the institution's
list of reusable concept graphs). Views parse, call one service function and
shape the result; tenant and role checks live in the service.
"""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from masteryai_lti.core.policy import current_actor
from masteryai_lti.core.schemas import ProblemSchema
from masteryai_lti.mastery import service
from masteryai_lti.mastery.models import DIFFICULTY_LABELS, EXPLANATION_MAX_LENGTH, ITEM_KINDS

blp = Blueprint(
    "mastery",
    __name__,
    url_prefix="/api/v1",
    description="Concept graphs, item bank, attempts, mastery and adaptive assignments.",
)
BEARER = [{"bearerAuth": []}]
FORMATS = validate.OneOf(["json", "csv"])


# -- schemas -------------------------------------------------------------------------


class ConceptMapSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    created_at = fields.DateTime()


class UseConceptMapSchema(Schema):
    concept_map_id = fields.Integer(required=True)


class CopyConceptMapSchema(Schema):
    name = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Name of the copy (default: the shared graph's)"},
    )


class ConceptMapCopySchema(Schema):
    concept_map = fields.Nested(ConceptMapSchema)
    copied_from_id = fields.Integer(metadata={"description": "The shared graph copied"})
    concepts = fields.Integer()
    prerequisites = fields.Integer()
    items_copied = fields.Integer()
    items_withheld = fields.Integer(
        metadata={
            "description": "Items of the shared bank not copied: you may not read its "
            "answers (only its owning course's teachers and admins may)"
        }
    )
    activity_mappings = fields.Integer()
    students = fields.Integer(metadata={"description": "Students whose mastery carried over"})


class GraphConceptSchema(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    prerequisites = fields.List(fields.String())


class GraphSchema(Schema):
    concept_map_id = fields.Integer()
    shared = fields.Boolean(
        metadata={"description": "The graph belongs to another course (reused, not copied)"}
    )
    editable = fields.Boolean(metadata={"description": "You may change it and read its item bank"})
    concepts = fields.List(fields.Nested(GraphConceptSchema))


class GraphImportSchema(Schema):
    format = fields.String(load_default="json", validate=FORMATS)
    document = fields.Dict(
        load_default=None, metadata={"description": "JSON graph: {concepts: [...]}"}
    )
    content = fields.String(load_default=None, metadata={"description": "CSV (or JSON) text"})
    replace = fields.Boolean(
        load_default=False, metadata={"description": "Delete concepts missing from the import"}
    )


class ExportQuerySchema(Schema):
    format = fields.String(load_default="json", validate=FORMATS)


class ConceptUpsertSchema(Schema):
    name = fields.String(load_default=None, validate=validate.Length(max=200))
    description = fields.String(load_default=None, validate=validate.Length(max=5000))
    prerequisites = fields.List(fields.String(), load_default=None)


class ConceptSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()
    description = fields.String()


class PrerequisitesSchema(Schema):
    prerequisites = fields.List(fields.String(), required=True)


class ChoiceSchema(Schema):
    id = fields.String(required=True)
    text = fields.String(required=True)


class ItemInputSchema(Schema):
    key = fields.String(validate=validate.Length(min=1, max=120))
    kind = fields.String(validate=validate.OneOf(ITEM_KINDS))
    prompt = fields.String(validate=validate.Length(max=20000))
    concepts = fields.List(fields.String())
    difficulty_label = fields.String(validate=validate.OneOf(DIFFICULTY_LABELS))
    choices = fields.List(fields.Nested(ChoiceSchema), allow_none=True)
    answer = fields.Dict(
        metadata={
            "description": '{"correct": ["b"]} | {"value": 2.5, "tolerance": 0.01} | '
            '{"accepted": ["..."], "case_sensitive": false}'
        }
    )
    explanation = fields.String(
        allow_none=True,
        validate=validate.Length(max=EXPLANATION_MAX_LENGTH),
        metadata={"description": "Shown to the student after they answer, right or wrong"},
    )


class ItemPatchSchema(ItemInputSchema):
    """Any subset of an item's fields (none is required on input)."""


class ItemSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    kind = fields.String()
    prompt = fields.String()
    concepts = fields.List(fields.String(), attribute="concept_keys")
    difficulty_label = fields.String()
    difficulty = fields.Float(metadata={"description": "Learned from responses (logit)"})
    response_count = fields.Integer()
    correct_count = fields.Integer()
    choices = fields.List(fields.Dict(), allow_none=True)
    answer = fields.Dict()
    explanation = fields.String(allow_none=True)


class ItemQuerySchema(Schema):
    concept = fields.String(load_default=None)


class ItemImportSchema(Schema):
    format = fields.String(load_default="json", validate=FORMATS)
    document = fields.Dict(load_default=None, metadata={"description": "{items: [...]}"})
    content = fields.String(load_default=None)


class ImportCountSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()


class ActivityMappingInputSchema(Schema):
    activity_id = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    concept_keys = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    difficulty_label = fields.String(
        load_default="medium", validate=validate.OneOf(DIFFICULTY_LABELS)
    )


class ActivityMappingSchema(Schema):
    id = fields.Integer()
    activity_id = fields.String()
    concept_keys = fields.List(fields.String())
    difficulty_label = fields.String()
    difficulty = fields.Float()
    response_count = fields.Integer()


class SubmissionInputSchema(Schema):
    item_id = fields.Integer(required=True)
    response = fields.Raw(
        required=True,
        metadata={"description": '{"choice": "b"} | {"value": 2.5} | {"text": "..."}'},
    )
    attempt_key = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Client-made id; a retried submission counts once"},
    )
    duration_s = fields.Float(load_default=None, validate=validate.Range(min=0))


class MasteryCellSchema(Schema):
    concept_key = fields.String()
    name = fields.String()
    mastery = fields.Float()
    uncertainty = fields.Float()
    mastered = fields.Boolean()
    attempts = fields.Integer()
    correct = fields.Integer()
    last_practiced = fields.String(allow_none=True)


class SubmissionSchema(Schema):
    attempt_id = fields.Integer()
    correct = fields.Boolean()
    score = fields.Float()
    duplicate = fields.Boolean()
    explanation = fields.String(
        allow_none=True, metadata={"description": "The teacher's explanation of the item"}
    )
    mastery = fields.List(fields.Nested(MasteryCellSchema))


class AttemptImportSchema(Schema):
    content = fields.String(
        required=True,
        metadata={
            "description": "CSV: student,item|activity_id,correct|score,timestamp"
            "[,duration][,source_id]"
        },
    )


class AttemptImportResultSchema(Schema):
    created = fields.Integer()
    duplicates = fields.Integer()
    unmapped = fields.Integer()


class StudentMasterySchema(Schema):
    student_id = fields.Integer()
    threshold = fields.Float()
    concepts = fields.List(fields.Nested(MasteryCellSchema))


class EvidenceSchema(Schema):
    occurred_at = fields.DateTime()
    item_id = fields.Integer(allow_none=True)
    correct = fields.Boolean()
    mastery_after = fields.Float()


class WeakConceptSchema(Schema):
    concept_key = fields.String()
    name = fields.String()
    mastery = fields.Float()
    reasons = fields.List(fields.String())
    explanation = fields.String()
    drop = fields.Float()
    blocked_dependants = fields.List(fields.String())
    evidence = fields.List(fields.Nested(EvidenceSchema))


class HeatmapSchema(Schema):
    threshold = fields.Float()
    as_of = fields.DateTime()
    concepts = fields.List(fields.Dict())
    students = fields.List(fields.Dict())


class GenerateSchema(Schema):
    length = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))
    pinned = fields.List(fields.String(), load_default=list)
    excluded = fields.List(fields.String(), load_default=list)
    student_ids = fields.List(fields.Integer(), load_default=None)
    title = fields.String(load_default=None, validate=validate.Length(max=200))


class AssignmentSchema(Schema):
    id = fields.Integer()
    course_id = fields.Integer()
    user_id = fields.Integer()
    title = fields.String()
    status = fields.String()
    settings = fields.Dict()
    created_at = fields.DateTime()


class AssignmentItemSchema(Schema):
    position = fields.Integer()
    item_id = fields.Integer(allow_none=True)
    item_key = fields.String(allow_none=True)
    kind_of_item = fields.String(allow_none=True)
    prompt = fields.String(allow_none=True)
    choices = fields.List(fields.Dict(), allow_none=True)
    concept_key = fields.String(allow_none=True)
    pick = fields.String(metadata={"description": "practice, review or pinned"})
    difficulty_label = fields.String()
    predicted_success = fields.Float()
    reason = fields.String()
    answered = fields.Boolean()


class AssignmentDetailSchema(AssignmentSchema):
    items = fields.List(fields.Nested(AssignmentItemSchema))


class AssignmentQuerySchema(Schema):
    student_id = fields.Integer(load_default=None)


class RecommendationsSchema(Schema):
    student_id = fields.Integer()
    as_of = fields.DateTime()
    concepts = fields.List(fields.Dict())
    held_back = fields.List(fields.Dict())
    items = fields.List(fields.Dict())


# -- concept graphs -------------------------------------------------------------------


def _graph_reply(found) -> dict:
    return {
        "concept_map_id": found.concept_map.id,
        "shared": found.shared,
        "editable": found.editable,
        **found.graph.to_dict(),
    }


def _text(body: str, fmt: str) -> Response:
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    return Response(body, mimetype=mimetype)


@blp.route("/concept-graphs")
class ConceptMaps(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ConceptMapSchema(many=True))
    def get(self):
        """Concept graphs of your institution, to reuse in another course (teachers)."""
        return service.list_concept_maps(current_actor())


@blp.route("/courses/<int:course_id>/concept-graph")
class CourseGraph(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.response(200, GraphSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="No course or graph for you")
    def get(self, query, course_id):
        """The course's concept graph (JSON, or CSV with ``?format=csv``); any member."""
        actor = current_actor()
        if query["format"] == "csv":
            return _text(service.export_graph(actor, course_id, "csv"), "csv")
        return _graph_reply(service.get_graph(actor, course_id))

    @blp.doc(security=BEARER)
    @blp.arguments(GraphImportSchema)
    @blp.response(200, GraphSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Invalid graph or a cycle (named)")
    def put(self, payload, course_id):
        """Import concepts and prerequisites (JSON document or CSV text); teachers."""
        actor = current_actor()
        fmt = payload["format"]
        body = payload["document"] if payload["document"] is not None else payload["content"]
        if body is None:
            body = ""
        service.import_graph(actor, course_id, body, fmt, payload["replace"])
        return _graph_reply(service.get_graph(actor, course_id))


@blp.route("/courses/<int:course_id>/concept-graph/use")
class UseGraph(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(UseConceptMapSchema)
    @blp.response(200, ConceptMapSchema)
    def post(self, payload, course_id):
        """Make the course use an existing concept graph of the institution; teachers."""
        return service.use_concept_map(current_actor(), course_id, payload["concept_map_id"])


@blp.route("/courses/<int:course_id>/concept-graph/copy")
class CopyGraph(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(CopyConceptMapSchema)
    @blp.response(201, ConceptMapCopySchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Not a teacher of the course")
    @blp.alt_response(404, schema=ProblemSchema, description="No course or graph for you")
    @blp.alt_response(409, schema=ProblemSchema, description="The graph is already the course's")
    def post(self, payload, course_id):
        """Make the shared concept graph the course uses its own, editable copy; teachers.

        Concepts, prerequisites and activity mappings are copied, and every student's
        mastery carries over. The items (they hold the answers) are copied only for the
        shared graph's managers (its owning course's teachers, admins); otherwise the copy
        starts with an empty bank. Assignments already generated keep working.
        """
        return service.copy_concept_map(current_actor(), course_id, payload["name"])


@blp.route("/courses/<int:course_id>/concepts/<key>")
class ConceptResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(ConceptUpsertSchema)
    @blp.response(200, ConceptSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Invalid key or a cycle (named)")
    @blp.alt_response(412, schema=ProblemSchema, description="If-None-Match: * and the key exists")
    def put(self, payload, course_id, key):
        """Create or update a concept; ``prerequisites`` replaces its edges; teachers.

        Send ``If-None-Match: *`` to create only: an existing key is then a 412, not
        overwritten.
        """
        create_only = request.headers.get("If-None-Match", "").strip() == "*"
        return service.upsert_concept(
            current_actor(), course_id, key, create_only=create_only, **payload
        )

    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self, course_id, key):
        """Delete a concept and its edges; teachers."""
        service.delete_concept(current_actor(), course_id, key)


@blp.route("/courses/<int:course_id>/concepts/<key>/prerequisites")
class ConceptPrerequisites(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(PrerequisitesSchema)
    @blp.response(200, ConceptSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Unknown concept or a cycle (named)")
    def put(self, payload, course_id, key):
        """Replace a concept's prerequisites; a cycle is refused with the cycle named."""
        return service.upsert_concept(
            current_actor(), course_id, key, prerequisites=payload["prerequisites"]
        )


# -- items -----------------------------------------------------------------------------


@blp.route("/courses/<int:course_id>/items")
class Items(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(ItemQuerySchema, location="query")
    @blp.response(200, ItemSchema(many=True))
    def get(self, query, course_id):
        """The course's item bank, answers included; teachers."""
        return service.list_items(current_actor(), course_id, query["concept"])

    @blp.doc(security=BEARER)
    @blp.arguments(ItemInputSchema)
    @blp.response(201, ItemSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Invalid item")
    def post(self, payload, course_id):
        """Add an item (multiple choice, numeric or short text) tagged with concepts."""
        return service.create_item(current_actor(), course_id, payload)


@blp.route("/courses/<int:course_id>/items/export")
class ItemsExport(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.response(200)
    def get(self, query, course_id):
        """The item bank as JSON or CSV; teachers."""
        fmt = query["format"]
        return _text(service.export_items(current_actor(), course_id, fmt), fmt)


@blp.route("/courses/<int:course_id>/items/import")
class ItemsImport(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(ItemImportSchema)
    @blp.response(200, ImportCountSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Every invalid field, with paths")
    def post(self, payload, course_id):
        """Create or update items by key from JSON or CSV; all or nothing; teachers."""
        body = payload["document"] if payload["document"] is not None else payload["content"]
        return service.import_items(current_actor(), course_id, body or "", payload["format"])


@blp.route("/courses/<int:course_id>/items/<int:item_id>")
class ItemResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ItemSchema)
    def get(self, course_id, item_id):
        """One item; teachers."""
        return service.get_item(current_actor(), course_id, item_id)

    @blp.doc(security=BEARER)
    @blp.arguments(ItemPatchSchema)
    @blp.response(200, ItemSchema)
    def patch(self, payload, course_id, item_id):
        """Change an item; teachers."""
        return service.update_item(current_actor(), course_id, item_id, payload)

    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self, course_id, item_id):
        """Remove an item; teachers."""
        service.delete_item(current_actor(), course_id, item_id)


# -- activity mappings ---------------------------------------------------------------


@blp.route("/courses/<int:course_id>/activity-mappings")
class ActivityMappings(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, ActivityMappingSchema(many=True))
    def get(self, course_id):
        """Outside xAPI activities counted as practice of concepts; teachers."""
        return service.list_activity_mappings(current_actor(), course_id)

    @blp.doc(security=BEARER)
    @blp.arguments(ActivityMappingInputSchema)
    @blp.response(201, ActivityMappingSchema)
    def post(self, payload, course_id):
        """Map an xAPI activity id (H5P, SCORM...) to concepts and a difficulty; teachers."""
        return service.create_activity_mapping(current_actor(), course_id, **payload)


@blp.route("/courses/<int:course_id>/activity-mappings/<int:mapping_id>")
class ActivityMappingResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(204)
    def delete(self, course_id, mapping_id):
        """Stop counting an outside activity; teachers."""
        service.delete_activity_mapping(current_actor(), course_id, mapping_id)


# -- attempts --------------------------------------------------------------------------


@blp.route("/courses/<int:course_id>/attempts")
class Attempts(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(SubmissionInputSchema)
    @blp.response(201, SubmissionSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="Only the course's students")
    def post(self, payload, course_id):
        """Answer an item (students): graded on the server, mastery updated at once.

        Send the same ``attempt_key`` when retrying: the attempt counts once.
        """
        result = service.submit_answer(
            current_actor(),
            course_id,
            payload["item_id"],
            payload["response"],
            attempt_key=payload["attempt_key"],
            duration_s=payload["duration_s"],
        )
        return {
            "attempt_id": result.attempt.id,
            "correct": result.correct,
            "score": result.score,
            "duplicate": result.duplicate,
            "explanation": result.explanation,
            "mastery": result.mastery,
        }


@blp.route("/courses/<int:course_id>/attempts/import")
class AttemptsImport(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(AttemptImportSchema)
    @blp.response(200, AttemptImportResultSchema)
    @blp.alt_response(422, schema=ProblemSchema, description="Rows with problems, by line")
    def post(self, payload, course_id):
        """Bulk-import historical attempts from CSV (teachers); idempotent per row."""
        return service.import_attempts(current_actor(), course_id, payload["content"])


# -- mastery ---------------------------------------------------------------------------


def _mastery(course_id: int, student_id: int) -> dict:
    from flask import current_app

    views = service.student_mastery(current_actor(), course_id, student_id)
    return {
        "student_id": student_id,
        "threshold": float(current_app.config.get("MASTERY_THRESHOLD", 70)),
        "concepts": [v.as_dict() for v in views],
    }


@blp.route("/courses/<int:course_id>/mastery/me")
class MyMastery(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, StudentMasterySchema)
    def get(self, course_id):
        """Your mastery of each concept of the course, decay applied to now."""
        return _mastery(course_id, current_actor().user_id)


@blp.route("/courses/<int:course_id>/mastery/students/<int:student_id>")
class StudentMastery(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, StudentMasterySchema)
    def get(self, course_id, student_id):
        """A student's mastery per concept (that student, the course's teachers, admins)."""
        return _mastery(course_id, student_id)


@blp.route("/courses/<int:course_id>/mastery/students/<int:student_id>/weak-concepts")
class WeakConcepts(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, WeakConceptSchema(many=True))
    def get(self, course_id, student_id):
        """Weak concepts (below threshold, falling, blocking) with the recent attempts."""
        return service.weak_concepts(current_actor(), course_id, student_id)


@blp.route("/courses/<int:course_id>/mastery/heatmap")
class Heatmap(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, HeatmapSchema)
    def get(self, course_id):
        """Students x concepts mastery matrix of the class; teachers and admins."""
        return service.class_heatmap(current_actor(), course_id)


# -- recommendations and assignments ---------------------------------------------------


@blp.route("/courses/<int:course_id>/recommendations/students/<int:student_id>")
class Recommendations(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, RecommendationsSchema)
    def get(self, course_id, student_id):
        """What the student should practise next, with a reason for each concept and item."""
        return service.recommendations(current_actor(), course_id, student_id)


@blp.route("/courses/<int:course_id>/recommendations/me")
class MyRecommendations(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, RecommendationsSchema)
    def get(self, course_id):
        """What you should practise next, and why."""
        actor = current_actor()
        return service.recommendations(actor, course_id, actor.user_id)


@blp.route("/courses/<int:course_id>/assignments")
class Assignments(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(AssignmentQuerySchema, location="query")
    @blp.response(200, AssignmentSchema(many=True))
    def get(self, query, course_id):
        """Assignments: students see their own, teachers everyone's (or ``?student_id=``)."""
        return service.list_assignments(current_actor(), course_id, query["student_id"])


@blp.route("/courses/<int:course_id>/assignments/generate")
class GenerateAssignments(MethodView):
    @blp.doc(security=BEARER)
    @blp.arguments(GenerateSchema)
    @blp.response(201, AssignmentSchema(many=True))
    def post(self, payload, course_id):
        """Generate a personalised assignment per student; pin/exclude concepts, set length."""
        request = service.GenerationRequest(
            length=payload["length"],
            pinned=tuple(payload["pinned"]),
            excluded=tuple(payload["excluded"]),
            student_ids=tuple(payload["student_ids"]) if payload["student_ids"] else None,
            title=payload["title"],
        )
        return service.generate_assignments(current_actor(), course_id, request)


@blp.route("/courses/<int:course_id>/assignments/<int:assignment_id>")
class AssignmentResource(MethodView):
    @blp.doc(security=BEARER)
    @blp.response(200, AssignmentDetailSchema)
    def get(self, course_id, assignment_id):
        """One assignment with its items in order, each with its reason (never answers)."""
        assignment, rows = service.get_assignment(current_actor(), course_id, assignment_id)
        items = [
            {
                "position": pick.position,
                "item_id": pick.item_id,
                "item_key": item.key if item else None,
                "kind_of_item": item.kind if item else None,
                "prompt": item.prompt if item else None,
                "choices": item.choices if item else None,
                "concept_key": key,
                "pick": pick.kind,
                "difficulty_label": pick.difficulty_label,
                "predicted_success": round(pick.predicted_success, 3),
                "reason": pick.reason,
                "answered": pick.attempt_id is not None,
            }
            for pick, item, key in rows
        ]
        return {
            "id": assignment.id,
            "course_id": assignment.course_id,
            "user_id": assignment.user_id,
            "title": assignment.title,
            "status": assignment.status,
            "settings": assignment.settings,
            "created_at": assignment.created_at,
            "items": items,
        }
