"""Two co-teachers change one concept graph at the same moment (PostgreSQL).

Each edit is checked for cycles against the graph it read; without one change at a
time, two edits that are each acyclic could together store a cycle, and two "add
topic" forms could overwrite each other.
"""

from __future__ import annotations

import pytest

from masteryai_lti.mastery.service import concept_maps
from tests.concurrency import first_held_then_second
from tests.integration.mastery.world import build_world, seed_graph


@pytest.fixture
def world(app, client):
    from masteryai_lti.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    w = build_world(app)
    seed_graph(client, w)
    return w


def _first_reads_then_second_runs(app, monkeypatch, first, second):
    """Run ``first`` until it has read the graph, then ``second`` to its end (or until
    it blocks), then let ``first`` finish. Returns both responses."""
    return first_held_then_second(app, monkeypatch, concept_maps, "load_graph", first, second)


def test_two_edits_that_close_a_cycle_together_are_not_both_stored(app, monkeypatch, world):
    base = f"/api/v1/courses/{world.course_id}/concepts"

    def geo_needs_add(client):
        return client.put(
            f"{base}/geo/prerequisites", json={"prerequisites": ["add"]}, headers=world.teacher
        )

    def add_needs_geo(client):
        return client.put(
            f"{base}/add/prerequisites", json={"prerequisites": ["geo"]}, headers=world.teacher
        )

    first, second = _first_reads_then_second_runs(app, monkeypatch, geo_needs_add, add_needs_geo)

    assert first.status_code == 200, first.get_json()
    assert second.status_code == 422, second.get_json()
    assert "prerequisite cycle" in second.get_json()["detail"]
    graph = app.test_client().get(
        f"/api/v1/courses/{world.course_id}/concept-graph", headers=world.teacher
    )
    needs = {c["key"]: c["prerequisites"] for c in graph.get_json()["concepts"]}
    assert needs["geo"] == ["add"] and needs["add"] == []


def test_two_topics_added_under_one_key_do_not_overwrite(app, monkeypatch, world):
    url = f"/api/v1/courses/{world.course_id}/concepts/stats"

    def adding(name):
        def add(client):
            return client.put(
                url, json={"name": name}, headers={**world.teacher, "If-None-Match": "*"}
            )

        return add

    first, second = _first_reads_then_second_runs(
        app, monkeypatch, adding("Statistics"), adding("Stats for sport")
    )

    assert first.status_code == 200, first.get_json()
    assert second.status_code == 412, second.get_json()
    assert second.content_type == "application/problem+json"
    assert second.get_json()["errors"][0]["path"] == "key"
    graph = app.test_client().get(
        f"/api/v1/courses/{world.course_id}/concept-graph", headers=world.teacher
    )
    names = {c["key"]: c["name"] for c in graph.get_json()["concepts"]}
    assert names["stats"] == "Statistics"
