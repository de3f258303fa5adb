"""Statements waiting for their actor project once many people are linked at once
(a roster sync links a whole course in one go: ``identity.link_new_identities``)."""

from __future__ import annotations

from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identities
from masteryai_lti.xapi import projection
from masteryai_lti.xapi.models import PENDING, PROJECTED, UNKNOWN_ACTOR, XapiStatement
from tests.factories import make_user
from tests.integration.xapi.conftest import statement
from tests.sql_statements import SqlStatements


def _states() -> dict[str, str]:
    db.session.rollback()
    return {
        row.statement["actor"]["mbox"]: row.projection_state
        for row in db.session.scalars(select(XapiStatement))
    }


def _linked_at_once(app, institution, count: int, first: int) -> int:
    """Link ``count`` new people (learner ``first``… by mbox) at once; statements sent."""
    users = [make_user(institution) for _ in range(count)]
    db.session.commit()
    links = [
        (user.id, "mbox", f"mailto:learner{first + n}@example.org") for n, user in enumerate(users)
    ]
    with SqlStatements(app) as seen:
        identities.link_new_identities(institution.id, links)
        db.session.commit()
    return seen.count


def test_linking_many_people_at_once_requeues_each_ones_waiting_statements(app, lrs, institution):
    for n in (1, 2, 3, 9):
        lrs.post(statement(n))
    assert set(_states().values()) == {UNKNOWN_ACTOR}

    _linked_at_once(app, institution, 3, first=1)

    assert _states() == {
        "mailto:learner1@example.org": PENDING,
        "mailto:learner2@example.org": PENDING,
        "mailto:learner3@example.org": PENDING,
        "mailto:learner9@example.org": UNKNOWN_ACTOR,
    }
    projection.project_pending()
    assert _states()["mailto:learner2@example.org"] == PROJECTED


def test_linking_many_people_costs_what_linking_a_few_does(app, lrs, institution):
    lrs.post(statement(1))
    lrs.post(statement(350))

    few = _linked_at_once(app, institution, 3, first=1)
    many = _linked_at_once(app, institution, 300, first=100)

    assert many == few
    assert set(_states().values()) == {PENDING}
