"""A rubric in use takes a change of wording (a typo found once students read it) but
nothing that would re-score the work and ratings already given."""

from __future__ import annotations

import copy

import pytest

from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project


@pytest.fixture
def marked(client, world):
    """An open project whose group the teacher evaluated and one member rated."""
    project = create_project(client, world, status="open")
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    evaluated = client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": {**TOP, "collaboration": 2}},
        headers=world.teacher,
    )
    rated = client.put(
        world.url(f"/{project['id']}/peer-ratings/{world.student_ids[1]}"),
        json={"ratings": TOP},
        headers=world.students[0],
    )
    assert evaluated.status_code == 200 and rated.status_code == 200
    return project


def _scores(client, world, project) -> dict:
    response = client.get(world.url(f"/{project['id']}/scores"), headers=world.teacher)
    assert response.status_code == 200
    return response.get_json()


def _points(group: dict) -> dict:
    return {c["key"]: c["points"] for c in group["group_score"]["criteria"]}


def _patch(client, world, project, rubric):
    return client.patch(
        world.url(f"/{project['id']}"), json={"rubric": rubric}, headers=world.teacher
    )


def test_wording_changes_and_the_scores_stay(client, world, marked):
    before = _scores(client, world, marked)
    reworded = copy.deepcopy(marked["rubric"])
    reworded["criteria"][0]["name"] = "Communicating"
    reworded["criteria"][1]["levels"][0]["description"] = "Rarely joins in."
    reworded["criteria"].reverse()

    response = _patch(client, world, marked, reworded)

    assert response.status_code == 200, response.get_json()
    stored = client.get(world.url(f"/{marked['id']}"), headers=world.teacher).get_json()["rubric"]
    names = {c["key"]: c["name"] for c in stored["criteria"]}
    assert names["communication"] == "Communicating"
    collaboration = next(c for c in stored["criteria"] if c["key"] == "collaboration")
    assert collaboration["levels"][0]["description"] == "Rarely joins in."
    after = _scores(client, world, marked)
    # The same score from the same points; only the criteria's order follows the rubric.
    assert [g["group_score"]["score"] for g in after["groups"]] == [
        g["group_score"]["score"] for g in before["groups"]
    ]
    assert [_points(g) for g in after["groups"]] == [_points(g) for g in before["groups"]]
    assert [[m["score"] for m in g["members"]] for g in after["groups"]] == [
        [m["score"] for m in g["members"]] for g in before["groups"]
    ]


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r["criteria"][0]["levels"][-1].update(points=5),
        lambda r: r["criteria"][1].update(weight=3),
        lambda r: r["criteria"].pop(),
    ],
    ids=["points", "weight", "criterion"],
)
def test_what_scores_still_cannot_change(client, world, marked, edit):
    changed = copy.deepcopy(marked["rubric"])
    changed["criteria"][0]["name"] = "Communicating"
    edit(changed)

    response = _patch(client, world, marked, changed)

    assert response.status_code == 409 and response.mimetype == PROBLEM
    body = response.get_json()
    assert "except in wording" in body["detail"]
    assert body["errors"][0]["path"] == "rubric"
    stored = client.get(world.url(f"/{marked['id']}"), headers=world.teacher).get_json()["rubric"]
    assert stored == marked["rubric"]
