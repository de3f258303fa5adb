"""A teacher changes the rubric while a student's rating is being saved (PostgreSQL).

The rating is checked against the rubric, then written; the rubric change checks that
nobody has rated yet, then writes. Interleaved, both used to pass: the rubric changed
and the rating was stored against the old one, which no longer fits it, and from then
on every read of the project's scores and ratings failed (500) with no way back, since
a rubric that has been rated against can no longer change.
"""

from __future__ import annotations

import pytest

from masteryai_lti.pbl.service import evaluations
from tests.concurrency import first_held_then_second
from tests.integration.pbl.world import (
    PROBLEM,
    TOP,
    create_group,
    create_project,
)

DESIGN = {
    "criteria": [
        {
            "key": "design",
            "name": "Design",
            "levels": [{"points": 0, "label": "No"}, {"points": 2, "label": "Yes"}],
        }
    ]
}


@pytest.mark.parametrize("who", ["student", "teacher"])
def test_a_rating_and_a_rubric_change_at_once_leave_scores_readable(
    app, client, monkeypatch, postgres_world, who
):
    world = postgres_world
    project = create_project(client, world, status="open")
    ada, bea = world.student_ids[:2]
    red = create_group(client, world, project["id"], "Red", [ada, bea])
    if who == "student":
        url, headers = world.url(f"/{project['id']}/peer-ratings/{bea}"), world.students[0]
    else:
        url = world.url(f"/{project['id']}/groups/{red['id']}/evaluation")
        headers = world.co_teacher

    rating, rubric = first_held_then_second(
        app,
        monkeypatch,
        evaluations,
        "_checked_ratings",
        lambda client: client.put(url, json={"ratings": TOP}, headers=headers),
        lambda client: client.patch(
            world.url(f"/{project['id']}"), json={"rubric": DESIGN}, headers=world.teacher
        ),
    )

    assert rating.status_code == 200, rating.get_json()
    assert rubric.status_code == 409 and rubric.mimetype == PROBLEM
    now = client.get(world.url(f"/{project['id']}"), headers=world.teacher).get_json()
    assert now["rubric"] == project["rubric"]
    for path in ("/scores", "/peer-ratings", "/evaluations"):
        response = client.get(world.url(f"/{project['id']}{path}"), headers=world.teacher)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
