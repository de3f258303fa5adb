"""Reopening a project whose scores were released withdraws the release.

Scores are released from a closed project only, because while it is open a peer
rating moves them. A released project that is reopened used to stay "released":
students saw their score change live as teammates rated them, so a student could read
how one teammate rated them from the change, and saw a score other than the one in
the gradebook.
"""

from __future__ import annotations

from tests.integration.pbl.world import TOP, create_group, create_project

WEAK = {"communication": 1, "collaboration": 1, "problem_solving": 1}


def _own_scores(client, world, project, student_index) -> dict:
    response = client.get(
        world.url(f"/{project['id']}/scores"), headers=world.students[student_index]
    )
    assert response.status_code == 200
    return response.get_json()


def test_a_reopened_project_hides_scores_until_released_again(client, world):
    ada, bea, cal, _ = world.student_ids
    project = create_project(client, world, status="open")
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": TOP},
        headers=world.teacher,
    )
    url = world.url(f"/{project['id']}")
    client.patch(url, json={"status": "closed"}, headers=world.teacher)
    assert client.post(f"{url}/scores/release", headers=world.teacher).status_code == 200
    assert _own_scores(client, world, project, 0)["released"] is True

    reopened = client.patch(url, json={"status": "open"}, headers=world.teacher)
    assert reopened.status_code == 200
    assert reopened.get_json()["scores_released_at"] is None
    # Bea rates Ada low: Ada must not watch her score move with it.
    rated = client.put(
        world.url(f"/{project['id']}/peer-ratings/{ada}"),
        json={"ratings": WEAK},
        headers=world.students[1],
    )
    assert rated.status_code == 200
    seen = _own_scores(client, world, project, 0)
    assert seen["released"] is False and seen["groups"] == []
    teacher_view = client.get(f"{url}/scores", headers=world.teacher).get_json()
    assert teacher_view["released"] is False

    client.patch(url, json={"status": "closed"}, headers=world.teacher)
    assert client.post(f"{url}/scores/release", headers=world.teacher).status_code == 200
    again = _own_scores(client, world, project, 0)
    assert again["released"] is True
    assert [m["student_id"] for m in again["groups"][0]["members"]] == [ada]


def test_a_closed_project_edited_otherwise_stays_released(client, world):
    project = create_project(client, world, status="closed")
    url = world.url(f"/{project['id']}")
    assert client.post(f"{url}/scores/release", headers=world.teacher).status_code == 200
    changed = client.patch(
        url, json={"title": "Bridge, final", "status": "closed"}, headers=world.teacher
    )
    assert changed.status_code == 200
    assert changed.get_json()["scores_released_at"] is not None
