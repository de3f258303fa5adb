"""Two students take a group's last place at the same moment (PostgreSQL).

Each counts the group's room before writing; the unique key stops a student being in
two groups but not a group going over its size. Joining takes the project's row
exclusively, so the second counts after the first is in, and is told the group is full.
"""

from __future__ import annotations

from sqlalchemy import func, select

from masteryai_lti.pbl.service import sign_up
from tests.concurrency import first_held_then_second
from tests.integration.pbl.world import PROBLEM, create_group, create_project


def test_two_students_taking_the_last_place_at_once_one_gets_it(
    app, client, monkeypatch, postgres_world
):
    from masteryai_lti.extensions import db
    from masteryai_lti.pbl.models import GroupMember

    world = postgres_world
    project = create_project(client, world, status="open", group_sign_up=True, max_group_size=2)
    red = create_group(client, world, project["id"], "Red", [world.student_ids[0]])
    url = world.url(f"/{project['id']}/groups/{red['id']}/join")

    first, second = first_held_then_second(
        app,
        monkeypatch,
        sign_up,
        "check_room",
        lambda client: client.post(url, headers=world.students[1]),
        lambda client: client.post(url, headers=world.students[2]),
    )

    assert first.status_code == 200, first.get_json()
    assert second.status_code == 409 and second.mimetype == PROBLEM
    assert second.get_json()["errors"][0]["path"] == "group_id"
    with app.app_context():
        members = db.session.scalar(
            select(func.count()).select_from(GroupMember).where(GroupMember.group_id == red["id"])
        )
    assert members == 2
