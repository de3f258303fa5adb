"""What a teacher does for a whole class costs the same number of SQL statements for a
class of 3 as for a class of 12 (no per-student queries), and gives each student what
doing it for that student alone gives."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import Institution, User
from masteryai_lti.mastery.models import AttemptConcept, Concept, MasteryState
from tests.factories import bearer, make_enrollment, make_user
from tests.integration.mastery.world import build_world, seed_graph, seed_items
from tests.sql_statements import SqlStatements


@pytest.fixture
def world(app, client):
    w = build_world(app)
    seed_graph(client, w)
    w.items = seed_items(client, w, per_concept=3)
    w.students = [w.student, w.classmate]
    return w


def grow_class(app, client, world, size: int) -> None:
    """Enrol students until the course has ``size``, each answering a few items."""
    with app.app_context():
        course = db.session.get(Course, world.course_id)
        school = db.session.get(Institution, course.institution_id)
        while len(world.students) < size:
            n = len(world.students)
            user = make_user(school, role="student", full_name=f"Student {n:02d}")
            make_enrollment(course, user)
            world.students.append(bearer(user))
    for n, headers in enumerate(world.students):
        for concept, index in (("add", n % 3), ("geo", (n + 1) % 3)):
            response = client.post(
                f"/api/v1/courses/{world.course_id}/attempts",
                json={"item_id": world.items[concept][index], "response": {"value": index}},
                headers=headers,
            )
            assert response.status_code == 201, response.get_json()


def generate(client, world, **body):
    response = client.post(
        f"/api/v1/courses/{world.course_id}/assignments/generate",
        json={"length": 4, "title": "Week", **body},
        headers=world.teacher,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def picks(client, world, assignment_id):
    response = client.get(
        f"/api/v1/courses/{world.course_id}/assignments/{assignment_id}", headers=world.teacher
    )
    return [(p["item_id"], p["pick"], p["reason"]) for p in response.get_json()["items"]]


def test_generating_for_the_class_reads_the_bank_once(app, client, world):
    grow_class(app, client, world, 3)
    with SqlStatements(app) as small:
        assert len(generate(client, world)) == 3
    grow_class(app, client, world, 12)
    with SqlStatements(app) as large:
        made = generate(client, world)
    assert len(made) == 12
    assert large.reads == small.reads
    if large.engine.dialect.name == "postgresql":
        # Writes too: PostgreSQL takes the new rows in batched INSERT ... RETURNING.
        # SQLite gets the ORM's inserts one by one (in-process, microseconds each).
        assert large.count == small.count


def test_each_students_assignment_is_the_one_made_for_them_alone(app, client, world):
    grow_class(app, client, world, 5)
    together = {a["user_id"]: a["id"] for a in generate(client, world)}
    for user_id, assignment_id in together.items():
        (alone,) = generate(client, world, student_ids=[user_id])
        # Made at another moment, so compare what was picked and why, not the mastery.
        assert [p[:2] for p in picks(client, world, alone["id"])] == [
            p[:2] for p in picks(client, world, assignment_id)
        ]


def test_copying_the_graph_costs_the_same_for_a_bigger_class(app, client, world):
    """The copy carries snapshots and evidence in the database, not row by row."""
    map_id = client.get("/api/v1/concept-graphs", headers=world.teacher).get_json()[0]["id"]

    def use_and_copy(course_id, headers) -> SqlStatements:
        used = client.post(
            f"/api/v1/courses/{course_id}/concept-graph/use",
            json={"concept_map_id": map_id},
            headers=headers,
        )
        assert used.status_code == 200
        with SqlStatements(app) as counted:
            copied = client.post(
                f"/api/v1/courses/{course_id}/concept-graph/copy", json={}, headers=headers
            )
        assert copied.status_code == 201, copied.get_json()
        return counted

    # The other course: 3 of the practising students enrolled; then 12.
    grow_class(app, client, world, 12)
    with app.app_context():
        other = db.session.get(Course, world.other_course_id)
        students = list(
            db.session.scalars(
                select(User).where(User.full_name.like("Student %")).order_by(User.id)
            )
        )
        for user in students[:3]:
            make_enrollment(other, user)
        small_ids = [u.id for u in students[:3]]
    small = use_and_copy(world.other_course_id, world.other_teacher)
    with app.app_context():
        other = db.session.get(Course, world.other_course_id)
        own_map = db.session.scalar(
            select(Concept.concept_map_id).where(Concept.concept_map_id != map_id).limit(1)
        )

        # Every snapshot of the enrolled students has its copy, and only theirs.
        def snapshots(concept_map_id):
            return db.session.scalar(
                select(func.count())
                .select_from(MasteryState)
                .join(Concept, Concept.id == MasteryState.concept_id)
                .where(Concept.concept_map_id == concept_map_id)
            )

        shared = db.session.scalar(
            select(func.count())
            .select_from(MasteryState)
            .join(Concept, Concept.id == MasteryState.concept_id)
            .where(Concept.concept_map_id == map_id, MasteryState.user_id.in_(small_ids))
        )
        assert snapshots(own_map) == shared == 2 * 3
        copied_trail = db.session.scalar(
            select(func.count())
            .select_from(AttemptConcept)
            .join(Concept, Concept.id == AttemptConcept.concept_id)
            .where(Concept.concept_map_id == own_map)
        )
        assert copied_trail == 2 * 3
        assert all(
            s.updated_at is not None
            for s in db.session.scalars(
                select(MasteryState)
                .join(Concept, Concept.id == MasteryState.concept_id)
                .where(Concept.concept_map_id == own_map)
            )
        )
        for user in students[3:]:
            make_enrollment(other, user)
    # Back to the shared graph with all 12 enrolled, and copy again.
    large = use_and_copy(world.other_course_id, world.other_teacher)
    assert large.count == small.count
