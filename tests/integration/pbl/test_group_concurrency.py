"""Two teachers place the same student in two groups at the same moment (PostgreSQL).

Each checks that the student is in no other group before writing; without the unique
key on (project, student) both would pass the check and the student would be in two
groups, with two individual scores in one gradebook column.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from masteryai_lti.pbl.service import groups
from tests.integration.pbl.world import PROBLEM, build_world, create_project

HEAD_START_S = 2.0


@pytest.fixture
def world(app):
    from masteryai_lti.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    return build_world(app)


def test_a_student_placed_twice_at_once_ends_up_in_one_group(app, client, monkeypatch, world):
    from masteryai_lti.extensions import db
    from masteryai_lti.pbl.models import GroupMember, ProjectGroup

    project = create_project(client, world, status="open")
    ada = world.student_ids[0]
    checked, second_done = threading.Event(), threading.Event()
    check = groups._checked_members

    def held_after_the_check(*args):
        members = check(*args)
        if threading.current_thread().name == "first" and not checked.is_set():
            checked.set()
            second_done.wait(HEAD_START_S)
        return members

    monkeypatch.setattr(groups, "_checked_members", held_after_the_check)
    answers = {}

    def place(name, group_name, headers):
        answers[name] = app.test_client().post(
            world.url(f"/{project['id']}/groups"),
            json={"name": group_name, "member_ids": [ada]},
            headers=headers,
        )
        if name == "second":
            second_done.set()

    one = threading.Thread(target=place, args=("first", "Red", world.teacher), name="first")
    one.start()
    assert checked.wait(30)
    two = threading.Thread(target=place, args=("second", "Blue", world.co_teacher), name="second")
    two.start()
    one.join(60)
    two.join(60)

    assert answers["second"].status_code == 201, answers["second"].get_json()
    assert answers["first"].status_code == 409 and answers["first"].mimetype == PROBLEM
    with app.app_context():
        placed = db.session.execute(
            select(ProjectGroup.name).join(GroupMember, GroupMember.group_id == ProjectGroup.id)
        ).all()
        names = db.session.scalars(select(ProjectGroup.name)).all()
    assert placed == [("Blue",)]
    # The losing request left no empty group behind.
    assert names == ["Blue"]
