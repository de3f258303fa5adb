"""A closed project's group with members is not deleted: its members' scores, perhaps
already released to the gradebook, would go with it. The teacher reopens first, as for
changing its members (test_review_closed_groups)."""

from __future__ import annotations

import pytest

from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project


@pytest.fixture
def released(client, world):
    """Red (Ada, Bea) rated each other, was evaluated, closed and released; Blue is empty."""
    project = create_project(client, world, status="open")
    ada, bea, _, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea])
    blue = create_group(client, world, project["id"], "Blue", [])
    for index, ratee in ((0, bea), (1, ada)):
        rated = client.put(
            world.url(f"/{project['id']}/peer-ratings/{ratee}"),
            json={"ratings": TOP},
            headers=world.students[index],
        )
        assert rated.status_code == 200, rated.get_json()
    evaluated = client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": TOP},
        headers=world.teacher,
    )
    assert evaluated.status_code == 200
    closed = client.patch(
        world.url(f"/{project['id']}"), json={"status": "closed"}, headers=world.teacher
    )
    assert closed.status_code == 200
    release = client.post(world.url(f"/{project['id']}/scores/release"), headers=world.teacher)
    assert release.status_code == 200
    return project, red, blue


def _scores(client, world, project) -> dict[int, float]:
    body = client.get(world.url(f"/{project['id']}/scores"), headers=world.teacher).get_json()
    return {m["student_id"]: m["score"] for g in body["groups"] for m in g["members"]}


def test_a_closed_project_s_group_with_members_is_not_deleted(client, world, released):
    project, red, _ = released
    before = _scores(client, world, project)
    assert set(before) == set(world.student_ids[:2]) and None not in before.values()

    for who in (world.teacher, world.admin):
        response = client.delete(world.url(f"/{project['id']}/groups/{red['id']}"), headers=who)
        assert response.status_code == 409 and response.mimetype == PROBLEM
        body = response.get_json()
        assert "reopen" in body["detail"].lower()
        assert body["errors"] == [
            {
                "path": "group_id",
                "location": "path",
                "message": "The project is closed and the group has members.",
            }
        ]

    # Nothing went: the group, its members, its evaluation, its ratings, the scores.
    group = client.get(world.url(f"/{project['id']}/groups/{red['id']}"), headers=world.teacher)
    assert group.status_code == 200
    assert [m["user_id"] for m in group.get_json()["members"]] == world.student_ids[:2]
    evaluations = client.get(world.url(f"/{project['id']}/evaluations"), headers=world.teacher)
    assert [e["group_id"] for e in evaluations.get_json()] == [red["id"]]
    ratings = client.get(world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher)
    assert len(ratings.get_json()) == 2
    assert _scores(client, world, project) == before
    mine = client.get(world.url(f"/{project['id']}/scores"), headers=world.students[0])
    assert mine.get_json()["groups"][0]["members"][0]["score"] == before[world.student_ids[0]]


def test_a_closed_project_s_empty_group_may_go(client, world, released):
    # Nobody's score is in it: deleting it moves nothing, and reopening (which would
    # withdraw the release) is not needed to tidy a group made by mistake.
    project, red, blue = released
    before = _scores(client, world, project)
    response = client.delete(
        world.url(f"/{project['id']}/groups/{blue['id']}"), headers=world.teacher
    )
    assert response.status_code == 204
    groups = client.get(world.url(f"/{project['id']}/groups"), headers=world.teacher).get_json()
    assert [g["id"] for g in groups] == [red["id"]]
    assert _scores(client, world, project) == before


def test_reopened_the_group_is_deleted(client, world, released):
    project, red, _ = released
    reopened = client.patch(
        world.url(f"/{project['id']}"), json={"status": "open"}, headers=world.teacher
    )
    assert reopened.status_code == 200
    response = client.delete(
        world.url(f"/{project['id']}/groups/{red['id']}"), headers=world.teacher
    )
    assert response.status_code == 204
    gone = client.get(world.url(f"/{project['id']}/groups/{red['id']}"), headers=world.teacher)
    assert gone.status_code == 404
    assert (
        client.get(world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher).get_json()
        == []
    )


@pytest.mark.parametrize("status", ["draft", "open"])
def test_a_group_of_a_project_not_closed_is_deleted_with_its_members(client, world, status):
    project = create_project(client, world, status=status)
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    response = client.delete(
        world.url(f"/{project['id']}/groups/{red['id']}"), headers=world.teacher
    )
    assert response.status_code == 204
    scores = client.get(world.url(f"/{project['id']}/scores"), headers=world.teacher).get_json()
    assert scores["groups"] == []
    assert scores["ungrouped_student_ids"] == sorted(world.student_ids)


def test_a_student_still_cannot_delete_a_group(client, world, released):
    project, red, _ = released
    response = client.delete(
        world.url(f"/{project['id']}/groups/{red['id']}"), headers=world.students[0]
    )
    assert response.status_code == 403
