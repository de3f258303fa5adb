"""What every engagement computation runs with.

The day scored and the period before it, a course's weights and risk settings (the
defaults until a teacher sets them), the shipped risk model, instants in UTC, and the
days they fall on: the engine counts whole days (date ordinals), and a day is the
school's, in its institution's time zone (a New York evening is one day, not two).
Recording, the course input, the views and the settings share them from here.
"""

from __future__ import annotations

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


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def institution_zone(institution_id: int, *, lock: bool = False) -> ZoneInfo:
    """The institution's time zone. With ``lock`` (PostgreSQL), a change of zone waits
    until this transaction ends: the days it writes and the recount of a new zone
    (`recount_days`) cannot cross."""
    query = select(Institution.time_zone).where(Institution.id == institution_id)
    if lock and db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    return _zone(db.session.scalar(query) or "UTC")


def _course_zone(course_id: int) -> ZoneInfo:
    """The time zone of the course's institution (UTC for a course that does not exist)."""
    name = db.session.scalar(
        select(Institution.time_zone)
        .join(Course, Course.institution_id == Institution.id)
        .where(Course.id == course_id)
    )
    return _zone(name or "UTC")


def _day(instant: datetime | str, zone: ZoneInfo) -> int:
    """The day (date ordinal) an instant falls on in the school's zone."""
    return _aware(instant).astimezone(zone).date().toordinal()


def _as_of(course_id: int, as_of: date | None) -> date:
    """The day scored: the one given, else today where the course's school is."""
    return as_of or utcnow().astimezone(_course_zone(course_id)).date()


def _period_days() -> int:
    return int(current_app.config.get("ENGAGEMENT_CALCULATION_PERIOD_DAYS", 30))
