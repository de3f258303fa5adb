"""A teacher changes the rubric while a student's rating is being saved (PostgreSQL).

The rating is checked against the rubric, then written; the rubric change checks that
nobody has rated yet, then writes. Interleaved, both used to pass: the rubric changed
and the rating was stored against the old one, which no longer fits it, and from then
on every read of the project's scores and ratings failed (500) with no way back, since
a rubric that has been rated against can no longer change.
"""

from __future__ import annotations

import threading

import pytest

from masteryai_lti.pbl.service import evaluations
from tests.integration.pbl.world import PROBLEM, TOP, build_world, create_group, create_project

HEAD_START_S = 2.0
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
def world(app):
    from masteryai_lti.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    return build_world(app)


@pytest.mark.parametrize("who", ["student", "teacher"])
def test_a_rating_and_a_rubric_change_at_once_leave_scores_readable(
    app, client, monkeypatch, world, who
):
    project = create_project(client, world, status="open")
    ada, bea = world.student_ids[:2]
    red = create_group(client, world, project["id"], "Red", [ada, bea])
    checked, second_done = threading.Event(), threading.Event()
    check = evaluations._checked_ratings

    def held_after_the_check(*args):
        ratings = check(*args)
        if threading.current_thread().name == "rating" and not checked.is_set():
            checked.set()
            second_done.wait(HEAD_START_S)
        return ratings

    monkeypatch.setattr(evaluations, "_checked_ratings", held_after_the_check)
    answers = {}

    def rate():
        if who == "student":
            url = world.url(f"/{project['id']}/peer-ratings/{bea}")
            headers = world.students[0]
        else:
            url = world.url(f"/{project['id']}/groups/{red['id']}/evaluation")
            headers = world.co_teacher
        answers["rating"] = app.test_client().put(url, json={"ratings": TOP}, headers=headers)

    def change_rubric():
        answers["rubric"] = app.test_client().patch(
            world.url(f"/{project['id']}"), json={"rubric": DESIGN}, headers=world.teacher
        )
        second_done.set()

    one = threading.Thread(target=rate, name="rating")
    one.start()
    assert checked.wait(30)
    two = threading.Thread(target=change_rubric, name="rubric")
    two.start()
    one.join(60)
    two.join(60)

    assert answers["rating"].status_code == 200, answers["rating"].get_json()
    assert answers["rubric"].status_code == 409 and answers["rubric"].mimetype == PROBLEM
    now = client.get(world.url(f"/{project['id']}"), headers=world.teacher).get_json()
    assert now["rubric"] == project["rubric"]
    for path in ("/scores", "/peer-ratings", "/evaluations"):
        response = client.get(world.url(f"/{project['id']}{path}"), headers=world.teacher)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
