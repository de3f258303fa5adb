"""A teacher releases a project's scores while a co-teacher reopens it (PostgreSQL).

Releasing checks that the project is closed, computes the scores, then marks them
released; reopening withdraws a release. Interleaved, the reopening used to land in
between: the project ended open *and* released, its students watching their scores
move with every rating again.
"""

from __future__ import annotations

from masteryai_lti.pbl.service import scores
from tests.concurrency import first_held_then_second
from tests.integration.pbl.world import TOP, create_group, create_project


def test_a_release_and_a_reopening_at_once_never_leave_an_open_project_released(
    app, client, monkeypatch, postgres_world
):
    world = postgres_world
    project = create_project(client, world, status="open")
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": TOP},
        headers=world.teacher,
    )
    url = world.url(f"/{project['id']}")
    client.patch(url, json={"status": "closed"}, headers=world.teacher)
    release, reopen = first_held_then_second(
        app,
        monkeypatch,
        scores,
        "_results",
        lambda client: client.post(f"{url}/scores/release", headers=world.teacher),
        lambda client: client.patch(url, json={"status": "open"}, headers=world.co_teacher),
    )

    assert release.status_code == 200
    assert reopen.status_code == 200
    now = client.get(url, headers=world.teacher).get_json()
    assert now["status"] == "open" and now["scores_released_at"] is None
    seen = client.get(f"{url}/scores", headers=world.students[0]).get_json()
    assert seen["released"] is False and seen["groups"] == []
