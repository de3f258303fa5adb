"""Concurrent submissions on PostgreSQL: a retried attempt counts once, no update is lost."""

from __future__ import annotations

import threading

import pytest

from tests.integration.mastery.world import build_world, seed_graph, seed_items


@pytest.fixture
def world(app, client):
    from masteryai_lti.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    w = build_world(app)
    seed_graph(client, w)
    w.items = seed_items(client, w)
    return w


def _race(app, world, payloads):
    barrier = threading.Barrier(len(payloads))
    results = [None] * len(payloads)

    def post(index, payload):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/courses/{world.course_id}/attempts", json=payload, headers=world.student
        )
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=post, args=(i, p)) for i, p in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _attempts(client, world, concept):
    body = client.get(
        f"/api/v1/courses/{world.course_id}/mastery/me", headers=world.student
    ).get_json()
    return next(c for c in body["concepts"] if c["concept_key"] == concept)["attempts"]


def test_the_same_attempt_posted_concurrently_counts_once(app, client, world):
    for round_ in range(3):
        payload = {
            "item_id": world.items["add"][round_],
            "response": {"value": round_},
            "attempt_key": f"race-{round_}",
        }
        results = _race(app, world, [payload, payload, payload])
        assert [status for status, _ in results] == [201, 201, 201]
        assert len({body["attempt_id"] for _, body in results}) == 1
        assert _attempts(client, world, "add") == round_ + 1


def test_different_attempts_at_once_are_all_applied(app, client, world):
    payloads = [
        {"item_id": world.items["geo"][i], "response": {"value": i}, "attempt_key": f"g{i}"}
        for i in range(4)
    ]
    results = _race(app, world, payloads)
    assert [status for status, _ in results] == [201] * 4
    # the learner row is locked per update, so no attempt's update overwrote another's
    assert _attempts(client, world, "geo") == 4
