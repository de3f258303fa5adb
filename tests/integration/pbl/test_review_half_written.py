"""Evidence and peer ratings are stored with their engagement events, or not at all.

Each was committed first and its engagement events (the group's hand-in, the student's
interaction) in further commits after it: when the database failed in between, the
client was told 503, "nothing of this request was stored", while the evidence or the
rating was stored, and trying again added the same evidence twice.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from masteryai_lti.extensions import db
from masteryai_lti.pbl.models import Evidence, PeerEvaluation
from masteryai_lti.pbl.service import activity
from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project


@pytest.fixture
def setup(client, world):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    return project, red


@pytest.fixture
def engagement_down(monkeypatch):
    """The database drops the connection as the engagement events are written."""

    def fail(*_args, **_kwargs):
        raise OperationalError("INSERT INTO engagement_events", {}, Exception("connection lost"))

    monkeypatch.setattr(activity.engagement, "record_events", fail)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("who", ["student", "teacher"])
def test_evidence_is_not_stored_when_its_events_are_not(
    client, world, setup, app, engagement_down, who
):
    project, red = setup
    header = world.students[0] if who == "student" else world.teacher
    note = {"kind": "note", "title": "Plan", "note": "Truss, 12 members.", "group_id": red["id"]}
    response = client.post(world.url(f"/{project['id']}/evidence"), json=note, headers=header)
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert "nothing of this request was stored" in response.get_json()["detail"]
    assert _count(app, Evidence) == 0


def test_a_peer_rating_is_not_stored_when_its_event_is_not(
    client, world, setup, app, engagement_down
):
    project, _ = setup
    response = client.put(
        world.url(f"/{project['id']}/peer-ratings/{world.student_ids[1]}"),
        json={"ratings": TOP},
        headers=world.students[0],
    )
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert _count(app, PeerEvaluation) == 0


def test_with_the_database_up_both_are_stored(client, world, setup, app):
    project, red = setup
    note = {"kind": "note", "title": "Plan", "note": "Truss, 12 members."}
    added = client.post(
        world.url(f"/{project['id']}/evidence"), json=note, headers=world.students[0]
    )
    assert added.status_code == 201
    rated = client.put(
        world.url(f"/{project['id']}/peer-ratings/{world.student_ids[1]}"),
        json={"ratings": TOP},
        headers=world.students[0],
    )
    assert rated.status_code == 200
    from masteryai_lti.engagement.models import EngagementEvent

    with app.app_context():
        events = db.session.execute(
            select(EngagementEvent.user_id, EngagementEvent.kind).where(
                EngagementEvent.source == "pbl"
            )
        ).all()
    ada, bea = world.student_ids[:2]
    assert sorted(events) == sorted(
        [(ada, "submission"), (bea, "submission"), (ada, "interaction"), (ada, "interaction")]
    )
