"""A teacher changes a group's members while a co-teacher closes the project and releases
(PostgreSQL).

Changing members checks that the project is not closed, then writes. Interleaved without
the project's row lock, the closing and the release would land in between: a student
added to a group of a closed project after its scores were released, with none of their
own.
"""

from __future__ import annotations

from masteryai_lti.pbl.service import access
from tests.concurrency import first_held_then_second
from tests.integration.pbl.world import TOP, create_group, create_project


def test_members_checked_against_an_open_project_never_land_after_its_release(
    app, client, monkeypatch, postgres_world
):
    world = postgres_world
    ada, bea, cal, _ = world.student_ids
    project = create_project(client, world, status="open")
    url = world.url(f"/{project['id']}")
    red = create_group(client, world, project["id"], "Red", [ada, bea])
    evaluated = client.put(
        f"{url}/groups/{red['id']}/evaluation", json={"ratings": TOP}, headers=world.teacher
    )
    assert evaluated.status_code == 200

    def close_and_release(client):
        closed = client.patch(url, json={"status": "closed"}, headers=world.co_teacher)
        assert closed.status_code == 200
        return client.post(f"{url}/scores/release", headers=world.co_teacher)

    changed, released = first_held_then_second(
        app,
        monkeypatch,
        access,
        "group",
        lambda client: client.patch(
            f"{url}/groups/{red['id']}", json={"member_ids": [ada, bea, cal]}, headers=world.teacher
        ),
        close_and_release,
    )

    # The change came first (the closing waited for it): Cal is released with Red.
    assert changed.status_code == 200, changed.get_json()
    assert released.status_code == 200
    assert sorted(s["student_id"] for s in released.get_json()) == sorted([ada, bea, cal])
