"""A teacher releases a project's scores while a co-teacher reopens it (PostgreSQL).

Releasing checks that the project is closed, computes the scores, then marks them
released; reopening withdraws a release. Interleaved, the reopening used to land in
between: the project ended open *and* released, its students watching their scores
move with every rating again.
"""

from __future__ import annotations

import threading

import pytest

from masteryai_lti.pbl.service import scores
from tests.integration.pbl.world import TOP, build_world, create_group, create_project

HEAD_START_S = 2.0


@pytest.fixture
def world(app):
    from masteryai_lti.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    return build_world(app)


def test_a_release_and_a_reopening_at_once_never_leave_an_open_project_released(
    app, client, monkeypatch, world
):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": TOP},
        headers=world.teacher,
    )
    url = world.url(f"/{project['id']}")
    client.patch(url, json={"status": "closed"}, headers=world.teacher)
    checked, second_done = threading.Event(), threading.Event()
    compute = scores.project_scores

    def held_after_the_check(*args):
        found = compute(*args)
        if threading.current_thread().name == "release" and not checked.is_set():
            checked.set()
            second_done.wait(HEAD_START_S)
        return found

    monkeypatch.setattr(scores, "project_scores", held_after_the_check)
    answers = {}

    def release():
        answers["release"] = app.test_client().post(f"{url}/scores/release", headers=world.teacher)

    def reopen():
        answers["reopen"] = app.test_client().patch(
            url, json={"status": "open"}, headers=world.co_teacher
        )
        second_done.set()

    one = threading.Thread(target=release, name="release")
    one.start()
    assert checked.wait(30)
    two = threading.Thread(target=reopen, name="reopen")
    two.start()
    one.join(60)
    two.join(60)

    assert answers["release"].status_code == 200
    assert answers["reopen"].status_code == 200
    now = client.get(url, headers=world.teacher).get_json()
    assert now["status"] == "open" and now["scores_released_at"] is None
    seen = client.get(f"{url}/scores", headers=world.students[0]).get_json()
    assert seen["released"] is False and seen["groups"] == []
