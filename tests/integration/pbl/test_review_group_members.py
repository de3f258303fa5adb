"""Checking a group's members costs the same whatever the list holds.

Each listed id used to be checked with a query of its own, and the size limit was
applied only after all of them: a list of a thousand ids cost a thousand queries (and
a thousand errors) before being refused for its length.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from masteryai_lti.extensions import db
from masteryai_lti.pbl.service.groups import MAX_GROUP_SIZE
from tests.integration.pbl.world import PROBLEM, create_project


@contextmanager
def counted(app):
    """The queries (SELECT statements) run inside the block; writes are left out, as
    SQLite inserts rows one statement each where PostgreSQL takes them in one."""
    statements = []
    with app.app_context():
        engine = db.engine

    def count(_connection, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_too_many_members_are_refused_at_once_without_checking_each(client, world, app):
    project = create_project(client, world, status="open")
    with counted(app) as statements:
        response = client.post(
            world.url(f"/{project['id']}/groups"),
            json={"name": "Everyone", "member_ids": list(range(1, 1001))},
            headers=world.teacher,
        )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["errors"] == [
        {"path": "member_ids", "location": "json", "message": f"At most {MAX_GROUP_SIZE} members."}
    ]
    assert len(statements) < 20


def test_placing_four_students_costs_what_placing_one_does(client, world, app):
    project = create_project(client, world, status="open")
    ada, bea, cal, dee = world.student_ids
    costs = []
    for name, members in (
        ("Solo", [ada]),
        ("Four", [bea, cal, dee, world.other_course_student_id]),
    ):
        with counted(app) as statements:
            response = client.post(
                world.url(f"/{project['id']}/groups"),
                json={"name": name, "member_ids": members},
                headers=world.teacher,
            )
        costs.append(len(statements))
        if name == "Solo":
            assert response.status_code == 201
        else:
            # Three students and one of another course: refused, naming the outsider.
            assert response.status_code == 422
            assert [e["path"] for e in response.get_json()["errors"]] == ["member_ids[3]"]
    with counted(app) as statements:
        response = client.post(
            world.url(f"/{project['id']}/groups"),
            json={"name": "Three", "member_ids": [bea, cal, dee]},
            headers=world.teacher,
        )
    assert response.status_code == 201
    assert len(statements) == costs[0]
