"""A teacher's explanation of an item: authored with the item, read by the student only
after answering, carried through export, import and a copy of the graph."""

from __future__ import annotations

import pytest

from masteryai_lti.mastery.models import EXPLANATION_MAX_LENGTH
from tests.integration.mastery.world import build_world, seed_graph

WHY = "3 × 4 means three groups of four.\nCount them: 4, 8, 12."

NUMERIC = {
    "key": "mul-why",
    "kind": "numeric",
    "prompt": "What is 3 × 4?",
    # "add" has no prerequisite, so a new student's assignment picks the item.
    "concepts": ["add"],
    "answer": {"value": 12, "tolerance": 0},
    "explanation": WHY,
}


@pytest.fixture
def world(app, client):
    w = build_world(app)
    seed_graph(client, w)
    return w


def items_url(world, path=""):
    return f"/api/v1/courses/{world.course_id}/items{path}"


def _create(client, world, item=NUMERIC) -> dict:
    response = client.post(items_url(world), json=item, headers=world.teacher)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_teacher_writes_changes_and_clears_the_explanation(client, world):
    item = _create(client, world)
    assert item["explanation"] == WHY
    assert (
        client.get(items_url(world, f"/{item['id']}"), headers=world.teacher).get_json()[
            "explanation"
        ]
        == WHY
    )
    url = items_url(world, f"/{item['id']}")
    changed = client.patch(url, json={"explanation": "Four, three times."}, headers=world.teacher)
    assert changed.get_json()["explanation"] == "Four, three times."
    # Leaving the field out of a change keeps it; blank removes it.
    kept = client.patch(url, json={"difficulty_label": "hard"}, headers=world.teacher)
    assert kept.get_json()["explanation"] == "Four, three times."
    cleared = client.patch(url, json={"explanation": "   "}, headers=world.teacher)
    assert cleared.get_json()["explanation"] is None


def test_an_overlong_explanation_is_refused_by_field_and_nothing_is_stored(client, world):
    too_long = {**NUMERIC, "explanation": "x" * (EXPLANATION_MAX_LENGTH + 1)}
    response = client.post(items_url(world), json=too_long, headers=world.teacher)
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "explanation" in str(response.get_json())
    # Import goes around the request schema; the item check refuses it there too.
    document = {"items": [too_long, {**NUMERIC, "key": "fine", "explanation": 7}]}
    response = client.post(
        items_url(world, "/import"), json={"document": document}, headers=world.teacher
    )
    assert response.status_code == 422
    paths = {e["path"] for e in response.get_json()["errors"]}
    assert paths == {"items[0].explanation", "items[1].explanation"}
    assert client.get(items_url(world), headers=world.teacher).get_json() == []


def test_the_student_reads_it_only_once_they_have_answered(client, world):
    item = _create(client, world)
    generated = client.post(
        f"/api/v1/courses/{world.course_id}/assignments/generate",
        json={"length": 1, "student_ids": [world.student_id]},
        headers=world.teacher,
    ).get_json()
    detail = client.get(
        f"/api/v1/courses/{world.course_id}/assignments/{generated[0]['id']}",
        headers=world.student,
    )
    assert [p["item_id"] for p in detail.get_json()["items"]] == [item["id"]]
    assert WHY not in detail.get_data(as_text=True)

    attempts = f"/api/v1/courses/{world.course_id}/attempts"
    wrong = client.post(
        attempts,
        json={"item_id": item["id"], "response": {"value": 7}, "attempt_key": "k1"},
        headers=world.student,
    ).get_json()
    assert (wrong["correct"], wrong["explanation"]) == (False, WHY)
    again = client.post(
        attempts,
        json={"item_id": item["id"], "response": {"value": 7}, "attempt_key": "k1"},
        headers=world.student,
    ).get_json()
    assert (again["duplicate"], again["explanation"]) == (True, WHY)
    right = client.post(
        attempts, json={"item_id": item["id"], "response": {"value": 12}}, headers=world.student
    ).get_json()
    assert (right["correct"], right["explanation"]) == (True, WHY)


def test_an_item_without_one_answers_with_none(client, world):
    plain = {k: v for k, v in NUMERIC.items() if k != "explanation"}
    item = _create(client, world, plain)
    assert item["explanation"] is None
    body = client.post(
        f"/api/v1/courses/{world.course_id}/attempts",
        json={"item_id": item["id"], "response": {"value": 12}},
        headers=world.student,
    ).get_json()
    assert body["correct"] is True and body["explanation"] is None


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_and_import_carry_it(client, world, fmt):
    item = _create(client, world)
    exported = client.get(items_url(world, f"/export?format={fmt}"), headers=world.teacher)
    text = exported.get_data(as_text=True)
    client.patch(
        items_url(world, f"/{item['id']}"), json={"explanation": ""}, headers=world.teacher
    )
    result = client.post(
        items_url(world, "/import"), json={"format": fmt, "content": text}, headers=world.teacher
    )
    assert result.get_json() == {"created": 0, "updated": 1}
    restored = client.get(items_url(world, f"/{item['id']}"), headers=world.teacher).get_json()
    assert restored["explanation"] == WHY


def test_a_csv_without_the_column_leaves_explanations_alone(client, world):
    item = _create(client, world)
    csv_text = (
        "key,kind,prompt,concepts,difficulty,choices,answer\n"
        'mul-why,numeric,What is 3 × 4?,add,hard,,"{""value"": 12}"\n'
    )
    result = client.post(
        items_url(world, "/import"),
        json={"format": "csv", "content": csv_text},
        headers=world.teacher,
    )
    assert result.get_json() == {"created": 0, "updated": 1}
    after = client.get(items_url(world, f"/{item['id']}"), headers=world.teacher).get_json()
    assert (after["difficulty_label"], after["explanation"]) == ("hard", WHY)
