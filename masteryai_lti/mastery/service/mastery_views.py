"""Reading mastery: a student's mastery per concept, their weak concepts, the class heatmap.

Mastery is computed for now from each student's engine state (the learner model), decay
applied, not read from the stored snapshots; weak concepts add the attempts' evidence
trail. Students see their own; teachers of the course and admins anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import NotFound
from masteryai_lti.core.policy import Actor
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import User
from masteryai_lti.mastery import engine
from masteryai_lti.mastery.graph import ConceptGraph
from masteryai_lti.mastery.models import Attempt, AttemptConcept, Concept, LearnerModel
from masteryai_lti.mastery.recommender import ConceptState
from masteryai_lti.mastery.service.access import (
    _student_course,
    _teachable_course,
    course_concept_map,
)
from masteryai_lti.mastery.service.concept_maps import load_graph
from masteryai_lti.mastery.service.engine_inputs import (
    _concept_priors,
    _prerequisite_ids,
    _threshold,
    mastery_params,
)
from masteryai_lti.mastery.weak_concepts import (
    AttemptEvidence,
    WeakConcept,
    WeakConceptSettings,
    detect_weak_concepts,
)


@dataclass
class MasteryView:
    """One student's mastery of one concept now."""

    concept_id: int
    concept_key: str
    name: str
    mastery: float
    uncertainty: float
    mastered: bool
    attempts: int
    correct: int
    last_practiced: datetime | None
    peak_mastery: float | None

    def as_dict(self) -> dict:
        """Plain dict for responses."""
        return {
            "concept_key": self.concept_key,
            "name": self.name,
            "mastery": round(self.mastery, 1),
            "uncertainty": round(self.uncertainty, 1),
            "mastered": self.mastered,
            "attempts": self.attempts,
            "correct": self.correct,
            "last_practiced": self.last_practiced.isoformat() if self.last_practiced else None,
        }


def _student_state(user_id: int) -> engine.StudentState:
    learner = db.session.scalar(select(LearnerModel).where(LearnerModel.user_id == user_id))
    if learner is None:
        return engine.StudentState.new(mastery_params())
    return engine.StudentState.from_dict(learner.state)


@dataclass
class _MapContext:
    """A concept map loaded once for many students (heatmap, class generation)."""

    graph: ConceptGraph
    rows: dict[str, Concept]
    order: list[str]
    prerequisites: dict[str, list[str]]
    priors: dict[str, engine.ConceptPrior]


def _map_context(concept_map_id: int) -> _MapContext:
    graph, rows = load_graph(concept_map_id)
    return _MapContext(
        graph,
        rows,
        graph.topological_order(),
        _prerequisite_ids([concept_map_id]),
        _concept_priors(rows.values()),
    )


def _mastery_views(
    course: Course,
    user_id: int,
    now: datetime,
    student: engine.StudentState | None = None,
    context: _MapContext | None = None,
) -> list[MasteryView]:
    if context is None:
        concept_map = course_concept_map(course.id)
        if concept_map is None:
            return []
        context = _map_context(concept_map.id)
    student = student or _student_state(user_id)
    params, threshold = mastery_params(), _threshold()
    views = []
    for key in context.order:
        row = context.rows[key]
        m = engine.concept_mastery(
            params, student, str(row.id), now, threshold, context.prerequisites, context.priors
        )
        views.append(
            MasteryView(
                concept_id=row.id,
                concept_key=key,
                name=row.name,
                mastery=m.mastery,
                uncertainty=m.uncertainty,
                # Shown in practice, not carried by ability or transfer alone.
                mastered=m.mastered and m.attempts > 0,
                attempts=m.attempts,
                correct=m.correct,
                last_practiced=m.last_practiced,
                peak_mastery=m.peak_mastery,
            )
        )
    return views


def student_mastery(actor: Actor, course_id: int, student_id: int) -> list[MasteryView]:
    """A student's mastery per concept of the course, decay applied to now.

    Students see their own; teachers of the course and admins anyone's.
    """
    course = _student_course(actor, course_id, student_id)
    return _mastery_views(course, student_id, utcnow())


