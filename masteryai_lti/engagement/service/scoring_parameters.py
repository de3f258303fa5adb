"""What every engagement computation runs with.

The day scored and the period before it, a course's weights and risk settings (the
defaults until a teacher sets them), the shipped risk model, instants in UTC, and the
days they fall on: the engine counts whole days (date ordinals), and a day is the
school's, in its institution's time zone (a New York evening is one day, not two).
Recording, the course input, the views and the settings share them from here.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.courses.models import Course
from masteryai_lti.engagement.engine import DEFAULT_WEIGHTS
from masteryai_lti.engagement.models import EngagementSettings
from masteryai_lti.engagement.risk import RiskSettings, load_model
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import Institution


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


def _settings(course_id: int) -> EngagementSettings | None:
    return db.session.get(EngagementSettings, course_id)


def _weights_and_risk_settings(course_id: int) -> tuple[dict, RiskSettings]:
    s = _settings(course_id)
    if s is None:
        return dict(DEFAULT_WEIGHTS), RiskSettings()
    return dict(s.weights), RiskSettings(s.flag_at, s.clear_below, s.outcome_rate)


# A school's zone is set once, when it starts; reading it from the database for every
# event and every view was two more queries on the live path (the bench's event p50
# went from 6.4 to 12.4 ms). Each process keeps what it read for this long; a change
# made in this process drops it at once (`forget_time_zones`), and the recount of the
# stored days waits this long first, so no other process still writes old-zone days.
ZONE_CACHE_SECONDS = 5.0
# institution id -> (when read, zone name); course id -> institution id (never changes).
_zones: dict[int, tuple[float, str]] = {}
_course_institutions: dict[int, int] = {}
_COURSES_KEPT = 100_000


def forget_time_zones(institution_id: int | None = None) -> None:
    """Drop this process's idea of an institution's zone (of every one with None)."""
    if institution_id is None:
        _zones.clear()
        _course_institutions.clear()
    else:
        _zones.pop(institution_id, None)


def institution_zone(institution_id: int, *, fresh: bool = False) -> ZoneInfo:
    """The institution's time zone, as read at most ``ZONE_CACHE_SECONDS`` ago (``fresh``:
    from the database now)."""
    now = time.monotonic()
    known = _zones.get(institution_id)
    if fresh or known is None or now - known[0] >= ZONE_CACHE_SECONDS:
        name = db.session.scalar(
            select(Institution.time_zone).where(Institution.id == institution_id)
        )
        known = (now, name or "UTC")
        _zones[institution_id] = known
    return ZoneInfo(known[1])


def course_zone(course_id: int) -> ZoneInfo:
    """The time zone of the course's institution (UTC for a course that does not exist)."""
    institution_id = _course_institutions.get(course_id)
    if institution_id is None:
        institution_id = db.session.scalar(
            select(Course.institution_id).where(Course.id == course_id)
        )
        if institution_id is None:
            return ZoneInfo("UTC")
        if len(_course_institutions) >= _COURSES_KEPT:
            _course_institutions.clear()
        _course_institutions[course_id] = institution_id
    return institution_zone(institution_id)


def _day(instant: datetime | str, zone: ZoneInfo) -> int:
    """The day (date ordinal) an instant falls on in the school's zone."""
    return _aware(instant).astimezone(zone).date().toordinal()


def _as_of(course_id: int, as_of: date | None) -> date:
    """The day scored: the one given, else today where the course's school is."""
    return as_of or utcnow().astimezone(course_zone(course_id)).date()


def _period_days() -> int:
    return int(current_app.config.get("ENGAGEMENT_CALCULATION_PERIOD_DAYS", 30))
