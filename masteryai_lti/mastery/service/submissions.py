"""Attempts people hand in: a student's answer in the player and a teacher's CSV import.

:func:`submit_answer` grades a student's response to an item of the course and records
it; :func:`import_attempts` brings a course's historical attempts in from CSV, all or
nothing. Both record through :func:`~masteryai_lti.mastery.service.attempts.record_attempt`
and check tenant and role of the ``actor``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Forbidden, NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor, course_role
from masteryai_lti.courses.models import Enrollment
from masteryai_lti.engagement.service import record_events
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import User
from masteryai_lti.mastery.models import Assignment, AssignmentItem, Attempt, AttemptConcept, Item
from masteryai_lti.mastery.service.access import _course, _teachable_course, course_concept_map
from masteryai_lti.mastery.service.attempts import announce_completed_assignments, record_attempt
from masteryai_lti.mastery.service.item_bank import grade_response
from masteryai_lti.mastery.service.mastery_views import _mastery_views

ATTEMPT_CSV_COLUMNS = ("student", "item", "activity_id", "correct", "score", "timestamp")


def _parse_bool(value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "t", "yes", "y", "correct"}:
        return True
    if text in {"0", "false", "f", "no", "n", "incorrect", "wrong"}:
        return False
    return None


@dataclass
class SubmissionResult:
    """What a student learns right after answering."""

    attempt: Attempt
    correct: bool
    score: float
    duplicate: bool
    mastery: list[dict]
    # Only now, with the answer in, may the student read the teacher's reasoning.
    explanation: str | None = None


def submit_answer(
    actor: Actor,
    course_id: int,
    item_id: int,
    response,
    *,
    attempt_key: str | None = None,
    duration_s: float | None = None,
) -> SubmissionResult:
    """A student answers an item of the course: graded here, recorded, mastery updated.

    ``attempt_key`` (a client-made id) makes a retried submission count once.
    """
    course = _course(actor, course_id)
    if course_role(actor, course.id) != "student":
        raise Forbidden("Only the course's students submit answers.")
    concept_map = course_concept_map(course.id)
    item = db.session.get(Item, item_id)
    if item is None or not (
        (concept_map is not None and item.concept_map_id == concept_map.id)
        or _assigned(course.id, actor.user_id, item.id)
    ):
        raise NotFound("No such item.")
    source_id = f"{actor.user_id}:{attempt_key}" if attempt_key else uuid.uuid4().hex
    existing = db.session.scalar(
        select(Attempt).where(
            Attempt.institution_id == course.institution_id,
            Attempt.source == "player",
            Attempt.source_id == source_id,
        )
    )
    correct, score = grade_response(item, response)
    attempt = record_attempt(
        course.institution_id,
        actor.user_id,
        occurred_at=utcnow(),
        source="player",
        source_id=source_id,
        correct=correct,
        score=score,
        item_id=item.id,
        duration_s=duration_s,
        course_id=course.id,
        response=response if isinstance(response, Mapping) else {"value": response},
    )
    scored = attempt.score if attempt.score is not None else (1.0 if attempt.correct else 0.0)
    if existing is None:
        _record_practice(course.institution_id, course.id, attempt, scored)
    db.session.commit()
    concept_ids = set(
        db.session.scalars(
            select(AttemptConcept.concept_id).where(AttemptConcept.attempt_id == attempt.id)
        )
    )
    views = [
        v for v in _mastery_views(course, actor.user_id, utcnow()) if v.concept_id in concept_ids
    ]
    announce_completed_assignments()
    return SubmissionResult(
        attempt=attempt,
        correct=attempt.correct,
        score=scored,
        duplicate=existing is not None,
        mastery=[v.as_dict() for v in views],
        explanation=item.explanation,
    )


def _record_practice(institution_id: int, course_id: int, attempt: Attempt, score: float) -> None:
    """The answer is quiz participation for the Engagement Index, as an answer from
    xAPI content is (its projection records both): a student practising in the player
    must not look inactive. Same transaction as the attempt, so neither stands alone."""
    record_events(
        institution_id,
        [
            {
                "user_id": attempt.user_id,
                "course_id": course_id,
                "kind": "quiz",
                "occurred_at": attempt.occurred_at,
                "source": "practice",
                "source_id": f"attempt:{attempt.id}",
                "score": score,
            }
        ],
        commit=False,
    )


def _assigned(course_id: int, user_id: int, item_id: int) -> bool:
    """Whether the item waits for the student's answer in an open assignment of the course
    (it stays answerable after the course copied the graph the item belongs to)."""
    return (
        db.session.scalar(
            select(AssignmentItem.id)
            .join(Assignment, Assignment.id == AssignmentItem.assignment_id)
            .where(
                Assignment.course_id == course_id,
                Assignment.user_id == user_id,
                Assignment.status == "open",
                AssignmentItem.item_id == item_id,
                AssignmentItem.attempt_id.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp needs a UTC offset")
    return value


@dataclass
class ImportReport:
    """Outcome of a bulk attempt import."""

    created: int = 0
    duplicates: int = 0
    unmapped: int = 0
    errors: list[dict] = field(default_factory=list)


def import_attempts(actor: Actor, course_id: int, text: str) -> ImportReport:
    """Bulk-import historical attempts from CSV (teachers); rows are applied oldest first.

    Columns: ``student`` (user id or e-mail), ``item`` (item key) or
    ``activity_id``, ``correct`` (1/0/true/false) or ``score`` (0..1),
    ``timestamp`` (ISO 8601 with offset), optional ``duration`` (seconds) and
    ``source_id`` (defaults to a hash of the row, so re-importing a file counts
    nothing twice). Invalid rows are reported by line and nothing is written.
    """
    course = _teachable_course(actor, course_id)
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        raise NotFound("This course has no concept graph yet.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = set(reader.fieldnames or ())
    missing = [c for c in ("student", "timestamp") if c not in header]
    if not header & {"item", "activity_id"}:
        missing.append("item or activity_id")
    if not header & {"correct", "score"}:
        missing.append("correct or score")
    if missing:
        raise ValidationFailed(
            "The CSV header lacks: " + ", ".join(missing),
            errors=[field_error("header", f"missing column {m}") for m in missing],
        )
    roster = {
        u.id: u
        for u in db.session.scalars(
            select(User)
            .join(Enrollment, Enrollment.user_id == User.id)
            .where(Enrollment.course_id == course.id, Enrollment.role == "student")
        )
    }
    by_email = {u.email.lower(): u for u in roster.values() if u.email}
    items = {
        i.key: i
        for i in db.session.scalars(select(Item).where(Item.concept_map_id == concept_map.id))
    }
    rows = []
    report = ImportReport()
    for line, row in enumerate(reader, start=2):
        student = (row.get("student") or "").strip()
        user = roster.get(int(student)) if student.isdigit() else by_email.get(student.lower())
        problems = []
        if user is None:
            problems.append("student is not a student of this course")
        item_key = (row.get("item") or "").strip()
        activity = (row.get("activity_id") or "").strip() or None
        item = items.get(item_key) if item_key else None
        if item_key and item is None:
            problems.append(f"unknown item {item_key!r}")
        if not item_key and not activity:
            problems.append("give item or activity_id")
        correct = _parse_bool(row.get("correct"))
        score = None
        if (row.get("score") or "").strip():
            try:
                score = float(row["score"])
            except ValueError:
                problems.append("score is not a number")
        if correct is None and score is None:
            problems.append("give correct (1/0) or score (0..1)")
        try:
            occurred = _parse_time(row.get("timestamp") or "")
        except ValueError:
            problems.append("timestamp must be ISO 8601 with a UTC offset")
            occurred = None
        duration = None
        if (row.get("duration") or "").strip():
            try:
                duration = float(row["duration"])
            except ValueError:
                problems.append("duration is not a number")
        if problems:
            report.errors.append(field_error(f"line {line}", "; ".join(problems), "body"))
            continue
        source_id = (row.get("source_id") or "").strip() or hashlib.sha256(
            json.dumps([course.id, sorted(row.items())], default=str).encode()
        ).hexdigest()[:40]
        rows.append((occurred, line, user, item, activity, correct, score, duration, source_id))
    if report.errors:
        raise ValidationFailed(
            f"{len(report.errors)} row(s) could not be imported; nothing was written.",
            errors=report.errors,
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    for occurred, _line, user, item, activity, correct, score, duration, source_id in rows:
        before = db.session.scalar(
            select(Attempt.id).where(
                Attempt.institution_id == course.institution_id,
                Attempt.source == "import",
                Attempt.source_id == source_id,
            )
        )
        attempt = record_attempt(
            course.institution_id,
            user.id,
            occurred_at=occurred,
            source="import",
            source_id=source_id,
            correct=correct,
            score=score,
            item_id=item.id if item else None,
            activity_id=activity,
            duration_s=duration,
            course_id=course.id,
        )
        if before is not None:
            report.duplicates += 1
        elif attempt is None:
            report.unmapped += 1
        else:
            report.created += 1
    db.session.commit()
    announce_completed_assignments()
    return report
