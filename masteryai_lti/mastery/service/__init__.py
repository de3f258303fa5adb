"""Mastery use cases: concept maps, item bank, attempts, mastery views, assignments.

Every attempt, whichever road it comes by (the homework player, xAPI projection,
bulk import), goes through :func:`record_attempt`, which stores it once per
source id and updates the student's mastery at once through the pure engine.
Functions taking an ``actor`` check tenant and role; :func:`record_attempt` is
called by trusted code (the xAPI projection) with ids it has already resolved.

Other features and the mastery API call the functions exported here. The modules hold
one use case each, and each imports only modules listed above it:

- ``access``: the course an actor works in, its concept map and who may manage it;
- ``engine_inputs``: what the pure engine is given (parameters, threshold, priors);
- ``concept_maps``: browse, reuse, copy, import, export and edit a course's graph;
- ``item_bank``: the items of a map, their import and export, and grading a response;
- ``activity_mappings``: outside xAPI activities counted as practice of concepts;
- ``mastery_views``: a student's mastery, weak concepts, the class heatmap;
- ``assignments``: recommendations and generated assignments;
- ``placed_assignments``: assignments opened from LMS placements and their scores;
- ``attempts``: recording an attempt (every road) and withdrawing one (voiding);
- ``submissions``: a student's answer in the player, a teacher's CSV import.
"""

from masteryai_lti.mastery.service.access import course_concept_map
from masteryai_lti.mastery.service.activity_mappings import (
    create_activity_mapping,
    delete_activity_mapping,
    list_activity_mappings,
)
from masteryai_lti.mastery.service.assignments import (
    GenerationRequest,
    generate_assignments,
    get_assignment,
    list_assignments,
    recommendations,
)
from masteryai_lti.mastery.service.attempts import record_attempt, withdraw_attempts
from masteryai_lti.mastery.service.concept_maps import (
    copy_concept_map,
    delete_concept,
    export_graph,
    get_graph,
    import_graph,
    list_concept_maps,
    upsert_concept,
    use_concept_map,
)
from masteryai_lti.mastery.service.engine_inputs import mastery_params
from masteryai_lti.mastery.service.item_bank import (
    create_item,
    delete_item,
    export_items,
    get_item,
    grade_response,
    import_items,
    list_items,
    update_item,
)
from masteryai_lti.mastery.service.mastery_views import (
    class_heatmap,
    student_mastery,
    weak_concepts,
)
from masteryai_lti.mastery.service.placed_assignments import (
    SessionScore,
    completed_placed_sessions,
    course_has_items,
    open_placed_assignment,
    placed_assignment_completed,
    session_scores,
)
from masteryai_lti.mastery.service.submissions import import_attempts, submit_answer

__all__ = [
    "GenerationRequest",
    "SessionScore",
    "class_heatmap",
    "completed_placed_sessions",
    "copy_concept_map",
    "course_concept_map",
    "course_has_items",
    "create_activity_mapping",
    "create_item",
    "delete_activity_mapping",
    "delete_concept",
    "delete_item",
    "export_graph",
    "export_items",
    "generate_assignments",
    "get_assignment",
    "get_graph",
    "get_item",
    "grade_response",
    "import_attempts",
    "import_graph",
    "import_items",
    "list_activity_mappings",
    "list_assignments",
    "list_concept_maps",
    "list_items",
    "mastery_params",
    "open_placed_assignment",
    "placed_assignment_completed",
    "record_attempt",
    "recommendations",
    "session_scores",
    "student_mastery",
    "submit_answer",
    "update_item",
    "upsert_concept",
    "use_concept_map",
    "weak_concepts",
    "withdraw_attempts",
]
