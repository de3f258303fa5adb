"""Activity mappings: an outside xAPI activity counted as practice of some concepts.

Teachers map an activity id (an H5P question, a quiz in another tool) to concept keys
of the course's map; statements about it then reach mastery through the xAPI
projection as attempts (:func:`masteryai_lti.mastery.service.attempts.record_attempt`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from masteryai_lti.core.errors import NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor
from masteryai_lti.extensions import db
from masteryai_lti.mastery.models import ActivityMapping
from masteryai_lti.mastery.service.access import _map_for
from masteryai_lti.mastery.service.concept_maps import concept_rows
from masteryai_lti.mastery.service.item_bank import _label_difficulty


def create_activity_mapping(
    actor: Actor,
    course_id: int,
    *,
    activity_id: str,
    concept_keys: Sequence[str],
    difficulty_label: str = "medium",
) -> ActivityMapping:
    """Count an outside xAPI activity as practice of ``concept_keys`` (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    concepts = concept_rows(concept_map.id)
    unknown = [k for k in concept_keys if k not in concepts]
    if not concept_keys or unknown:
        raise ValidationFailed(
            "Map the activity to known concepts.",
            errors=[field_error("concept_keys", "unknown: " + ", ".join(unknown) or "empty")],
        )
    mapping = db.session.scalar(
        select(ActivityMapping).where(
            ActivityMapping.concept_map_id == concept_map.id,
            ActivityMapping.activity_id == activity_id,
        )
    )
    if mapping is None:
        mapping = ActivityMapping(
            institution_id=concept_map.institution_id,
            concept_map_id=concept_map.id,
            activity_id=activity_id,
        )
        db.session.add(mapping)
    if mapping.difficulty_label != difficulty_label or mapping.id is None:
        if not mapping.response_count:
            mapping.difficulty = _label_difficulty(difficulty_label)
    mapping.concept_keys = list(dict.fromkeys(concept_keys))
    mapping.difficulty_label = difficulty_label
    db.session.commit()
    return mapping


def list_activity_mappings(actor: Actor, course_id: int) -> list[ActivityMapping]:
    """Activity mappings of the course's concept map (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    return list(
        db.session.scalars(
            select(ActivityMapping)
            .where(ActivityMapping.concept_map_id == concept_map.id)
            .order_by(ActivityMapping.id)
        )
    )


def delete_activity_mapping(actor: Actor, course_id: int, mapping_id: int) -> None:
    """Stop counting an outside activity (attempts already recorded stay)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    mapping = db.session.get(ActivityMapping, mapping_id)
    if mapping is None or mapping.concept_map_id != concept_map.id:
        raise NotFound("No such activity mapping.")
    db.session.delete(mapping)
    db.session.commit()
