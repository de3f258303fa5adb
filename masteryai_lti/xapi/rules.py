"""An institution's overrides of the verb / activity type -> engagement kind defaults."""

from __future__ import annotations

from sqlalchemy import select

from masteryai_lti.core.errors import NotFound, ValidationFailed, field_error
from masteryai_lti.extensions import db
from masteryai_lti.xapi.models import XapiEngagementRule


def list_rules(institution_id: int) -> list[XapiEngagementRule]:
    """The institution's rules, verb rules first."""
    return list(
        db.session.scalars(
            select(XapiEngagementRule)
            .where(XapiEngagementRule.institution_id == institution_id)
            .order_by(XapiEngagementRule.verb_id, XapiEngagementRule.activity_type)
        )
    )


def set_rule(
    institution_id: int, *, verb_id: str | None, activity_type: str | None, kind: str
) -> XapiEngagementRule:
    """Create or replace the rule for (verb, activity type); applies to statements
    projected from now on."""
    if not verb_id and not activity_type:
        raise ValidationFailed(
            "A rule names a verb, an activity type, or both.",
            errors=[field_error("verb_id", "Give verb_id, activity_type or both.")],
        )
    rule = db.session.scalar(
        select(XapiEngagementRule).where(
            XapiEngagementRule.institution_id == institution_id,
            XapiEngagementRule.verb_id.is_(None)
            if verb_id is None
            else XapiEngagementRule.verb_id == verb_id,
            XapiEngagementRule.activity_type.is_(None)
            if activity_type is None
            else XapiEngagementRule.activity_type == activity_type,
        )
    )
    if rule is None:
        rule = XapiEngagementRule(
            institution_id=institution_id, verb_id=verb_id, activity_type=activity_type
        )
        db.session.add(rule)
    rule.kind = kind
    db.session.commit()
    return rule


def delete_rule(institution_id: int, rule_id: int) -> None:
    """Remove a rule of the institution."""
    rule = db.session.get(XapiEngagementRule, rule_id)
    if rule is None or rule.institution_id != institution_id:
        raise NotFound("No such engagement rule in your institution.")
    db.session.delete(rule)
    db.session.commit()
