"""Engagement use cases: record signals, compute (cached) course views, attendance, settings.

PostgreSQL is the truth; Redis holds two cache entries per course (see
`keys`): the computed class view (invalidated by every new event) and the
course reference (medians etc., refreshed by each full computation) that
lets one student's index be recomputed alone right after an event.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, date, datetime
from functools import lru_cache

import numpy as np
from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import (
    Actor,
    ensure_can_teach,
    ensure_can_view_student,
    visible_course,
)
from masteryai_lti.courses.models import Course
from masteryai_lti.courses.service import student_ids
from masteryai_lti.engagement import keys
from masteryai_lti.engagement.engine import (
    DEFAULT_WEIGHTS,
    FACTORS,
    KIND_CODE,
    ActivityTable,
    CourseInput,
    CourseReference,
    DueItem,
    SubmissionTable,
    WeightsError,
    compute_course,
    course_reference,
    validate_weights,
)
from masteryai_lti.engagement.models import (
    ATTENDANCE_STATUSES,
    EVENT_KINDS,
    AttendanceRecord,
    EngagementEvent,
    EngagementSettings,
    EngagementSnapshot,
)
from masteryai_lti.engagement.risk import RiskThresholds, assess_course, load_model
from masteryai_lti.extensions import cache, db, jobs

log = logging.getLogger(__name__)

VIEW_TTL = 6 * 3600
REFERENCE_TTL = 2 * 24 * 3600


@lru_cache(maxsize=1)
def risk_model():
    """The shipped risk model (read once per process)."""
    return load_model()


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- recording signals ---------------------------------------------------------------------


def record_events(institution_id: int, events: list[dict]) -> int:
    """Store engagement events; returns how many were new.

    Each dict: ``user_id, course_id, kind, occurred_at, source, source_id`` and
    optionally ``due_at, score (0..1), object_id, extra``. Idempotent on
    (institution_id, source, source_id). Commits, then invalidates the views of
    the touched courses and (with a worker queue) schedules their recompute.
    """
    rows = []
    for e in events:
        if e["kind"] not in EVENT_KINDS:
            raise ValueError(f"unknown engagement event kind {e['kind']!r}")
        occurred = _aware(e["occurred_at"])
        score = e.get("score")
        if score is not None and not 0.0 <= float(score) <= 1.0:
            raise ValueError("score must be between 0 and 1")
        rows.append(
            {
                "institution_id": institution_id,
                "course_id": int(e["course_id"]),
                "user_id": int(e["user_id"]),
                "kind": e["kind"],
                "occurred_at": occurred,
                "day": occurred.date().toordinal(),
                "source": str(e["source"])[:40],
                "source_id": str(e["source_id"])[:255],
                "due_at": _aware(e["due_at"]) if e.get("due_at") else None,
                "score": None if score is None else float(score),
                "object_id": e.get("object_id"),
                "extra": e.get("extra"),
                "created_at": utcnow(),
            }
        )
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = EngagementEvent.__table__
    statement = (
        make_insert(table)
        .on_conflict_do_nothing(index_elements=["institution_id", "source", "source_id"])
        .returning(table.c.id)
    )
    # RETURNING counts only the rows really inserted (duplicates are skipped).
    inserted = len(db.session.connection().execute(statement, rows).all())
    db.session.commit()
    for course_id in {r["course_id"] for r in rows}:
        _course_changed(course_id)
    return inserted


def _course_changed(course_id: int) -> None:
    cache.delete(keys.course_view(course_id))
    if not jobs.inline and cache.set_if_absent(keys.recompute_pending(course_id), 1, ttl=5):
        # A worker rebuilds the view within seconds; a burst of events enqueues once.
        jobs.enqueue(recompute_course_job, course_id)


# --- computing -----------------------------------------------------------------------------


def _settings(course_id: int) -> EngagementSettings | None:
    return db.session.get(EngagementSettings, course_id)


def _weights_and_thresholds(course_id: int) -> tuple[dict, RiskThresholds]:
    s = _settings(course_id)
    if s is None:
        return dict(DEFAULT_WEIGHTS), RiskThresholds()
    return dict(s.weights), RiskThresholds(s.flag_at, s.clear_below)


def _as_of(as_of: date | None) -> date:
    return as_of or utcnow().date()


def _period_days() -> int:
    return int(current_app.config.get("ENGAGEMENT_CALCULATION_PERIOD_DAYS", 30))


def load_course_input(
    course_id: int,
    as_of: date,
    roster: list[int] | None = None,
    reference: CourseReference | None = None,
) -> CourseInput:
    """Read a course's events over the period into engine input (aggregated in SQL)."""
    period = _period_days()
    end = as_of.toordinal()
    start = end - period
    roster = student_ids(course_id) if roster is None else roster
    index = {uid: i for i, uid in enumerate(roster)}
    ev = EngagementEvent
    # A quiz with a due date is graded work: its attempt counts through the
    # submissions below, and here only marks the student present that day.
    kind = case(
        ((ev.kind == "quiz") & ev.due_at.is_not(None), "submission"),
        else_=ev.kind,
    )
    where = [ev.course_id == course_id, ev.day > start, ev.day <= end]
    if len(roster) == 1:
        where.append(ev.user_id == roster[0])
    act = db.session.execute(
        select(ev.user_id, kind, ev.day, func.count())
        .where(*where)
        .group_by(ev.user_id, kind, ev.day)
    ).all()
    s_idx, k_idx, days, counts = [], [], [], []
    for uid, k, day, n in act:
        i = index.get(uid)
        if i is None:
            continue
        s_idx.append(i)
        k_idx.append(KIND_CODE[k])
        days.append(day)
        counts.append(n)
    activity = ActivityTable(
        np.asarray(s_idx, dtype=np.int64),
        np.asarray(k_idx, dtype=np.int64),
        np.asarray(days, dtype=np.int64),
        np.asarray(counts, dtype=np.float64),
    )
    # Due items are known from any student's graded work; one row per (item, student).
    graded = db.session.execute(
        select(
            ev.object_id,
            ev.kind,
            func.min(ev.due_at),
            ev.user_id,
            func.min(ev.day),
            func.max(ev.score),
        )
        .where(
            ev.course_id == course_id,
            ev.kind.in_(("submission", "quiz")),
            ev.due_at.is_not(None),
            ev.object_id.is_not(None),
            ev.day <= end,
        )
        .group_by(ev.object_id, ev.kind, ev.user_id)
    ).all()
    items: dict[tuple[str, str], int] = {}
    item_list: list[DueItem] = []
    sub_rows = []
    for object_id, k, due_at, uid, day, score in graded:
        key = (object_id, k)
        if key not in items:
            items[key] = len(item_list)
            item_list.append(DueItem(object_id, k, _aware(due_at).date().toordinal()))
        i = index.get(uid)
        if i is not None:
            sub_rows.append((i, items[key], day, score))
    return CourseInput(
        roster=roster,
        activity=activity,
        items=item_list,
        submissions=SubmissionTable.from_rows(sub_rows),
        as_of_day=end,
        period_days=period,
        weights=_weights_and_thresholds(course_id)[0],
        reference=reference,
    )