def class_heatmap(actor: Actor, course_id: int) -> dict:
    """Students x concepts mastery matrix of a course (teachers and admins)."""
    course = _teachable_course(actor, course_id)
    now = utcnow()
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        return {"concepts": [], "students": [], "threshold": _threshold(), "as_of": now}
    context = _map_context(concept_map.id)
    graph, rows, order = context.graph, context.rows, context.order
    ids = courses.student_ids(course.id)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    learners = {
        lm.user_id: engine.StudentState.from_dict(lm.state)
        for lm in db.session.scalars(select(LearnerModel).where(LearnerModel.user_id.in_(ids)))
    }
    students = []
    for uid in sorted(ids, key=lambda i: (users[i].full_name, i)):
        student = learners.get(uid) or engine.StudentState.new(mastery_params())
        views = _mastery_views(course, uid, now, student, context)
        cells = [
            {
                "concept_key": v.concept_key,
                "mastery": round(v.mastery, 1) if v.attempts else None,
                "estimate": round(v.mastery, 1),
                "mastered": v.mastered,
                "attempts": v.attempts,
            }
            for v in views
        ]
        students.append(
            {
                "user_id": uid,
                "full_name": users[uid].full_name,
                "mastered_count": sum(1 for v in views if v.mastered),
                "cells": cells,
            }
        )
    concepts = []
    for index, key in enumerate(order):
        column = [s["cells"][index] for s in students]
        practised = [c["mastery"] for c in column if c["mastery"] is not None]
        concepts.append(
            {
                "key": key,
                "name": rows[key].name,
                "prerequisites": sorted(graph.prerequisites[key]),
                "mean_mastery": round(sum(practised) / len(practised), 1) if practised else None,
                "mastered_share": round(sum(1 for c in column if c["mastered"]) / len(column), 3)
                if column
                else None,
            }
        )
    return {"concepts": concepts, "students": students, "threshold": _threshold(), "as_of": now}


def _evidence(user_id: int, concept_map_id: int) -> dict[str, list[AttemptEvidence]]:
    rows = db.session.execute(
        select(
            Concept.key,
            Attempt.occurred_at,
            Attempt.item_id,
            Attempt.correct,
            AttemptConcept.mastery_after,
        )
        .join(AttemptConcept, AttemptConcept.attempt_id == Attempt.id)
        .join(Concept, Concept.id == AttemptConcept.concept_id)
        .where(Attempt.user_id == user_id, Concept.concept_map_id == concept_map_id)
        .order_by(Attempt.occurred_at, Attempt.id)
    )
    found: dict[str, list[AttemptEvidence]] = {}
    for key, occurred, item_id, correct, after in rows:
        found.setdefault(key, []).append(AttemptEvidence(occurred, item_id, correct, after))
    return found


def _concept_states(views: list[MasteryView]) -> dict[str, ConceptState]:
    return {
        v.concept_key: ConceptState(
            mastery=v.mastery,
            uncertainty=v.uncertainty,
            last_practiced=v.last_practiced,
            attempts=v.attempts,
            peak_mastery=v.peak_mastery,
            mastered=v.mastered,
        )
        for v in views
    }


def weak_concepts(actor: Actor, course_id: int, student_id: int) -> list[WeakConcept]:
    """A student's weak concepts with the evidence (the student, teachers, admins)."""
    missing = "No such student or concept graph in this course."
    course = _student_course(actor, course_id, student_id, missing=missing)
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        raise NotFound(missing)
    now = utcnow()
    graph, _ = load_graph(concept_map.id)
    states = _concept_states(_mastery_views(course, student_id, now))
    return detect_weak_concepts(
        graph,
        states,
        _evidence(student_id, concept_map.id),
        now,
        WeakConceptSettings(mastery_threshold=_threshold()),
    )
