"""A course's engagement settings: factor weights, risk thresholds, outcome rate.

The course's members read them; its teachers replace them, which drops the cached view.
"""

from __future__ import annotations

from masteryai_lti.core.errors import ValidationFailed, field_error
from masteryai_lti.core.policy import Actor, ensure_can_teach, visible_course
from masteryai_lti.courses.models import Course
from masteryai_lti.engagement.engine import WeightsError, validate_weights
from masteryai_lti.engagement.models import EngagementSettings
from masteryai_lti.engagement.risk import RiskSettings, RiskSettingsError
from masteryai_lti.engagement.service.invalidation import _course_changed
from masteryai_lti.engagement.service.scoring_parameters import (
    _settings,
    _weights_and_risk_settings,
    risk_model,
)
from masteryai_lti.extensions import db


def get_settings(actor: Actor, course_id: int) -> dict:
    """Weights, thresholds and outcome rate of a course (its members may read them)."""
    visible_course(actor, db.session.get(Course, course_id))
    weights, settings = _weights_and_risk_settings(course_id)
    return {
        "weights": weights,
        "flag_at": settings.flag_at,
        "clear_below": settings.clear_below,
        "outcome_rate": settings.outcome_rate,
        "model_outcome_rate": risk_model().outcome_rate,
    }


# `put_settings` leaves a setting the request does not name as it is.
KEEP = object()


def put_settings(
    actor: Actor,
    course_id: int,
    weights: dict,
    flag_at: float | None = None,
    clear_below: float | None = None,
    outcome_rate: float | None | object = KEEP,
) -> dict:
    """Replace a course's weights (and optionally thresholds and outcome rate, where
    None means the model's own); 422 listing every invalid value, nothing stored."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    errors = []
    try:
        clean = validate_weights(weights)
    except WeightsError as exc:
        errors += [
            field_error(f"weights.{e['path']}".rstrip("."), e["message"]) for e in exc.errors
        ]
    _, before = _weights_and_risk_settings(course_id)
    try:
        settings = RiskSettings(
            before.flag_at if flag_at is None else flag_at,
            before.clear_below if clear_below is None else clear_below,
            before.outcome_rate if outcome_rate is KEEP else outcome_rate,
        )
    except RiskSettingsError as exc:
        errors += [field_error(e["path"], e["message"]) for e in exc.errors]
    if errors:
        raise ValidationFailed(
            f"{len(errors)} setting(s) invalid; nothing was changed.", errors=errors
        )
    current = _settings(course_id)
    if current is None:
        current = EngagementSettings(course_id=course_id, institution_id=course.institution_id)
        db.session.add(current)
    current.weights = clean
    current.flag_at = settings.flag_at
    current.clear_below = settings.clear_below
    current.outcome_rate = settings.outcome_rate
    db.session.commit()
    _course_changed(course_id)
    return get_settings(actor, course_id)
