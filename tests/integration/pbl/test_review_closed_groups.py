"""Who is in a closed project's groups stays as it was when the project closed.

Closing a project freezes the peer ratings behind its scores (students can no longer
rate). Changing a group's members afterwards would still move them: a member who
leaves takes the ratings they gave and received along, and a member who joins could
never rate anyone, so would lose the non-rating penalty for it.
"""

from __future__ import annotations

import pytest

from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project

WEAK = {"communication": 1, "collaboration": 1, "problem_solving": 1}


@pytest.fixture
def released(client, world):
    """Red (Ada, Bea, Cal) rated one another, was evaluated, closed and released."""
    project = create_project(client, world, status="open", non_submission_penalty=0.2)
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    for index, rater in enumerate((ada, bea, cal)):
        for ratee in {ada, bea, cal} - {rater}:
            response = client.put(
                world.url(f"/{project['id']}/peer-ratings/{ratee}"),
                json={"ratings": WEAK if ratee == cal else TOP},
                headers=world.students[index],
            )
            assert response.status_code == 200, response.get_json()
    client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": TOP},
        headers=world.teacher,
    )
    closed = client.patch(
        world.url(f"/{project['id']}"), json={"status": "closed"}, headers=world.teacher
    )
    assert closed.status_code == 200
    release = client.post(world.url(f"/{project['id']}/scores/release"), headers=world.teacher)
    assert release.status_code == 200
    return project, red


def _scores(client, world, project) -> dict[int, float]:
    body = client.get(world.url(f"/{project['id']}/scores"), headers=world.teacher).get_json()
    return {m["student_id"]: m["score"] for g in body["groups"] for m in g["members"]}


def test_members_of_a_closed_project_s_group_cannot_change(client, world, released):
    project, red = released
    ada, bea, cal, dee = world.student_ids
    before = _scores(client, world, project)
    url = world.url(f"/{project['id']}/groups/{red['id']}")
    for members in ([ada, bea], [ada, bea, cal, dee]):
        response = client.patch(url, json={"member_ids": members}, headers=world.teacher)
        assert response.status_code == 409 and response.mimetype == PROBLEM
        body = response.get_json()
        assert "reopen" in body["detail"].lower()
        assert [e["path"] for e in body["errors"]] == ["member_ids"]
    # Nothing moved: the released scores are the scores.
    assert _scores(client, world, project) == before
    group = client.get(url, headers=world.teacher).get_json()
    assert [m["user_id"] for m in group["members"]] == [ada, bea, cal]


def test_a_closed_project_s_group_may_be_renamed_and_keeps_its_members(client, world, released):
    project, red = released
    url = world.url(f"/{project['id']}/groups/{red['id']}")
    same = [m["user_id"] for m in red["members"]]
    renamed = client.patch(url, json={"name": "Crimson", "member_ids": same}, headers=world.teacher)
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["name"] == "Crimson"


def test_no_new_group_of_students_in_a_closed_project(client, world, released):
    project, _ = released
    dee = world.student_ids[3]
    response = client.post(
        world.url(f"/{project['id']}/groups"),
        json={"name": "Late", "member_ids": [dee]},
        headers=world.teacher,
    )
    assert response.status_code == 409 and response.mimetype == PROBLEM
    groups = client.get(world.url(f"/{project['id']}/groups"), headers=world.teacher).get_json()
    assert [g["name"] for g in groups] == ["Red"]


def test_reopened_the_groups_change_again(client, world, released):
    project, red = released
    ada, bea, _, dee = world.student_ids
    reopened = client.patch(
        world.url(f"/{project['id']}"), json={"status": "open"}, headers=world.teacher
    )
    assert reopened.status_code == 200
    moved = client.patch(
        world.url(f"/{project['id']}/groups/{red['id']}"),
        json={"member_ids": [ada, bea, dee]},
        headers=world.teacher,
    )
    assert moved.status_code == 200, moved.get_json()
