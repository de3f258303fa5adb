"""One student: the current index with its breakdown and reasons, and the daily history.

`student_view` scores the student alone against the cached course reference, so an
event shows at once; on PostgreSQL all it reads comes in one round trip (`_STUDENT_SQL`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import select

from masteryai_lti.core.errors import NotFound
from masteryai_lti.core.policy import Actor, ensure_can_view_student
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.courses.service import full_names
from masteryai_lti.engagement import keys
from masteryai_lti.engagement.engine import (
    DEFAULT_WEIGHTS,
    CourseInput,
    CourseReference,
    DueItem,
    compute_course,
    missing_work,
)
from masteryai_lti.engagement.models import EngagementSettings, EngagementSnapshot
from masteryai_lti.engagement.risk import RiskSettings, assess_course
from masteryai_lti.engagement.service.course_input import (
    _activity_from_days,
    _cached_items,
    _submissions,
    load_course_input,
)
from masteryai_lti.engagement.service.course_views import course_view
from masteryai_lti.engagement.service.scoring_parameters import _as_of, _period_days, risk_model
from masteryai_lti.extensions import cache, db


def _student_context(
    course_id: int, student_id: int, before: date
) -> tuple[bool, dict, RiskSettings, bool]:
    """Enrolment, course settings and the last snapshot's flag in one round trip.

    Scoring one student after an event is a handful of tiny queries; on a busy
    database each round trip costs more than the computation.
    """
    settings = EngagementSettings
    enrolled = (
        select(Enrollment.id)
        .where(
            Enrollment.course_id == course_id,
            Enrollment.user_id == student_id,
            Enrollment.role == "student",
            Enrollment.status == "active",
        )
        .exists()
    )
    previous = (
        select(EngagementSnapshot.flagged)
        .where(
            EngagementSnapshot.course_id == course_id,
            EngagementSnapshot.user_id == student_id,
            EngagementSnapshot.taken_on < before,
        )
        .order_by(EngagementSnapshot.taken_on.desc())
        .limit(1)
        .scalar_subquery()
    )

    def setting(column):
        return select(column).where(settings.course_id == course_id).scalar_subquery()

    row = db.session.execute(
        select(
            enrolled,
            previous,
            setting(settings.weights),
            setting(settings.flag_at),
            setting(settings.clear_below),
            setting(settings.outcome_rate),
        )
    ).one()
    is_enrolled, was_flagged, weights, flag_at, clear_below, outcome_rate = row
    if weights is None:
        return bool(is_enrolled), dict(DEFAULT_WEIGHTS), RiskSettings(), bool(was_flagged)
    return (
        bool(is_enrolled),
        dict(weights),
        RiskSettings(flag_at, clear_below, outcome_rate),
        bool(was_flagged),
    )


# Everything needed to score one student against a cached course reference, in one
# round trip (PostgreSQL): enrolment, last flag, course settings, the student's
# rollup rows in the period, their graded work and their enrolment context.
_STUDENT_SQL = """
SELECT
  EXISTS (SELECT 1 FROM enrollments
          WHERE course_id = %(c)s AND user_id = %(u)s
            AND role = 'student' AND status = 'active'),
  (SELECT flagged FROM engagement_snapshots
   WHERE course_id = %(c)s AND user_id = %(u)s AND taken_on < %(before)s
   ORDER BY taken_on DESC LIMIT 1),
  s.weights, s.flag_at, s.clear_below, s.outcome_rate,
  (SELECT array_agg(ARRAY[day - %(start)s, quiz, interaction, resource_view,
                          attendance + submission + launch])
   FROM engagement_days
   WHERE course_id = %(c)s AND user_id = %(u)s AND day > %(start)s AND day <= %(end)s),
  (SELECT json_agg(json_build_array(object_id, kind, d, sc)) FROM (
     SELECT object_id, kind, min(day) AS d, max(score) AS sc
     FROM engagement_events
     WHERE course_id = %(c)s AND user_id = %(u)s AND due_at IS NOT NULL
       AND object_id IS NOT NULL AND kind IN ('submission', 'quiz') AND day <= %(end)s
     GROUP BY object_id, kind) g),
  -- enrolment_context() for one student: other live courses, earlier runs
  (SELECT count(*) FROM enrollments o
   WHERE o.user_id = %(u)s AND o.course_id <> %(c)s AND o.role = 'student'
     AND o.status = 'active' AND o.institution_id = t.institution_id
     AND (SELECT max(d.day) FROM engagement_events d WHERE d.course_id = o.course_id)
         > %(start)s),
  (SELECT count(*) FROM enrollments o JOIN courses e ON e.id = o.course_id
   WHERE o.user_id = %(u)s AND o.role = 'student' AND e.institution_id = t.institution_id
     AND e.code = t.code AND t.code <> '' AND e.created_at < t.created_at)
