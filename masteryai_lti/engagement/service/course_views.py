"""The course view: every student's index, risk and reasons, and its cache.

`compute_course_view` computes it from the database; `course_view` serves it from the
cache under a stamp that every change deletes (see `invalidation`), and keeps the
views this process read parsed. Storing a view also stores the course reference
(medians, factors with signal, due items) that `student_views` scores one student
against.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import date

import numpy as np
from sqlalchemy import func, select

from masteryai_lti.engagement import keys
from masteryai_lti.engagement.engine import (
    FACTORS,
    band_for,
    compute_course,
    course_reference,
    trend_label,
)
from masteryai_lti.engagement.models import EngagementSnapshot
from masteryai_lti.engagement.risk import assess_course
from masteryai_lti.engagement.service.course_input import load_course_input
from masteryai_lti.engagement.service.scoring_parameters import (
    _as_of,
    _weights_and_risk_settings,
    risk_model,
)
from masteryai_lti.extensions import cache, db

VIEW_TTL = 6 * 3600


REFERENCE_TTL = 2 * 24 * 3600


def _previous_flags(course_id: int, before: date) -> dict[int, date]:
    """The students flagged on the latest snapshot before ``before``, each with the day
    their flag went up."""
    latest = db.session.scalar(
        select(func.max(EngagementSnapshot.taken_on)).where(
            EngagementSnapshot.course_id == course_id, EngagementSnapshot.taken_on < before
        )
    )
    if latest is None:
        return {}
    rows = db.session.execute(
        select(EngagementSnapshot.user_id, EngagementSnapshot.flagged_since).where(
            EngagementSnapshot.course_id == course_id,
            EngagementSnapshot.taken_on == latest,
            EngagementSnapshot.flagged.is_(True),
        )
    )
    # Snapshots written before flagged_since existed: the flag is known from that day.
    return {user: since or latest for user, since in rows}


def _table_rows(course, risk, flagged_since: list) -> list[dict]:
    """Compact per-student rows for the class view; reasons only for flagged students."""
    scores = course.score.tolist()
    probs = np.round(risk.probability, 4).tolist()
    flagged = risk.flagged.tolist()
    since = course.days_since_active.tolist()
    ids = course.roster.tolist()
    bands = [band_for(x) for x in scores]
    trends = [trend_label(x) for x in course.trend_slope.tolist()]
    contributions = (course.contributions / 10.0).tolist()
    rows = []
    for i in range(course.size):
        row = {
            "student_id": ids[i],
            "score": scores[i],
            "band": bands[i],
            "trend": trends[i],
            "risk": probs[i],
            "flagged": flagged[i],
            "flagged_since": flagged_since[i],
            "no_activity": since[i] < 0,
            "days_since_active": None if since[i] < 0 else since[i],
            "contributions": contributions[i],
        }
        if flagged[i]:
            row["reasons"] = [r.__dict__.copy() for r in risk.reasons(i)]
        rows.append(row)
    return rows


def _assess(course_id: int, course, as_of: date):
    """Risk and flags (with the day each flag went up) against the last snapshot's flags."""
    _, settings = _weights_and_risk_settings(course_id)
    flagged_before = _previous_flags(course_id, as_of)
    roster = course.roster.tolist()
    risk = assess_course(course, risk_model(), settings, [uid in flagged_before for uid in roster])
    # A flag carries its first day while it stays up; a new one starts today.
    since = [
        (flagged_before.get(uid) or as_of).isoformat() if flagged else None
        for uid, flagged in zip(roster, risk.flagged.tolist(), strict=True)
    ]
    return risk, settings, since


def compute_course_view(course_id: int, as_of: date | None = None) -> dict:
    """Compute every student's index, risk and reasons from PostgreSQL (no cache involved)."""
    as_of = _as_of(course_id, as_of)
    inp = load_course_input(course_id, as_of)
    course = compute_course(inp)
    risk, settings, flagged_since = _assess(course_id, course, as_of)
    return {
        "course_id": course_id,
        "as_of": as_of.isoformat(),
        "period_days": inp.period_days,
        "weights": dict(zip(FACTORS, [round(float(w), 2) for w in course.weights], strict=True)),
        "medians": dict(zip(FACTORS, [float(m) for m in course.median], strict=True)),
        "reference": {
            **course_reference(course).to_dict(),
            "items": [[it.key, it.kind, it.due_day, it.title, it.due_at] for it in inp.items],
        },
        "thresholds": {"flag_at": settings.flag_at, "clear_below": settings.clear_below},
        "students": _table_rows(course, risk, flagged_since),
    }


# Parsed course views this process has already read, by course: a class page of a
# 10,000-student course would otherwise parse megabytes of JSON per request. An
# entry is used only while its stamp still matches the one in the shared cache.
_parsed_views: OrderedDict[int, dict] = OrderedDict()


_PARSED_VIEWS_MAX = 8


def _remember(course_id: int, view: dict) -> None:
    _parsed_views[course_id] = view
    _parsed_views.move_to_end(course_id)
    while len(_parsed_views) > _PARSED_VIEWS_MAX:
        _parsed_views.popitem(last=False)


def _view_stamp(course_id: int) -> str | None:
    """The token naming the course's data as it is now, or None when the cache is down.

    Every change deletes it (`_course_changed`); the first reader after that draws a
    new one *before* reading the database, and the view it computes is cached under
    it. An event committed while a view is being computed deletes the token that view
    will carry, so the view is never served: taking the token after computing (as
    before) let such a view stand, without the event, until the next change.
    """
    key = keys.course_view_stamp(course_id)
    stamp = cache.get(key)
    if stamp is None:
        cache.set_if_absent(key, uuid.uuid4().hex, ttl=VIEW_TTL)
        stamp = cache.get(key)
    return stamp


def _is_current(view: dict | None, stamp: str, as_of: date) -> bool:
    return view is not None and view.get("stamp") == stamp and view["as_of"] == as_of.isoformat()


def _store_view(course_id: int, view: dict, stamp: str) -> None:
    view["stamp"] = stamp
    cache.set(keys.course_view(course_id), view, ttl=VIEW_TTL)
    cache.set(
        keys.course_reference(course_id),
        {"as_of": view["as_of"], **view["reference"]},
        ttl=REFERENCE_TTL,
    )
    _remember(course_id, view)


def course_view(course_id: int, as_of: date | None = None) -> dict:
    """The cached course view, recomputed from PostgreSQL when the cache is cold or down."""
    as_of = _as_of(course_id, as_of)
    stamp = _view_stamp(course_id)
    if stamp is None:
        return compute_course_view(course_id, as_of)
    local = _parsed_views.get(course_id)
    if _is_current(local, stamp, as_of):
        return local
    view = cache.get(keys.course_view(course_id))
    if _is_current(view, stamp, as_of):
        _remember(course_id, view)
        return view
    view = compute_course_view(course_id, as_of)
    _store_view(course_id, view, stamp)
    return view
