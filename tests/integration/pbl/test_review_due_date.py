"""A due date that is no instant of years 1-9999 once in UTC is a 422 at due_at.

Such a date is valid ISO 8601 with an offset (the first minutes of year 1 at +14:00,
the last of year 9999 at -12:00), so the schema took it; converting it to UTC for the
database then overflowed (a 500).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from masteryai_lti.extensions import db
from masteryai_lti.pbl.models import Project
from tests.integration.pbl.world import PROBLEM, create_project

OUT_OF_RANGE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]


def _refused(response):
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["errors"] == [
        {"path": "due_at", "location": "json", "message": "Falls outside years 1-9999 in UTC."}
    ]


@pytest.mark.parametrize("due", OUT_OF_RANGE)
@pytest.mark.parametrize("status", ["draft", "open"])
def test_creating_a_project_due_outside_the_calendar_is_refused(client, world, app, due, status):
    response = client.post(
        world.url(),
        json={"title": "Bridge", "status": status, "due_at": due},
        headers=world.teacher,
    )
    _refused(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Project)) == 0


@pytest.mark.parametrize("due", OUT_OF_RANGE)
def test_moving_a_project_s_due_date_outside_the_calendar_is_refused(client, world, due):
    project = create_project(client, world, status="open", due_at="2026-12-20T17:00:00Z")
    url = world.url(f"/{project['id']}")
    _refused(client.patch(url, json={"due_at": due, "title": "Moved"}, headers=world.teacher))
    now = client.get(url, headers=world.teacher).get_json()
    assert now["title"] == "Build a bridge" and now["due_at"].startswith("2026-12-20T17:00")


def test_the_last_instant_that_fits_is_taken(client, world):
    project = create_project(client, world, due_at="9999-12-31T23:59:59+00:00")
    assert project["due_at"].startswith("9999-12-31T23:59:59")
