"""A teacher deletes a group while a co-teacher closes the project and releases (PostgreSQL).

Deleting checks that the project is not closed, then deletes. Interleaved without the
project's row lock, the closing and the release would land in between: scores released
for members of a group deleted a moment later, from a closed project.
"""

from __future__ import annotations

from masteryai_lti.pbl.service import access
from tests.concurrency import first_held_then_second
from tests.integration.pbl.world import TOP, create_group, create_project


def test_a_deletion_checked_against_an_open_project_never_lands_after_its_release(
    app, client, monkeypatch, postgres_world
):
    world = postgres_world
    ada, bea, cal, dee = world.student_ids
    project = create_project(client, world, status="open")
    url = world.url(f"/{project['id']}")
    red = create_group(client, world, project["id"], "Red", [ada, bea])
    blue = create_group(client, world, project["id"], "Blue", [cal, dee])
    for group in (red, blue):
        evaluated = client.put(
            f"{url}/groups/{group['id']}/evaluation", json={"ratings": TOP}, headers=world.teacher
        )
        assert evaluated.status_code == 200

    def close_and_release(client):
        closed = client.patch(url, json={"status": "closed"}, headers=world.co_teacher)
        assert closed.status_code == 200
        return client.post(f"{url}/scores/release", headers=world.co_teacher)

    deleted, released = first_held_then_second(
        app,
        monkeypatch,
        access,
        "group",
        lambda client: client.delete(f"{url}/groups/{red['id']}", headers=world.teacher),
        close_and_release,
    )

    # The deletion came first (the closing waited for it): the release has Blue alone.
    assert deleted.status_code == 204
    assert released.status_code == 200
    assert sorted(s["student_id"] for s in released.get_json()) == [cal, dee]
    groups = client.get(f"{url}/groups", headers=world.teacher).get_json()
    assert [g["name"] for g in groups] == ["Blue"]