def _previous_flags(course_id: int, before: date) -> dict[int, bool]:
    latest = db.session.scalar(
        select(func.max(EngagementSnapshot.taken_on)).where(
            EngagementSnapshot.course_id == course_id, EngagementSnapshot.taken_on < before
        )
    )
    if latest is None:
        return {}
    return dict(
        db.session.execute(
            select(EngagementSnapshot.user_id, EngagementSnapshot.flagged).where(
                EngagementSnapshot.course_id == course_id, EngagementSnapshot.taken_on == latest
            )
        ).all()
    )


def _student_rows(course, risk, indices) -> list[dict]:
    rows = []
    for i in indices:
        s = course.student(int(i))
        r = risk.student(int(i))
        row = s.to_dict()
        row.update(
            risk=r.probability,
            flagged=r.flagged,
            no_activity=r.no_activity,
            reasons=[x.__dict__.copy() for x in r.reasons],
        )
        rows.append(row)
    return rows


def compute_course_view(course_id: int, as_of: date | None = None) -> dict:
    """Compute every student's index and risk from PostgreSQL (no cache involved)."""
    as_of = _as_of(as_of)
    inp = load_course_input(course_id, as_of)
    course = compute_course(inp)
    _, thresholds = _weights_and_thresholds(course_id)
    prev = _previous_flags(course_id, as_of)
    risk = assess_course(
        course,
        risk_model(),
        thresholds,
        [prev.get(int(uid), False) for uid in course.roster],
    )
    reference = course_reference(course)
    return {
        "course_id": course_id,
        "as_of": as_of.isoformat(),
        "period_days": inp.period_days,
        "weights": dict(zip(FACTORS, [round(float(w), 2) for w in course.weights], strict=True)),
        "medians": dict(zip(FACTORS, [float(m) for m in course.median], strict=True)),
        "reference": reference.to_dict(),
        "thresholds": {"flag_at": thresholds.flag_at, "clear_below": thresholds.clear_below},
        "students": _student_rows(course, risk, range(course.size)),
    }


