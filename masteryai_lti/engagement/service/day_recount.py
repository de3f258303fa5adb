"""Recounting an institution's stored days after its time zone changed.

An event's ``day`` and the daily rollup are written in the school's zone when the event
arrives (`events`). When an admin changes the zone, the days already stored are
recounted in the new one: in SQL, set-wise, per institution (the zone's UTC offsets
over the events' time span become one CASE expression), then the rollup of the
institution's courses is rebuilt from the events and their cached views dropped.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, case, cast, delete, extract, func, select
from sqlalchemy import text as sql_text

from masteryai_lti.courses.models import Course
from masteryai_lti.engagement.models import EngagementDay, EngagementEvent
from masteryai_lti.engagement.service.events import ROLLUP_COLUMNS, rollup_conditions
from masteryai_lti.engagement.service.invalidation import _after_commit_invalidate
from masteryai_lti.engagement.service.scoring_parameters import (
    ZONE_CACHE_SECONDS,
    forget_time_zones,
    institution_zone,
)
from masteryai_lti.extensions import db, jobs
from masteryai_lti.identity.service import time_zone_changed

# Marks entered by a teacher (engagement.attendance.SOURCE) are about a session date,
# not an instant: they keep the day they were given.
_SESSION_MARK_SOURCE = "attendance"
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_DAY_SECONDS = 86_400


def recount_days(institution_id: int, settle_seconds: float = 0.0) -> dict:
    """Recount the institution's event days and rollups in its current time zone.

    One transaction: on PostgreSQL the rollup table is locked against other writers
    while it is rebuilt (a concurrent event's +1 would otherwise be counted twice or
    lost), which a change of zone, done once when a school is set up, can afford.
    ``settle_seconds``: wait that long first, while other processes may still write
    days in the old zone (each keeps it for up to ``ZONE_CACHE_SECONDS``).
    Returns how many events moved to another day.
    """
    if settle_seconds > 0:
        time.sleep(settle_seconds)
    zone = institution_zone(institution_id, fresh=True)
    ev = EngagementEvent
    courses = select(Course.id).where(Course.institution_id == institution_id)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sql_text("LOCK TABLE engagement_days IN SHARE ROW EXCLUSIVE MODE"))
    instants = [ev.institution_id == institution_id, ev.source != _SESSION_MARK_SOURCE]
    first, last = db.session.execute(
        select(func.min(ev.occurred_at), func.max(ev.occurred_at)).where(*instants)
    ).one()
    moved = 0
    if first is not None:
        day = _day_expression(ev.occurred_at, _offset_spans(zone, first, last))
        moved = db.session.execute(
            ev.__table__.update().where(*instants, ev.day != day).values(day=day)
        ).rowcount
    course_ids = set(db.session.scalars(courses))
    if moved:
        _rebuild_rollup(courses)
    _after_commit_invalidate(course_ids, reference=True)
    db.session.commit()
    return {"institution_id": institution_id, "events_moved": moved, "courses": len(course_ids)}


@time_zone_changed.connect
def _time_zone_changed(institution_id: int) -> None:
    forget_time_zones(institution_id)
    # In the background with a worker (a large school has millions of events), once the
    # other processes have let the old zone go; inline in the embedded default, whose
    # one process has just dropped it.
    settle = 0.0 if jobs.inline else ZONE_CACHE_SECONDS + 1.0
    jobs.enqueue(recount_days, institution_id, settle_seconds=settle)


def _offset_spans(zone: ZoneInfo, first: datetime, last: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets (seconds) from ``first`` to ``last``: ``(until, offset)``
    pairs, the last one's ``until`` after ``last``. Transitions are found day by day,
    then to the second."""

    def offset(moment: datetime) -> int:
        return int(zone.utcoffset(moment.astimezone(zone)).total_seconds())

    spans = []
    moment, current = first - timedelta(days=1), offset(first - timedelta(days=1))
    end = last + timedelta(days=1)
    while moment < end:
        step = moment + timedelta(days=1)
        if offset(step) != current:
            low, high = moment, step
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            spans.append((high, current))
            current = offset(high)
        moment = step
    spans.append((end + timedelta(days=1), current))
    return spans


def _day_expression(occurred_at, spans: list[tuple[datetime, int]]):
    """SQL for the date ordinal of ``occurred_at`` shifted by the zone's offset then."""
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = cast(func.floor(extract("epoch", occurred_at)), BigInteger)
    else:
        # SQLite keeps UTC timestamps as text; strftime reads them to Unix seconds.
        seconds = cast(func.strftime("%s", occurred_at), Integer)
    if len(spans) == 1:
        offset = spans[0][1]
    else:
        offset = case(
            *[(occurred_at < until, shift) for until, shift in spans[:-1]], else_=spans[-1][1]
        )
    return cast((seconds + offset) // _DAY_SECONDS + _EPOCH_DAY, Integer)


def _rebuild_rollup(courses) -> None:
    """The daily rollup of these courses, recounted from their events."""
    ev, days = EngagementEvent, EngagementDay
    counted = rollup_conditions(ev.kind, ev.due_at)
    db.session.execute(delete(days).where(days.course_id.in_(courses)))
    db.session.execute(
        days.__table__.insert().from_select(
            ["course_id", "user_id", "day", *ROLLUP_COLUMNS],
            select(
                ev.course_id,
                ev.user_id,
                ev.day,
                *[func.sum(case((counted[c], 1), else_=0)) for c in ROLLUP_COLUMNS],
            )
            .where(ev.course_id.in_(courses))
            .group_by(ev.course_id, ev.user_id, ev.day),
        )
    )
