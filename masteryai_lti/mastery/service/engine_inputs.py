"""What the pure mastery engine is given from the database and the app's settings.

The engine parameters (the shipped, fitted defaults, read once), the mastery threshold,
and each concept's prerequisites and learned starting level in the engine's terms.
Recording attempts, the mastery views and assignment generation all feed the engine
alike through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from flask import current_app
from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.mastery import engine
from masteryai_lti.mastery.models import Concept, ConceptPrerequisite


@lru_cache(maxsize=1)
def _default_params() -> engine.MasteryParams:
    return engine.default_params()


def mastery_params() -> engine.MasteryParams:
    """Engine parameters: the shipped (fitted) defaults."""
    return _default_params()


def _threshold() -> float:
    return float(current_app.config.get("MASTERY_THRESHOLD", 70))


def _prerequisite_ids(concept_map_ids: Iterable[int]) -> dict[str, list[str]]:
    """Engine-side prerequisites: concept id text -> prerequisite id texts."""
    rows = db.session.execute(
        select(ConceptPrerequisite.concept_id, ConceptPrerequisite.prerequisite_id)
        .join(Concept, Concept.id == ConceptPrerequisite.concept_id)
        .where(Concept.concept_map_id.in_(list(concept_map_ids)))
    )
    found: dict[str, list[str]] = {}
    for concept_id, prereq_id in rows:
        found.setdefault(str(concept_id), []).append(str(prereq_id))
    return found


def _concept_priors(concepts: Iterable[Concept]) -> dict[str, engine.ConceptPrior]:
    """Engine-side concept priors (starting levels) of the concepts that have one."""
    return {str(c.id): engine.ConceptPrior.from_dict(c.prior) for c in concepts if c.prior}