def course_view(course_id: int, as_of: date | None = None) -> dict:
    """The cached course view, recomputed from PostgreSQL when the cache is cold or down."""
    as_of = _as_of(as_of)
    view = cache.get(keys.course_view(course_id))
    if view is not None and view.get("as_of") == as_of.isoformat():
        return view
    view = compute_course_view(course_id, as_of)
    cache.set(keys.course_view(course_id), view, ttl=VIEW_TTL)
    cache.set(
        keys.course_reference(course_id),
        {"as_of": view["as_of"], **view["reference"]},
        ttl=REFERENCE_TTL,
    )
    return view


def student_view(course_id: int, student_id: int, as_of: date | None = None) -> dict:
    """One student's current index and risk.

    With the course reference cached this reads only the student's own events
    (a new event shows at once); otherwise it takes the row of the course view.
    """
    as_of = _as_of(as_of)
    if student_id not in set(student_ids(course_id)):
        raise NotFound("This student is not enrolled in the course.")
    ref = cache.get(keys.course_reference(course_id))
    if ref is None:
        view = course_view(course_id, as_of)
        return next(r for r in view["students"] if r["student_id"] == student_id)
    reference = CourseReference.from_dict(ref)
    inp = load_course_input(course_id, as_of, roster=[student_id], reference=reference)
    course = compute_course(inp)
    _, thresholds = _weights_and_thresholds(course_id)
    prev = _previous_flags(course_id, as_of).get(student_id, False)
    risk = assess_course(course, risk_model(), thresholds, [prev])
    return _student_rows(course, risk, [0])[0]


# --- use cases behind the API --------------------------------------------------------------

SORT_KEYS = {"score", "risk", "student_id", "days_since_active"}


