"""What typical PBL requests ask the database: the actor's course role once per request
(the access check's answer is passed along, not asked again), and a pinned number of
statements in all, so a change that adds a query to these requests shows here."""

from __future__ import annotations

import pytest

from tests.integration.pbl.world import TOP
from tests.sql_statements import SqlStatements


def _role_lookups(texts: list[str]) -> int:
    return sum(
        " ".join(t.split()).startswith("SELECT enrollments.role FROM enrollments") for t in texts
    )


@pytest.fixture
def project(client, world):
    """An open project with a group of Ada and Bea, whom Ada has rated."""
    created = client.post(
        world.url(), json={"title": "Bridge", "status": "open"}, headers=world.teacher
    )
    assert created.status_code == 201, created.get_json()
    project = created.get_json()
    group = client.post(
        world.url(f"/{project['id']}/groups"),
        json={"name": "Red", "member_ids": world.student_ids[:2]},
        headers=world.teacher,
    )
    assert group.status_code == 201, group.get_json()
    rated = client.put(
        world.url(f"/{project['id']}/peer-ratings/{world.student_ids[1]}"),
        json={"ratings": TOP},
        headers=world.students[0],
    )
    assert rated.status_code == 200, rated.get_json()
    return project


# (who, method, path under the project, body): a student reading their group, a student
# reading their scores, a teacher changing the project.
REQUESTS = {
    "student reads their group": ("student", "get", "/groups", None),
    "student reads their scores": ("student", "get", "/scores", None),
    "teacher renames the project": ("teacher", "patch", "", {"title": "Tower"}),
}
# Statements each sends: token user, course, role, project, then its own work.
EXPECTED = {
    "student reads their group": 8,
    "student reads their scores": 5,
    "teacher renames the project": 8,
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_a_request_asks_the_role_once_and_sends_a_pinned_number_of_statements(
    app, client, world, project, name
):
    who, method, path, body = REQUESTS[name]
    headers = world.students[0] if who == "student" else world.teacher
    url = world.url(f"/{project['id']}{path}")
    with SqlStatements(app) as seen:
        response = getattr(client, method)(url, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert _role_lookups(seen.texts) == 1, seen.texts
    assert seen.count == EXPECTED[name], "\n".join(seen.texts)
