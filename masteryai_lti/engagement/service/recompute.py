"""The periodic recompute: each course's view rebuilt and cached, and its daily snapshots.

`recompute_all` is the nightly job (``flask engagement recompute``); a worker runs
`recompute_course_job` after a change when views are rebuilt off the request.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.engagement import keys
from masteryai_lti.engagement.engine import FACTORS
from masteryai_lti.engagement.models import EngagementSnapshot
from masteryai_lti.engagement.service.course_views import (
    _store_view,
    _view_stamp,
    compute_course_view,
)
from masteryai_lti.engagement.service.scoring_parameters import _as_of
from masteryai_lti.extensions import cache, db

log = logging.getLogger(__name__)


def recompute_course(course_id: int, as_of: date | None = None) -> dict:
    """Recompute a course, refresh its cache entries and write today's snapshots."""
    as_of = _as_of(course_id, as_of)
    course = db.session.get(Course, course_id)
    if course is None:
        return {"course_id": course_id, "students": 0}
    stamp = _view_stamp(course_id)
    view = compute_course_view(course_id, as_of)
    if stamp is not None:
        _store_view(course_id, view, stamp)
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
            "flagged_since": date.fromisoformat(r["flagged_since"]) if r["flagged_since"] else None,
            "factors": dict(zip(FACTORS, r["contributions"], strict=True)),
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
    """Periodic job: recompute every course with students; returns courses done.

    Courses whose students never produced an event are included: their
    students are the ones to flag. One failing course does not stop the rest.
    """
    ids = db.session.scalars(
        select(Enrollment.course_id)
        .where(Enrollment.role == "student", Enrollment.status == "active")
        .distinct()
        .order_by(Enrollment.course_id)
    ).all()
    done = 0
    for course_id in ids:
        try:
            recompute_course(course_id, as_of)
            done += 1
        except Exception:
            log.exception("engagement recompute of course %s failed", course_id)
            db.session.rollback()
    return done
