"""Assignments opened from LMS placements, their scores and the news of their completion.

A student opening a placement gets their open assignment there or a fresh one
(:func:`open_placed_assignment`). When one is completed, :data:`placed_assignment_completed`
is sent so the LTI feature posts the grade; mastery itself knows nothing of LTI.
"""

from __future__ import annotations

from dataclasses import dataclass

from blinker import Namespace
from sqlalchemy import func, select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.mastery.models import Assignment, AssignmentItem, Attempt, Item
from masteryai_lti.mastery.service.access import course_concept_map
from masteryai_lti.mastery.service.assignments import (
    GenerationRequest,
    _bank,
    _create_assignment,
    _settings,
)

_signals = Namespace()

# Sent (after the commit) when a student's answer completes an assignment opened from an
# LMS placement, with ``score_given`` and ``score_maximum``: the LTI feature posts the
# grade to that placement's gradebook column. Mastery itself knows nothing of LTI.
placed_assignment_completed = _signals.signal("mastery.placed-assignment-completed")

# Items in an assignment a student gets by opening an LMS placement.
PLACED_ASSIGNMENT_LENGTH = 10


def open_placed_assignment(
    course_id: int, student_id: int, resource_link_pk: int, *, title: str
) -> Assignment | None:
    """The assignment a student gets by opening an LMS placement (after a validated launch).

    Their open assignment for that placement, else a freshly generated one (so opening
    the placement again after finishing gives new practice). None while the course has
    no concept graph or no items to practise. Commits.
    """
    open_one = db.session.scalar(
        select(Assignment)
        .where(
            Assignment.course_id == course_id,
            Assignment.user_id == student_id,
            Assignment.resource_link_pk == resource_link_pk,
            Assignment.status == "open",
        )
        .order_by(Assignment.id.desc())
    )
    if open_one is not None:
        return open_one
    course = db.session.get(Course, course_id)
    concept_map = course_concept_map(course_id)
    if course is None or concept_map is None:
        return None
    bank = _bank(concept_map.id)
    request = GenerationRequest(length=PLACED_ASSIGNMENT_LENGTH, title=title)
    assignment = _create_assignment(
        course,
        concept_map,
        student_id,
        request,
        _settings(request, bank.context.graph),
        created_by_id=None,
        now=utcnow(),
        resource_link_pk=resource_link_pk,
        bank=bank,
    )
    if assignment.status != "open":
        # Nothing to practise (no items yet): keep no empty assignment around.
        db.session.rollback()
        return None
    db.session.commit()
    return assignment


def course_has_items(course_id: int) -> bool:
    """Whether the course's concept graph has any item to practise."""
    concept_map = course_concept_map(course_id)
    if concept_map is None:
        return False
    return (
        db.session.scalar(select(Item.id).where(Item.concept_map_id == concept_map.id).limit(1))
        is not None
    )


@dataclass(frozen=True)
class SessionScore:
    """One placed assignment (a practice session) and how it went so far."""

    assignment_id: int
    correct: float  # answers' scores summed (a right answer counts 1)
    answered: int
    total: int
    completed: bool

    @property
    def share(self) -> float:
        """Share of the session's questions answered correctly, 0..1."""
        return self.correct / self.total if self.total else 0.0


def session_scores(assignments: list[Assignment]) -> list[SessionScore]:
    """Score each assignment as ``_announce_completed_placement`` does: the sum of the
    answers' scores (a right answer counts 1) out of the number of questions."""
    ids = [a.id for a in assignments]
    if not ids:
        return []
    totals: dict[int, int] = {}
    answered: dict[int, int] = {}
    correct: dict[int, float] = {}
    rows = db.session.execute(
        select(AssignmentItem.assignment_id, Attempt.id, Attempt.score, Attempt.correct)
        .outerjoin(Attempt, Attempt.id == AssignmentItem.attempt_id)
        .where(AssignmentItem.assignment_id.in_(ids))
    )
    for assignment_id, attempt_id, score, right in rows:
        totals[assignment_id] = totals.get(assignment_id, 0) + 1
        if attempt_id is None:
            continue
        answered[assignment_id] = answered.get(assignment_id, 0) + 1
        value = score if score is not None else float(bool(right))
        correct[assignment_id] = correct.get(assignment_id, 0.0) + value
    return [
        SessionScore(
            assignment_id=a.id,
            correct=round(correct.get(a.id, 0.0), 4),
            answered=answered.get(a.id, 0),
            total=totals.get(a.id, 0),
            completed=a.status == "completed",
        )
        for a in assignments
    ]


def completed_placed_sessions(resource_link_pk: int, user_id: int) -> list[SessionScore]:
    """The student's completed practice sessions on an LMS placement, oldest first
    (for the grade sent to the LMS: lti.placements)."""
    assignments = db.session.scalars(
        select(Assignment)
        .where(
            Assignment.resource_link_pk == resource_link_pk,
            Assignment.user_id == user_id,
            Assignment.status == "completed",
        )
        .order_by(Assignment.id)
    ).all()
    return [s for s in session_scores(list(assignments)) if s.total]


def _announce_completed_placement(assignment_id: int) -> None:
    """If this just-completed assignment was opened from an LMS placement, say so."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.status != "completed" or not assignment.resource_link_pk:
        return
    scores = db.session.execute(
        select(Attempt.score, Attempt.correct)
        .join(AssignmentItem, AssignmentItem.attempt_id == Attempt.id)
        .where(AssignmentItem.assignment_id == assignment.id)
    ).all()
    total = db.session.scalar(
        select(func.count())
        .select_from(AssignmentItem)
        .where(AssignmentItem.assignment_id == assignment.id)
    )
    given = sum(score if score is not None else float(bool(correct)) for score, correct in scores)
    placed_assignment_completed.send(
        assignment, score_given=round(given, 4), score_maximum=float(total)
    )
