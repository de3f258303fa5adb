"""Mastery views, weak concepts, recommendations and assignments: behaviour and scoping."""

from __future__ import annotations

import pytest

from tests.integration.mastery.world import build_world, seed_graph, seed_items


@pytest.fixture
def world(app, client):
    w = build_world(app)
    seed_graph(client, w)
    w.items = seed_items(client, w)
    return w


def base(world):
    return f"/api/v1/courses/{world.course_id}"


def answer(client, world, concept, index, right, headers=None):
    value = index if right else -1
    response = client.post(
        f"{base(world)}/attempts",
        json={"item_id": world.items[concept][index], "response": {"value": value}},
        headers=headers or world.student,
    )
    assert response.status_code == 201


def test_my_mastery_and_student_view_scoping(client, world):
    answer(client, world, "add", 0, True)
    me = client.get(f"{base(world)}/mastery/me", headers=world.student).get_json()
    assert me["threshold"] == 70 and [c["concept_key"] for c in me["concepts"]] == [
        "add",
        "geo",
        "mul",
        "frac",
    ]
    mine = f"{base(world)}/mastery/students/{world.student_id}"
    assert client.get(mine, headers=world.student).get_json() == me
    assert client.get(mine, headers=world.teacher).status_code == 200
    assert client.get(mine, headers=world.admin).status_code == 200
    assert client.get(mine, headers=world.classmate).status_code == 403
    assert client.get(mine, headers=world.other_teacher).status_code == 404
    assert client.get(mine, headers=world.outsider).status_code == 404
    assert client.get(mine).status_code == 401
    teacher_self = client.get(f"{base(world)}/mastery/me", headers=world.teacher)
    assert teacher_self.status_code == 404  # a teacher has no mastery of their own here


def test_heatmap_for_teachers_only(client, world):
    answer(client, world, "add", 0, True)
    answer(client, world, "geo", 1, False, world.classmate)
    heat = client.get(f"{base(world)}/mastery/heatmap", headers=world.teacher)
    assert heat.status_code == 200
    body = heat.get_json()
    assert [c["key"] for c in body["concepts"]] == ["add", "geo", "mul", "frac"]
    assert [s["full_name"] for s in body["students"]] == ["Ada", "Bea"]
    ada, bea = body["students"]
    assert ada["cells"][0]["attempts"] == 1 and ada["cells"][0]["mastery"] is not None
    assert ada["cells"][2]["mastery"] is None  # never practised: no observed value
    assert bea["cells"][1]["attempts"] == 1
    assert body["concepts"][0]["mean_mastery"] == ada["cells"][0]["mastery"]
    assert client.get(f"{base(world)}/mastery/heatmap", headers=world.admin).status_code == 200
    for headers, status in (
        (world.student, 403),
        (world.other_teacher, 404),
        (world.outsider, 404),
    ):
        assert client.get(f"{base(world)}/mastery/heatmap", headers=headers).status_code == status


def test_weak_concepts_with_evidence(client, world):
    for i in range(4):
        answer(client, world, "add", i, False)
    url = f"{base(world)}/mastery/students/{world.student_id}/weak-concepts"
    weak = client.get(url, headers=world.teacher).get_json()
    assert weak[0]["concept_key"] == "add"
    assert "below_threshold" in weak[0]["reasons"] and "blocking" in weak[0]["reasons"]
    assert weak[0]["blocked_dependants"] == ["frac", "mul"]
    assert len(weak[0]["evidence"]) == 4 and not any(e["correct"] for e in weak[0]["evidence"])
    assert client.get(url, headers=world.student).status_code == 200
    assert client.get(url, headers=world.classmate).status_code == 403
    assert client.get(url, headers=world.outsider).status_code == 404


def test_recommendations_explain_and_respect_prerequisites(client, world):
    url = f"{base(world)}/recommendations/students/{world.student_id}"
    body = client.get(url, headers=world.teacher).get_json()
    planned = {c["concept_key"] for c in body["concepts"]}
    assert planned == {"add", "geo"}  # mul and frac wait for their prerequisites
    held = {c["concept_key"]: c for c in body["held_back"]}
    assert held["mul"]["blocked_by"] == ["add"] and "Addition" in held["mul"]["reason"]
    assert body["items"] and all(i["reason"] for i in body["items"])
    assert {i["concept_key"] for i in body["items"]} <= {"add", "geo"}
    mine = client.get(f"{base(world)}/recommendations/me", headers=world.student).get_json()
    assert mine["concepts"] == body["concepts"]
    assert client.get(url, headers=world.classmate).status_code == 403
    assert client.get(url, headers=world.outsider).status_code == 404


