"""A concept graph shared by courses: its owning course's teachers (and admins) change it
and read its answers; a teacher whose course only uses it reads the graph, nothing more."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from masteryai_lti.extensions import db
from masteryai_lti.mastery.models import Concept, ConceptMap, Item
from tests.factories import make_enrollment
from tests.integration.mastery.world import build_world, seed_graph, seed_items


@pytest.fixture
def world(app, client):
    w = build_world(app)
    seed_graph(client, w)
    w.items = seed_items(client, w, per_concept=2)
    maps = client.get("/api/v1/concept-graphs", headers=w.other_teacher).get_json()
    assert len(maps) == 1
    w.map_id = maps[0]["id"]
    used = client.post(
        f"/api/v1/courses/{w.other_course_id}/concept-graph/use",
        json={"concept_map_id": w.map_id},
        headers=w.other_teacher,
    )
    assert used.status_code == 200
    return w


def _sizes(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Concept)),
            db.session.scalar(select(func.count()).select_from(Item)),
        )


def test_a_teacher_using_anothers_graph_reads_it_but_cannot_change_it(client, app, world):
    other = f"/api/v1/courses/{world.other_course_id}"
    graph = client.get(f"{other}/concept-graph", headers=world.other_teacher)
    assert graph.status_code == 200
    assert len(graph.get_json()["concepts"]) == 4
    before = _sizes(app)
    item_id = world.items["add"][0]
    item = {
        "key": "x",
        "kind": "numeric",
        "prompt": "?",
        "concepts": ["add"],
        "answer": {"value": 1},
    }
    attempts = [
        client.put(f"{other}/concepts/add", json={"name": "Hijacked"}, headers=world.other_teacher),
        client.put(f"{other}/concepts/new", json={"name": "New"}, headers=world.other_teacher),
        client.put(
            f"{other}/concepts/frac/prerequisites",
            json={"prerequisites": []},
            headers=world.other_teacher,
        ),
        client.delete(f"{other}/concepts/geo", headers=world.other_teacher),
        client.put(
            f"{other}/concept-graph",
            json={"document": {"concepts": []}, "replace": True},
            headers=world.other_teacher,
        ),
        client.post(f"{other}/items", json=item, headers=world.other_teacher),
        client.patch(
            f"{other}/items/{item_id}", json={"prompt": "changed"}, headers=world.other_teacher
        ),
        client.delete(f"{other}/items/{item_id}", headers=world.other_teacher),
        client.post(
            f"{other}/items/import",
            json={"document": {"items": [item]}},
            headers=world.other_teacher,
        ),
        client.post(
            f"{other}/activity-mappings",
            json={"activity_id": "https://h5p.example/1", "concept_keys": ["add"]},
            headers=world.other_teacher,
        ),
        # The item bank holds the answers: not for teachers of courses that only use it.
        client.get(f"{other}/items", headers=world.other_teacher),
        client.get(f"{other}/items/{item_id}", headers=world.other_teacher),
        client.get(f"{other}/items/export", headers=world.other_teacher),
    ]
    for response in attempts:
        assert response.status_code == 403, (response.request.path, response.get_json())
        assert response.content_type == "application/problem+json"
        assert "owning course" in response.get_json()["detail"]
    assert _sizes(app) == before
    with app.app_context():
        names = set(db.session.scalars(select(Concept.name)))
    assert "Hijacked" not in names


def test_the_owning_course_and_admins_still_manage_it(client, world):
    own = f"/api/v1/courses/{world.course_id}"
    renamed = client.put(f"{own}/concepts/add", json={"name": "Sums"}, headers=world.teacher)
    assert renamed.status_code == 200
    assert client.get(f"{own}/items", headers=world.teacher).status_code == 200
    other = f"/api/v1/courses/{world.other_course_id}"
    by_admin = client.put(f"{other}/concepts/add", json={"name": "Addition"}, headers=world.admin)
    assert by_admin.status_code == 200
    assert client.get(f"{other}/items", headers=world.admin).status_code == 200


def test_the_using_course_still_practises_on_the_shared_graph(client, app, world):
    with app.app_context():
        from masteryai_lti.courses.models import Course
        from masteryai_lti.identity.models import User

        make_enrollment(
            db.session.get(Course, world.other_course_id), db.session.get(User, world.classmate_id)
        )
    made = client.post(
        f"/api/v1/courses/{world.other_course_id}/assignments/generate",
        json={"length": 2, "student_ids": [world.classmate_id]},
        headers=world.other_teacher,
    )
    assert made.status_code == 201, made.get_json()
    assert len(made.get_json()) == 1


def test_a_new_graph_belongs_to_the_course_it_was_made_for(app, world):
    with app.app_context():
        concept_map = db.session.get(ConceptMap, world.map_id)
        assert concept_map.owner_course_id == world.course_id


def test_the_graph_says_whether_it_is_shared_and_whether_the_reader_may_change_it(client, world):
    """What a client (the topic editor) needs before offering any edit."""

    def said(course_id, headers):
        body = client.get(f"/api/v1/courses/{course_id}/concept-graph", headers=headers)
        assert body.status_code == 200, body.get_json()
        return body.get_json()["shared"], body.get_json()["editable"]

    assert said(world.course_id, world.teacher) == (False, True)
    assert said(world.course_id, world.student) == (False, False)
    assert said(world.other_course_id, world.other_teacher) == (True, False)
    assert said(world.other_course_id, world.admin) == (True, True)
    # The import answers in the same shape.
    imported = client.put(
        f"/api/v1/courses/{world.course_id}/concept-graph",
        json={"document": {"concepts": [{"key": "neg", "name": "Negatives"}]}},
        headers=world.teacher,
    ).get_json()
    assert (imported["shared"], imported["editable"]) == (False, True)
    assert "neg" in {c["key"] for c in imported["concepts"]}
