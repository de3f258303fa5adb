"""A refused rubric change says what holds it and what the teacher can do about it.

The refusal used to tell the teacher to delete the evaluations first, also when what
held the rubric were the students' peer ratings, which a teacher cannot delete (only the
student who gave one withdraws it).
"""

from __future__ import annotations

import pytest

from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project

DESIGN = {
    "criteria": [
        {
            "key": "design",
            "name": "Design",
            "levels": [{"points": 0, "label": "No"}, {"points": 2, "label": "Yes"}],
        }
    ]
}


@pytest.fixture
def setup(client, world):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    return project, red


def _change(client, world, project):
    response = client.patch(
        world.url(f"/{project['id']}"), json={"rubric": DESIGN}, headers=world.teacher
    )
    assert response.status_code == 409 and response.mimetype == PROBLEM
    return response.get_json()


def test_held_by_peer_ratings_the_teacher_is_told_to_make_a_new_project(client, world, setup):
    project, _ = setup
    rated = client.put(
        world.url(f"/{project['id']}/peer-ratings/{world.student_ids[1]}"),
        json={"ratings": TOP},
        headers=world.students[0],
    )
    assert rated.status_code == 200
    body = _change(client, world, project)
    assert body["detail"].startswith("The rubric cannot change once work has been evaluated")
    assert "delete the evaluations" not in body["detail"]
    assert "new project" in body["detail"]
    assert body["errors"] == [
        {"path": "rubric", "location": "json", "message": "1 peer rating uses it."}
    ]


def test_held_by_evaluations_alone_the_teacher_may_withdraw_them(client, world, setup):
    project, red = setup
    for headers in (world.teacher, world.co_teacher):
        client.put(
            world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
            json={"ratings": TOP},
            headers=headers,
        )
    body = _change(client, world, project)
    assert "withdraw" in body["detail"]
    assert body["errors"] == [
        {"path": "rubric", "location": "json", "message": "2 teacher evaluations use it."}
    ]