FROM courses t
LEFT JOIN engagement_settings s ON s.course_id = t.id
WHERE t.id = %(c)s
"""


def _student_input_pg(course_id: int, student_id: int, as_of: date, ref: dict):
    """PostgreSQL fast path of `student_view`: one query, then the engine input."""
    period = _period_days()
    end = as_of.toordinal()
    start = end - period
    connection = db.session.connection()
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(
            _STUDENT_SQL,
            {"c": course_id, "u": student_id, "before": as_of, "start": start, "end": end},
        )
        row = cursor.fetchone()
        if row is None:
            raise NotFound("No such course.")
        enrolled, previous, weights, flag_at, clear_below, rate, days, work, other, earlier = row
    finally:
        cursor.close()
    if weights is None:
        weights, settings = dict(DEFAULT_WEIGHTS), RiskSettings()
    else:
        weights, settings = dict(weights), RiskSettings(flag_at, clear_below, rate)
    matrix = np.zeros((0, 6), dtype=np.int64)
    if days:
        matrix = np.asarray(days, dtype=np.int64).reshape(-1, 5)
        matrix = np.column_stack([np.full(matrix.shape[0], student_id), matrix])
    item_list = _cached_items(ref["items"])
    items = {(it.key, it.kind): n for n, it in enumerate(item_list)}
    rows = [(student_id, o, k, d, sc) for o, k, d, sc in work or ()]
    inp = CourseInput(
        roster=[student_id],
        activity=_activity_from_days(matrix, [student_id], start),
        items=item_list,
        submissions=_submissions(rows, {student_id: 0}, items),
        as_of_day=end,
        period_days=period,
        weights=weights,
        reference=CourseReference.from_dict(ref),
        other_courses=[other],
        earlier_runs=[earlier],
    )
    return bool(enrolled), settings, bool(previous), inp


def student_view(course_id: int, student_id: int, as_of: date | None = None) -> dict:
    """One student's current index, full breakdown, risk and reasons.

    Reads only the student's own rollup rows and scores them against the cached
    course reference (medians, factors with signal, due items), so a new event
    shows at once; a cold cache computes the course view first.
    """
    as_of = _as_of(course_id, as_of)
    ref = cache.get(keys.course_reference(course_id))
    fresh_ref = ref is not None and ref.get("as_of") == as_of.isoformat()
    if fresh_ref and db.session.get_bind().dialect.name == "postgresql":
        enrolled, settings, previous, inp = _student_input_pg(course_id, student_id, as_of, ref)
        if not enrolled:
            raise NotFound("This student is not enrolled in the course.")
    else:
        enrolled, weights, settings, previous = _student_context(course_id, student_id, as_of)
        if not enrolled:
            raise NotFound("This student is not enrolled in the course.")
        if not fresh_ref:
            ref = course_view(course_id, as_of)["reference"]
        inp = load_course_input(
            course_id,
            as_of,
            roster=[student_id],
            reference=CourseReference.from_dict(ref),
            known_items=ref["items"],
            weights=weights,
        )
    course = compute_course(inp)
    risk = assess_course(course, risk_model(), settings, [previous])
    row = course.student(0).to_dict()
    verdict = risk.student(0)
    row.update(
        risk=verdict.probability,
        flagged=verdict.flagged,
        no_activity=verdict.no_activity,
        reasons=[x.__dict__.copy() for x in verdict.reasons],
        missing_work=_described(missing_work(inp, 0)),
    )
    return row


def _described(items: list[DueItem]) -> list[dict]:
    """Due items for people: the declared title (else what events call it) and date."""
    return [
        {
            "object_id": item.key,
            "kind": item.kind,
            "title": item.title or item.key,
            "due_date": date.fromordinal(item.due_day).isoformat(),
            # The instant, for showing in the reader's own time zone (due_date is the
            # school's, in its institution's time zone).
            "due_at": item.due_at or None,
        }
        for item in items
    ]


def student_breakdown(actor: Actor, course_id: int, student_id: int) -> dict:
    """A student's breakdown: the student themself, the course's teachers, admins."""
    course = db.session.get(Course, course_id)
    ensure_can_view_student(actor, course, student_id)
    view = student_view(course_id, student_id)
    view["full_name"] = full_names([student_id]).get(student_id, "")
    return view


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
