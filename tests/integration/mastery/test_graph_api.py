"""Concept graph API: import/export, DAG enforcement, reuse, tenant and role scoping."""

from __future__ import annotations

import pytest

from tests.integration.mastery.world import GRAPH, PROBLEM, build_world, seed_graph


@pytest.fixture
def world(app):
    return build_world(app)


def url(world, path=""):
    return f"/api/v1/courses/{world.course_id}/concept-graph{path}"


def test_teacher_imports_and_members_read_the_graph(client, world):
    seed_graph(client, world)
    for headers in (world.teacher, world.student, world.admin):
        body = client.get(url(world), headers=headers).get_json()
        assert [c["key"] for c in body["concepts"]] == ["add", "geo", "mul", "frac"]
    csv_text = client.get(url(world) + "?format=csv", headers=world.teacher)
    assert csv_text.mimetype == "text/csv"
    assert "frac,Fractions,,mul" in csv_text.get_data(as_text=True)


def test_csv_import_merges_and_replace_prunes(client, world):
    seed_graph(client, world)
    csv_text = "key,name,description,prerequisites\ndec,Decimals,,frac|add\n"
    body = client.put(
        url(world), json={"format": "csv", "content": csv_text}, headers=world.teacher
    ).get_json()
    keys = [c["key"] for c in body["concepts"]]
    assert "dec" in keys and "geo" in keys
    body = client.put(
        url(world),
        json={"format": "csv", "content": "key,name\nonly,Only\n", "replace": True},
        headers=world.teacher,
    ).get_json()
    assert [c["key"] for c in body["concepts"]] == ["only"]


def test_import_with_a_cycle_is_refused_naming_it(client, world):
    seed_graph(client, world)
    cyclic = {"concepts": [{"key": "add", "name": "Addition", "prerequisites": ["frac"]}]}
    response = client.put(url(world), json={"document": cyclic}, headers=world.teacher)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    problem = response.get_json()
    assert "add -> mul -> frac -> add" in problem["detail"] or "frac -> add" in problem["detail"]
    # nothing was written
    body = client.get(url(world), headers=world.teacher).get_json()
    assert next(c for c in body["concepts"] if c["key"] == "add")["prerequisites"] == []


def test_prerequisite_edit_closing_a_cycle_is_refused(client, world):
    seed_graph(client, world)
    base = f"/api/v1/courses/{world.course_id}/concepts"
    response = client.put(
        f"{base}/add/prerequisites", json={"prerequisites": ["frac"]}, headers=world.teacher
    )
    assert response.status_code == 422
    assert "prerequisite cycle: frac -> add -> mul -> frac" == response.get_json()["detail"]
    ok = client.put(
        f"{base}/geo/prerequisites", json={"prerequisites": ["add"]}, headers=world.teacher
    )
    assert ok.status_code == 200
    unknown = client.put(
        f"{base}/geo/prerequisites", json={"prerequisites": ["nope"]}, headers=world.teacher
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["path"] == "prerequisites[0]"


def test_concept_upsert_and_delete(client, world):
    seed_graph(client, world)
    base = f"/api/v1/courses/{world.course_id}/concepts"
    body = client.put(
        f"{base}/pct", json={"name": "Percent", "prerequisites": ["frac"]}, headers=world.teacher
    ).get_json()
    assert body["key"] == "pct" and body["name"] == "Percent"
    assert client.put(f"{base}/bad key", json={}, headers=world.teacher).status_code == 422
    assert client.delete(f"{base}/pct", headers=world.teacher).status_code == 204
    assert client.delete(f"{base}/pct", headers=world.teacher).status_code == 404


def test_invalid_documents_report_paths(client, world):
    bad = {"concepts": [{"key": "a", "prerequisites": ["ghost"]}]}
    response = client.put(url(world), json={"document": bad}, headers=world.teacher)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["path"] == "concepts[0].prerequisites[0]"


def test_role_and_tenant_scoping(client, world):
    seed_graph(client, world)
    doc = {"document": GRAPH}
    assert client.get(url(world)).status_code == 401
    assert client.put(url(world), json=doc, headers=world.student).status_code == 403
    assert client.put(url(world), json=doc, headers=world.other_teacher).status_code == 404
    assert client.get(url(world), headers=world.other_teacher).status_code == 404
    assert client.get(url(world), headers=world.outsider).status_code == 404
    assert client.put(url(world), json=doc, headers=world.outsider).status_code == 404
    assert client.get(url(world), headers=world.foreign_student).status_code == 404
    concepts = f"/api/v1/courses/{world.course_id}/concepts/geo"
    assert client.put(concepts, json={}, headers=world.student).status_code == 403
    assert client.delete(concepts, headers=world.outsider).status_code == 404


def test_graph_reuse_across_courses_of_one_institution(client, world):
    seed_graph(client, world)
    maps = client.get("/api/v1/concept-graphs", headers=world.other_teacher).get_json()
    assert len(maps) == 1
    use = f"/api/v1/courses/{world.other_course_id}/concept-graph/use"
    response = client.post(use, json={"concept_map_id": maps[0]["id"]}, headers=world.other_teacher)
    assert response.status_code == 200
    body = client.get(
        f"/api/v1/courses/{world.other_course_id}/concept-graph", headers=world.other_teacher
    ).get_json()
    assert len(body["concepts"]) == 4
    # another institution cannot see or use it
    assert client.get("/api/v1/concept-graphs", headers=world.outsider).get_json() == []
    foreign_use = f"/api/v1/courses/{world.foreign_course_id}/concept-graph/use"
    assert (
        client.post(
            foreign_use, json={"concept_map_id": maps[0]["id"]}, headers=world.outsider
        ).status_code
        == 404
    )
    assert client.get("/api/v1/concept-graphs", headers=world.student).status_code == 403


def test_adding_a_concept_create_only_never_overwrites(client, world):
    seed_graph(client, world)
    base = f"/api/v1/courses/{world.course_id}/concepts"
    only_new = {**world.teacher, "If-None-Match": "*"}
    taken = client.put(f"{base}/add", json={"name": "Sums"}, headers=only_new)
    assert taken.status_code == 412 and taken.content_type == PROBLEM
    assert "Addition" in taken.get_json()["detail"]
    graph = client.get(url(world), headers=world.teacher).get_json()
    assert {c["key"]: c["name"] for c in graph["concepts"]}["add"] == "Addition"
    fresh = client.put(f"{base}/stats", json={"name": "Statistics"}, headers=only_new)
    assert fresh.status_code == 200 and fresh.get_json()["name"] == "Statistics"
    # Without the header a PUT still creates or replaces.
    assert (
        client.put(f"{base}/add", json={"name": "Sums"}, headers=world.teacher).status_code == 200
    )
