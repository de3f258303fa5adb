"""What every engagement computation runs with.

The day scored and the period before it, a course's weights and risk settings (the
defaults until a teacher sets them), the shipped risk model, and instants in UTC (the
engine counts days in UTC). Recording, the course input, the views and the settings
share them from here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

from flask import current_app

from masteryai_lti.core.clock import utcnow
from masteryai_lti.engagement.engine import DEFAULT_WEIGHTS
from masteryai_lti.engagement.models import EngagementSettings
from masteryai_lti.engagement.risk import RiskSettings, load_model
from masteryai_lti.extensions import db


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


def _as_of(as_of: date | None) -> date:
    return as_of or utcnow().date()


def _period_days() -> int:
    return int(current_app.config.get("ENGAGEMENT_CALCULATION_PERIOD_DAYS", 30))
