"""Ratings that are not numbers are refused at ``ratings.<criterion>``, as every other
problem with a rating is, whichever layer notices.

The evaluation forms place a problem by its path (``ratings.communication``); a
boolean, text or null used to come back at ``ratings.communication.value``.
"""

from __future__ import annotations

import pytest

from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project


@pytest.fixture
def setup(client, world):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    return project, red


@pytest.mark.parametrize("points", [True, "4", None, [4], {"points": 4}])
def test_a_rating_that_is_not_a_number_is_refused_at_its_criterion(client, world, setup, points):
    project, red = setup
    ratings = {**TOP, "communication": points}
    answers = [
        client.put(
            world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
            json={"ratings": ratings},
            headers=world.teacher,
        ),
        client.put(
            world.url(f"/{project['id']}/peer-ratings/{world.student_ids[1]}"),
            json={"ratings": ratings},
            headers=world.students[0],
        ),
    ]
    for response in answers:
        assert response.status_code == 422 and response.mimetype == PROBLEM
        assert response.get_json()["errors"] == [
            {
                "path": "ratings.communication",
                "location": "json",
                "message": "points must be a number",
            }
        ]


def test_every_problem_with_the_ratings_is_listed_at_once(client, world, setup):
    project, red = setup
    response = client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": {"communication": "good", "collaboration": 7, "teamwork": 4}},
        headers=world.teacher,
    )
    assert response.status_code == 422
    assert sorted(e["path"] for e in response.get_json()["errors"]) == [
        "ratings.collaboration",
        "ratings.communication",
        "ratings.problem_solving",
        "ratings.teamwork",
    ]


def test_ratings_are_documented_as_numbers_by_criterion(client):
    spec = client.get("/api/openapi.json").get_json()
    ratings = spec["components"]["schemas"]["RubricRatingsInput"]["properties"]["ratings"]
    assert ratings["type"] == "object"
    assert ratings["additionalProperties"] == {"type": "number"}
