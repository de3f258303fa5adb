"""A course using another course's concept graph makes its own copy and keeps its students.

The copy belongs to the course (its teachers change it); the items come along only for
someone who may already read the shared item bank; students' mastery, the evidence
behind it and the assignments already generated carry over.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import User
from masteryai_lti.mastery import service
from masteryai_lti.mastery.models import Attempt, ConceptMap
from tests.factories import make_enrollment
from tests.integration.mastery.world import PROBLEM, build_world, seed_graph, seed_items

ACTIVITY = "https://h5p.school.example/content/7"


@pytest.fixture
def world(app, client):
    w = build_world(app)
    seed_graph(client, w)
    w.items = seed_items(client, w, per_concept=2)
    mapped = client.post(
        f"/api/v1/courses/{w.course_id}/activity-mappings",
        json={"activity_id": ACTIVITY, "concept_keys": ["mul"], "difficulty_label": "hard"},
        headers=w.teacher,
    )
    assert mapped.status_code == 201, mapped.get_json()
    w.map_id = client.get("/api/v1/concept-graphs", headers=w.other_teacher).get_json()[0]["id"]
    used = client.post(
        f"/api/v1/courses/{w.other_course_id}/concept-graph/use",
        json={"concept_map_id": w.map_id},
        headers=w.other_teacher,
    )
    assert used.status_code == 200
    with app.app_context():
        # Ada is a student of both courses; she practises in the course using the graph.
        make_enrollment(
            db.session.get(Course, w.other_course_id), db.session.get(User, w.student_id)
        )
    return w


def other(world) -> str:
    return f"/api/v1/courses/{world.other_course_id}"


def answer(client, world, item_id, value, key=None):
    response = client.post(
        f"{other(world)}/attempts",
        json={"item_id": item_id, "response": {"value": value}, "attempt_key": key},
        headers=world.student,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def practise(client, world):
    """Ada answers a few of the shared items in the using course."""
    answer(client, world, world.items["add"][0], 0, "a1")
    answer(client, world, world.items["add"][1], 1, "a2")
    answer(client, world, world.items["mul"][0], 5, "m1")
    answer(client, world, world.items["geo"][1], 1, "g1")


def mastery(client, world, course_id, headers=None):
    response = client.get(
        f"/api/v1/courses/{course_id}/mastery/students/{world.student_id}",
        headers=headers or world.student,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["concepts"]


def copy(client, world, headers=None, **body):
    return client.post(
        f"{other(world)}/concept-graph/copy", json=body, headers=headers or world.other_teacher
    )


def map_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ConceptMap))


def test_the_copy_is_the_courses_own_graph_and_the_original_is_untouched(client, app, world):
    made = copy(client, world)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["copied_from_id"] == world.map_id
    assert body["concept_map"]["id"] != world.map_id
    assert body["concepts"] == 4 and body["prerequisites"] == 2
    graph = client.get(f"{other(world)}/concept-graph", headers=world.other_teacher).get_json()
    original = client.get(
        f"/api/v1/courses/{world.course_id}/concept-graph", headers=world.teacher
    ).get_json()
    assert graph["concept_map_id"] == body["concept_map"]["id"]
    assert graph["concepts"] == original["concepts"]
    # Now the course's teacher changes it, and only their copy changes.
    renamed = client.put(
        f"{other(world)}/concepts/add", json={"name": "Sums"}, headers=world.other_teacher
    )
    assert renamed.status_code == 200, renamed.get_json()
    added = client.put(
        f"{other(world)}/concepts/neg",
        json={"name": "Negatives", "prerequisites": ["add"]},
        headers=world.other_teacher,
    )
    assert added.status_code == 200
    after = client.get(
        f"/api/v1/courses/{world.course_id}/concept-graph", headers=world.teacher
    ).get_json()
    assert after["concepts"] == original["concepts"]
    with app.app_context():
        mine = db.session.get(ConceptMap, body["concept_map"]["id"])
        assert mine.owner_course_id == world.other_course_id
        assert db.session.get(ConceptMap, world.map_id).owner_course_id == world.course_id
    # Nothing more to copy once the graph is the course's own.
    again = copy(client, world)
    assert again.status_code == 409 and again.content_type == PROBLEM


def test_a_teacher_who_could_not_read_the_item_bank_gets_no_items(client, world):
    made = copy(client, world).get_json()
    assert made["items_copied"] == 0 and made["items_withheld"] == 8
    assert made["activity_mappings"] == 1
    bank = client.get(f"{other(world)}/items", headers=world.other_teacher)
    assert bank.status_code == 200 and bank.get_json() == []
    mappings = client.get(f"{other(world)}/activity-mappings", headers=world.other_teacher)
    assert [(m["activity_id"], m["concept_keys"]) for m in mappings.get_json()] == [
        (ACTIVITY, ["mul"])
    ]


def test_an_admin_copies_the_item_bank_with_its_answers(client, world):
    explained = client.patch(
        f"/api/v1/courses/{world.course_id}/items/{world.items['add'][1]}",
        json={"explanation": "One more than nothing is one."},
        headers=world.teacher,
    )
    assert explained.status_code == 200
    made = copy(client, world, world.admin)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["items_copied"] == 8 and body["items_withheld"] == 0
    bank = client.get(f"{other(world)}/items", headers=world.other_teacher).get_json()
    original = client.get(f"/api/v1/courses/{world.course_id}/items", headers=world.teacher)
    fields = ("key", "kind", "prompt", "concepts", "difficulty_label", "answer", "explanation")
    assert sorted(tuple(str(i[f]) for f in fields) for i in bank) == sorted(
        tuple(str(i[f]) for f in fields) for i in original.get_json()
    )
    assert not {i["id"] for i in bank} & {i["id"] for i in original.get_json()}


def test_students_keep_their_mastery(client, world):
    practise(client, world)
    before = mastery(client, world, world.other_course_id)
    heat_before = client.get(f"{other(world)}/mastery/heatmap", headers=world.other_teacher)
    weak_before = weak(client, world)
    assert any(w["evidence"] for w in weak_before)
    assert copy(client, world).status_code == 201
    assert mastery(client, world, world.other_course_id) == before
    heat_after = client.get(f"{other(world)}/mastery/heatmap", headers=world.other_teacher)
    assert heat_after.get_json()["students"] == heat_before.get_json()["students"]
    practised = {c["concept_key"]: c["attempts"] for c in before}
    assert practised["add"] == 2 and practised["mul"] == 1
    # The evidence behind each concept (the weak-concept view) comes along too.
    assert summary(weak(client, world)) == summary(weak_before)


def summary(weak_concepts):
    """What the weak-concept view says, without the mastery that decays as time passes."""
    return [(w["concept_key"], w["reasons"], w["evidence"]) for w in weak_concepts]


def weak(client, world):
    response = client.get(
        f"{other(world)}/mastery/students/{world.student_id}/weak-concepts",
        headers=world.other_teacher,
    )
    assert response.status_code == 200
    return response.get_json()


def test_assignments_generated_before_the_copy_keep_working(client, world):
    made = client.post(
        f"{other(world)}/assignments/generate",
        json={"length": 2, "student_ids": [world.student_id]},
        headers=world.other_teacher,
    )
    assert made.status_code == 201, made.get_json()
    assignment_id = made.get_json()[0]["id"]
    assert copy(client, world).status_code == 201
    opened = client.get(f"{other(world)}/assignments/{assignment_id}", headers=world.student)
    assert opened.status_code == 200
    picks = opened.get_json()["items"]
    assert len(picks) == 2 and all(p["prompt"] for p in picks)
    before = {
        c["concept_key"]: c["attempts"] for c in mastery(client, world, world.other_course_id)
    }
    for n, pick in enumerate(picks):
        result = answer(client, world, pick["item_id"], int(pick["item_key"][-1]), f"p{n}")
        assert result["correct"] is True
        # The answer counts in the course's own graph, under the same concept.
        assert [c["concept_key"] for c in result["mastery"]] == [pick["concept_key"]]
    after = {c["concept_key"]: c["attempts"] for c in mastery(client, world, world.other_course_id)}
    for pick in picks:
        assert after[pick["concept_key"]] > before[pick["concept_key"]]
    done = client.get(f"{other(world)}/assignments/{assignment_id}", headers=world.student)
    assert done.get_json()["status"] == "completed"


def test_a_shared_item_nobody_assigned_is_not_answerable_after_the_copy(client, world):
    assert copy(client, world).status_code == 201
    response = client.post(
        f"{other(world)}/attempts",
        json={"item_id": world.items["geo"][0], "response": {"value": 0}},
        headers=world.student,
    )
    assert response.status_code == 404 and response.content_type == PROBLEM


def test_a_voided_attempt_replays_the_shared_graph_and_the_copy_alike(client, app, world):
    practise(client, world)
    # Bea answers the same in the owning course, whose graph she keeps: the control.
    for key, concept, index, value in [
        ("a1", "add", 0, 0),
        ("a2", "add", 1, 1),
        ("m1", "mul", 0, 5),
        ("g1", "geo", 1, 1),
    ]:
        response = client.post(
            f"/api/v1/courses/{world.course_id}/attempts",
            json={
                "item_id": world.items[concept][index],
                "response": {"value": value},
                "attempt_key": key,
            },
            headers=world.classmate,
        )
        assert response.status_code == 201
    assert copy(client, world).status_code == 201
    with app.app_context():
        institution_id = db.session.get(Course, world.course_id).institution_id
        voided = [f"{world.student_id}:a2", f"{world.classmate_id}:a2"]
        assert service.withdraw_attempts(institution_id, "player", voided) == 2
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 6
    mine = mastery(client, world, world.other_course_id)
    shared = mastery(client, world, world.course_id)
    control = client.get(
        f"/api/v1/courses/{world.course_id}/mastery/students/{world.classmate_id}",
        headers=world.teacher,
    ).get_json()["concepts"]
    assert {c["concept_key"]: c["attempts"] for c in mine}["add"] == 1
    for ours, theirs, bea in zip(mine, shared, control, strict=True):
        assert ours == theirs
        # Replaying did not count the copy's evidence as a second concept of each answer.
        assert ours["concept_key"] == bea["concept_key"]
        assert abs(ours["mastery"] - bea["mastery"]) <= 0.2, (ours, bea)
        assert ours["attempts"] == bea["attempts"]


def test_only_the_courses_teachers_and_admins_copy(client, app, world):
    n = map_count(app)
    student = copy(client, world, world.student)
    assert student.status_code == 403 and student.content_type == PROBLEM
    for headers in (world.teacher, world.outsider, world.foreign_student):
        response = copy(client, world, headers)
        assert response.status_code == 404, response.get_json()
        assert response.content_type == PROBLEM
    assert client.post(f"{other(world)}/concept-graph/copy", json={}).status_code == 401
    assert map_count(app) == n


def test_bad_input_and_nothing_to_copy_write_nothing(client, app, world):
    n = map_count(app)
    long_name = copy(client, world, name="x" * 201)
    assert long_name.status_code == 422 and long_name.content_type == PROBLEM
    own = client.post(
        f"/api/v1/courses/{world.course_id}/concept-graph/copy", json={}, headers=world.teacher
    )
    assert own.status_code == 409 and own.content_type == PROBLEM
    no_graph = client.post(
        f"/api/v1/courses/{world.foreign_course_id}/concept-graph/copy",
        json={},
        headers=world.outsider,
    )
    assert no_graph.status_code == 404 and no_graph.content_type == PROBLEM
    assert map_count(app) == n


def test_the_copy_is_named_as_asked(client, world):
    made = copy(client, world, name="Algebra (our version)")
    assert made.status_code == 201
    assert made.get_json()["concept_map"]["name"] == "Algebra (our version)"


def test_starting_over_is_a_copy_emptied(client, world):
    """No separate "stop using": the copy is the course's, so its teacher may empty it."""
    assert copy(client, world).status_code == 201
    emptied = client.put(
        f"{other(world)}/concept-graph",
        json={"document": {"concepts": []}, "replace": True},
        headers=world.other_teacher,
    )
    assert emptied.status_code == 200 and emptied.get_json()["concepts"] == []
    shared = client.get(f"/api/v1/courses/{world.course_id}/concept-graph", headers=world.teacher)
    assert len(shared.get_json()["concepts"]) == 4
