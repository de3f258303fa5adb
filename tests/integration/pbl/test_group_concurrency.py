"""Two teachers place the same student in two groups at the same moment (PostgreSQL).

Each checks that the student is in no other group before writing; without the unique
key on (project, student) both would pass the check and the student would be in two
groups, with two individual scores in one gradebook column.
"""

from __future__ import annotations

from sqlalchemy import select

from masteryai_lti.pbl.service import groups
from tests.concurrency import first_held_then_second
from tests.integration.pbl.world import PROBLEM, create_project


def test_a_student_placed_twice_at_once_ends_up_in_one_group(
    app, client, monkeypatch, postgres_world
):
    from masteryai_lti.extensions import db
    from masteryai_lti.pbl.models import GroupMember, ProjectGroup

    world = postgres_world
    project = create_project(client, world, status="open")
    ada = world.student_ids[0]

    def place(group_name, headers):
        return lambda client: client.post(
            world.url(f"/{project['id']}/groups"),
            json={"name": group_name, "member_ids": [ada]},
            headers=headers,
        )

    first, second = first_held_then_second(
        app,
        monkeypatch,
        groups,
        "_checked_members",
        place("Red", world.teacher),
        place("Blue", world.co_teacher),
    )

    assert second.status_code == 201, second.get_json()
    assert first.status_code == 409 and first.mimetype == PROBLEM
    with app.app_context():
        placed = db.session.execute(
            select(ProjectGroup.name).join(GroupMember, GroupMember.group_id == ProjectGroup.id)
        ).all()
        names = db.session.scalars(select(ProjectGroup.name)).all()
    assert placed == [("Blue",)]
    # The losing request left no empty group behind.
    assert names == ["Blue"]