def test_generate_assignments_for_the_class(client, world):
    url = f"{base(world)}/assignments/generate"
    created = client.post(url, json={"length": 4}, headers=world.teacher)
    assert created.status_code == 201
    made = created.get_json()
    assert sorted(a["user_id"] for a in made) == sorted([world.student_id, world.classmate_id])
    detail = client.get(f"{base(world)}/assignments/{made[0]['id']}", headers=world.teacher)
    items = detail.get_json()["items"]
    assert 0 < len(items) <= 4
    assert all("answer" not in i and i["reason"] and i["prompt"] for i in items)
    assert {i["concept_key"] for i in items} <= {"add", "geo"}
    # students see their own only
    mine = client.get(f"{base(world)}/assignments", headers=world.student).get_json()
    assert [a["user_id"] for a in mine] == [world.student_id]
    theirs = next(a for a in made if a["user_id"] == world.classmate_id)
    other = client.get(f"{base(world)}/assignments/{theirs['id']}", headers=world.student)
    assert other.status_code == 404
    listed = client.get(
        f"{base(world)}/assignments?student_id={world.classmate_id}", headers=world.student
    )
    assert listed.status_code == 403
    assert len(client.get(f"{base(world)}/assignments", headers=world.teacher).get_json()) == 2


def test_pins_excludes_and_validation(client, world):
    url = f"{base(world)}/assignments/generate"
    body = {"length": 6, "pinned": ["frac"], "excluded": ["geo"], "student_ids": [world.student_id]}
    made = client.post(url, json=body, headers=world.teacher).get_json()
    detail = client.get(f"{base(world)}/assignments/{made[0]['id']}", headers=world.teacher)
    items = detail.get_json()["items"]
    concepts = {i["concept_key"] for i in items}
    assert "frac" in concepts and "geo" not in concepts and "mul" not in concepts
    assert all(i["pick"] == "pinned" for i in items if i["concept_key"] == "frac")
    assert made[0]["settings"] == {"length": 6, "pinned": ["frac"], "excluded": ["geo"]}
    bad = client.post(url, json={"pinned": ["ghost"]}, headers=world.teacher)
    assert bad.status_code == 422
    stranger = client.post(url, json={"student_ids": [999]}, headers=world.teacher)
    assert stranger.status_code == 422
    assert client.post(url, json={}, headers=world.student).status_code == 403
    assert client.post(url, json={}, headers=world.outsider).status_code == 404
    assert client.post(url, json={"length": 0}, headers=world.teacher).status_code == 422


def test_generated_items_are_never_recently_answered(client, world):
    for i in range(3):
        answer(client, world, "add", i, True)
        answer(client, world, "geo", i, True)
    made = client.post(
        f"{base(world)}/assignments/generate",
        json={"length": 10, "student_ids": [world.student_id]},
        headers=world.teacher,
    ).get_json()
    detail = client.get(f"{base(world)}/assignments/{made[0]['id']}", headers=world.teacher)
    answered = {world.items["add"][i] for i in range(3)} | {world.items["geo"][i] for i in range(3)}
    picked = {i["item_id"] for i in detail.get_json()["items"]}
    assert picked and not picked & answered


def test_difficulty_climbs_as_mastery_grows(client, world):
    def mean_difficulty():
        made = client.post(
            f"{base(world)}/recommendations/students/{world.student_id}", headers=world.teacher
        )
        assert made.status_code == 405  # recommendations are read-only
        body = client.get(
            f"{base(world)}/recommendations/students/{world.student_id}", headers=world.teacher
        ).get_json()
        ranks = {"easy": 0, "medium": 1, "hard": 2}
        picks = [ranks[i["difficulty_label"]] for i in body["items"] if i["concept_key"] == "geo"]
        return sum(picks) / len(picks) if picks else None

    start = mean_difficulty()
    # the student answers every geo item right several times over (old attempts allowed)
    for _ in range(3):
        for i in range(6):
            answer(client, world, "geo", i, True)
    later = mean_difficulty()
    assert start is not None
    assert later is None or later > start  # harder items, or geo is mastered and dropped


def test_remaining_endpoints_refuse_other_roles_and_tenants(client, world):
    made = client.post(
        f"{base(world)}/assignments/generate", json={"length": 2}, headers=world.teacher
    ).get_json()
    detail = f"{base(world)}/assignments/{made[0]['id']}"
    for headers in (world.outsider, world.foreign_student, world.other_teacher):
        assert client.get(detail, headers=headers).status_code == 404
        assert client.get(f"{base(world)}/assignments", headers=headers).status_code == 404
        assert client.get(f"{base(world)}/recommendations/me", headers=headers).status_code == 404
        assert client.get(f"{base(world)}/mastery/me", headers=headers).status_code == 404
    prereqs = f"{base(world)}/concepts/mul/prerequisites"
    assert client.put(prereqs, json={"prerequisites": []}, headers=world.student).status_code == 403
    use = f"{base(world)}/concept-graph/use"
    assert client.post(use, json={"concept_map_id": 1}, headers=world.student).status_code == 403
    assert client.get(detail).status_code == 401