def class_table(
    actor: Actor,
    course_id: int,
    *,
    sort: str = "score",
    band: str | None = None,
    at_risk: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict:
    """The class engagement table for a teacher: sorted, filtered, paginated."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    view = course_view(course_id)
    rows = view["students"]
    if band:
        rows = [r for r in rows if r["band"] == band]
    if at_risk is not None:
        rows = [r for r in rows if r["flagged"] == at_risk]
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise ValidationFailed(
            "Bad sort key.", errors=[field_error("sort", f"one of {sorted(SORT_KEYS)}", "query")]
        )

    def sort_key(r):
        value = r[key]
        return (value is None, value if value is not None else 0, r["student_id"])

    rows = sorted(rows, key=sort_key, reverse=descending)
    total = len(rows)
    start = (page - 1) * per_page
    items = [
        {
            k: r[k]
            for k in (
                "student_id",
                "score",
                "band",
                "trend",
                "risk",
                "flagged",
                "no_activity",
                "days_since_active",
            )
        }
        for r in rows[start : start + per_page]
    ]
    return {
        "course_id": course_id,
        "as_of": view["as_of"],
        "weights": view["weights"],
        "medians": view["medians"],
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": items,
    }


def student_breakdown(actor: Actor, course_id: int, student_id: int) -> dict:
    """A student's breakdown: the student themself, the course's teachers, admins."""
    course = db.session.get(Course, course_id)
    ensure_can_view_student(actor, course, student_id)
    return student_view(course_id, student_id)


def student_history(actor: Actor, course_id: int, student_id: int) -> list[dict]:
    """Daily snapshots of a student's index and risk, oldest first."""
    course = db.session.get(Course, course_id)
    ensure_can_view_student(actor, course, student_id)
    snaps = db.session.scalars(
        select(EngagementSnapshot)
        .where(EngagementSnapshot.course_id == course_id, EngagementSnapshot.user_id == student_id)
        .order_by(EngagementSnapshot.taken_on)
    )
    return [
        {
            "date": s.taken_on.isoformat(),
            "score": s.score,
            "band": s.band,
            "risk": s.risk,
            "flagged": s.flagged,
        }
        for s in snaps
    ]


def at_risk_list(actor: Actor, course_id: int) -> list[dict]:
    """Flagged students with their reasons, most at risk first."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    rows = [r for r in course_view(course_id)["students"] if r["flagged"]]
    rows.sort(key=lambda r: (-r["risk"], r["student_id"]))
    return [
        {
            k: r[k]
            for k in (
                "student_id",
                "score",
                "band",
                "trend",
                "risk",
                "no_activity",
                "days_since_active",
                "reasons",
            )
        }
        for r in rows
    ]


def record_attendance(actor: Actor, course_id: int, marks: list[dict]) -> int:
    """Upsert attendance marks ``{user_id, date, status}``; present/late become events.

    Returns the number of marks stored. Unknown students are a 422 naming the row.
    """
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    roster = set(student_ids(course_id))
    errors = [
        field_error(f"marks[{n}].user_id", "not a student of this course")
        for n, m in enumerate(marks)
        if m["user_id"] not in roster
    ]
    if errors:
        raise ValidationFailed("Some marks are for unknown students.", errors=errors)
    events, absent_ids = [], []
    for m in marks:
        existing = db.session.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.course_id == course_id,
                AttendanceRecord.user_id == m["user_id"],
                AttendanceRecord.session_date == m["date"],
            )
        )
        if existing is None:
            existing = AttendanceRecord(
                institution_id=course.institution_id,
                course_id=course_id,
                user_id=m["user_id"],
                session_date=m["date"],
            )
            db.session.add(existing)
        existing.status = m["status"]
        existing.recorded_by = actor.user_id
        source_id = f"{course_id}:{m['user_id']}:{m['date'].isoformat()}"
        if m["status"] in ("present", "late"):
            events.append(
                {
                    "user_id": m["user_id"],
                    "course_id": course_id,
                    "kind": "attendance",
                    "occurred_at": datetime.combine(m["date"], datetime.min.time(), UTC),
                    "source": "attendance",
                    "source_id": source_id,
                    "extra": {"status": m["status"]},
                }
            )
        else:
            absent_ids.append(source_id)
    if absent_ids:
        # A mark corrected to absent or excused withdraws its presence event.
        db.session.execute(
            EngagementEvent.__table__.delete().where(
                EngagementEvent.institution_id == course.institution_id,
                EngagementEvent.source == "attendance",
                EngagementEvent.source_id.in_(absent_ids),
            )
        )
    db.session.commit()
    record_events(course.institution_id, events)
    _course_changed(course_id)
    return len(marks)


def import_attendance_csv(actor: Actor, course_id: int, text: str) -> int:
    """Import attendance from CSV with header ``user_id,date,status`` (ISO dates).

    All rows are checked first; any bad row is a 422 listing every problem by row.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = {"user_id", "date", "status"} - set(reader.fieldnames or [])
    if missing:
        raise ValidationFailed(
            "The CSV needs the columns user_id, date, status.",
            errors=[field_error("header", f"missing column {c}", "body") for c in sorted(missing)],
        )
    marks, errors = [], []
    for n, row in enumerate(reader, start=2):
        try:
            uid = int(row["user_id"])
        except (TypeError, ValueError):
            errors.append(field_error(f"line {n}.user_id", "not an integer", "body"))
            continue
        try:
            day = date.fromisoformat((row["date"] or "").strip())
        except ValueError:
            errors.append(field_error(f"line {n}.date", "not an ISO date (YYYY-MM-DD)", "body"))
            continue
        status = (row["status"] or "").strip().lower()
        if status not in ATTENDANCE_STATUSES:
            errors.append(field_error(f"line {n}.status", f"one of {ATTENDANCE_STATUSES}", "body"))
            continue
        marks.append({"user_id": uid, "date": day, "status": status})
    if errors:
        raise ValidationFailed("The CSV has invalid rows.", errors=errors)
    return record_attendance(actor, course_id, marks)


def get_settings(actor: Actor, course_id: int) -> dict:
    """Weights and thresholds of a course (its members may read them)."""
    visible_course(actor, db.session.get(Course, course_id))
    weights, th = _weights_and_thresholds(course_id)
    return {"weights": weights, "flag_at": th.flag_at, "clear_below": th.clear_below}


def put_settings(
    actor: Actor,
    course_id: int,
    weights: dict,
    flag_at: float | None = None,
    clear_below: float | None = None,
) -> dict:
    """Replace a course's weights (and optionally thresholds); 422 on invalid values."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    try:
        clean = validate_weights(weights)
    except WeightsError as exc:
        raise ValidationFailed(
            "Weights must be six integers 0-100 summing to 100.",
            errors=[
                field_error(f"weights.{e['path']}".rstrip("."), e["message"]) for e in exc.errors
            ],
        ) from None
    current = _settings(course_id)
    _, th = _weights_and_thresholds(course_id)
    flag_at = th.flag_at if flag_at is None else flag_at
    clear_below = th.clear_below if clear_below is None else clear_below
    try:
        RiskThresholds(flag_at, clear_below)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors=[field_error("clear_below", str(exc))]) from None
    if current is None:
        current = EngagementSettings(course_id=course_id, institution_id=course.institution_id)
        db.session.add(current)
    current.weights = clean
    current.flag_at = flag_at
    current.clear_below = clear_below
    db.session.commit()
    _course_changed(course_id)
    return get_settings(actor, course_id)


# --- periodic recompute --------------------------------------------------------------------


def recompute_course(course_id: int, as_of: date | None = None) -> dict:
    """Recompute a course, refresh its cache entries and write today's snapshots."""
    as_of = _as_of(as_of)
    course = db.session.get(Course, course_id)
    if course is None:
        return {"course_id": course_id, "students": 0}
    view = compute_course_view(course_id, as_of)
    cache.set(keys.course_view(course_id), view, ttl=VIEW_TTL)
    cache.set(
        keys.course_reference(course_id),
        {"as_of": view["as_of"], **view["reference"]},
        ttl=REFERENCE_TTL,
    )
    db.session.execute(
        EngagementSnapshot.__table__.delete().where(
            EngagementSnapshot.course_id == course_id, EngagementSnapshot.taken_on == as_of
        )
    )
    snapshots = [
        {
            "institution_id": course.institution_id,
            "course_id": course_id,
            "user_id": r["student_id"],
            "taken_on": as_of,
            "score": r["score"],
            "band": r["band"],
            "risk": r["risk"],
            "flagged": r["flagged"],
            "factors": {f["factor"]: f["contribution"] for f in r["factors"]},
        }
        for r in view["students"]
    ]
    if snapshots:
        db.session.execute(EngagementSnapshot.__table__.insert(), snapshots)
    db.session.commit()
    return {"course_id": course_id, "students": len(view["students"])}


def recompute_course_job(course_id: int) -> dict:
    """Queue entry point: recompute one course (the pending marker is cleared first)."""
    cache.delete(keys.recompute_pending(course_id))
    return recompute_course(course_id)


def recompute_all(as_of: date | None = None) -> int:
    """Periodic job: recompute every course with engagement events; returns courses done."""
    ids = db.session.scalars(select(EngagementEvent.course_id).distinct()).all()
    for course_id in ids:
        recompute_course(course_id, as_of)
    return len(ids)
