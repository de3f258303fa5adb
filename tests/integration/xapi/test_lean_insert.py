"""The lean write road (PostgreSQL): one autocommit INSERT for a batch of new statements.

It must store exactly what the careful road stores, take the careful road whenever a
statement is not new, and keep the all-or-nothing rule.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.integration.xapi.conftest import statement


@pytest.fixture
def on_postgres(app):
    from masteryai_lti.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the lean road exists on PostgreSQL only")


@pytest.fixture
def roads(monkeypatch):
    """Counts how often the lean road stored a batch."""
    from masteryai_lti.xapi import storage

    taken = {"lean": 0, "refused": 0}
    original = storage.insert_new_statements

    def spy(*args, **kwargs):
        stored = original(*args, **kwargs)
        taken["lean" if stored else "refused"] += 1
        return stored

    monkeypatch.setattr(storage, "insert_new_statements", spy)
    return taken


def _row(statement_id: str):
    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiStatement

    db.session.rollback()
    return db.session.scalar(
        select(XapiStatement).where(XapiStatement.statement_id == uuid.UUID(statement_id))
    )


def _compared_columns() -> tuple[str, ...]:
    """Every stored column but those that differ between two stores of one body."""
    from masteryai_lti.xapi import storage

    return tuple(c for c in storage._COLUMNS if c not in ("statement_id", "stored", "statement"))


def _rich(n: int) -> dict:
    body = statement(n)
    body["context"] = {
        "registration": str(uuid.uuid4()),
        "instructor": {"mbox": "mailto:teacher@example.org"},
        "contextActivities": {"parent": {"id": "http://example.org/course/1"}},
    }
    body["timestamp"] = "2026-03-04T05:06:07.891+02:00"
    body["result"] = {"success": True, "score": {"scaled": 0.5}}
    return body


def test_lean_road_stores_the_same_row_as_the_careful_road(lrs, on_postgres, roads, monkeypatch):
    from masteryai_lti.xapi import storage

    body = _rich(1)
    lean_id = lrs.post(body).get_json()[0]
    assert roads == {"lean": 1, "refused": 0}
    monkeypatch.setattr(storage, "fast_path_available", lambda: False)
    careful_id = lrs.post(body).get_json()[0]
    assert roads["lean"] == 1
    lean, careful = _row(lean_id), _row(careful_id)
    for column in _compared_columns():
        assert getattr(lean, column) == getattr(careful, column), column
    strip = ("id", "stored")
    assert {k: v for k, v in lean.statement.items() if k not in strip} == {
        k: v for k, v in careful.statement.items() if k not in strip
    }
    assert lean.statement["id"] == lean_id
    assert lrs.get(statementId=lean_id).get_json()["stored"] == lean.statement["stored"]


def test_a_batch_with_a_stored_statement_takes_the_careful_road(lrs, on_postgres, roads):
    first = {**statement(1), "id": str(uuid.uuid4())}
    assert lrs.post(first).status_code == 200
    second = {**statement(2), "id": str(uuid.uuid4())}
    response = lrs.post([second, first])
    assert response.status_code == 200
    assert response.get_json() == [second["id"], first["id"]]
    assert roads == {"lean": 1, "refused": 1}
    assert _row(second["id"]) is not None


def test_a_conflict_found_on_the_lean_road_still_stores_nothing(lrs, on_postgres, roads):
    stored = {**statement(1), "id": str(uuid.uuid4())}
    assert lrs.post(stored).status_code == 200
    fresh = {**statement(2), "id": str(uuid.uuid4())}
    changed = {**statement(3), "id": stored["id"]}
    assert lrs.post([fresh, changed]).status_code == 409
    assert roads["refused"] == 1
    assert _row(fresh["id"]) is None


def test_a_statement_arriving_after_its_voider_is_voided_on_the_lean_road(lrs, on_postgres, roads):
    target = str(uuid.uuid4())
    voider = {
        **statement(1),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": target},
    }
    assert lrs.post(voider).status_code == 200
    assert lrs.post({**statement(2), "id": target}).status_code == 200
    assert roads["lean"] == 1  # the voiding statement itself took the careful road
    assert _row(target).voided is True
    assert lrs.get(statementId=target).status_code == 404


def _refs(statement_id: str) -> set[tuple[str, str]]:
    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiStatementRef

    row = _row(statement_id)
    return set(
        db.session.execute(
            select(XapiStatementRef.kind, XapiStatementRef.ref_hash).where(
                XapiStatementRef.statement_pk == row.id
            )
        ).all()
    )


def test_both_roads_record_the_same_related_agents_and_activities(
    lrs, on_postgres, roads, monkeypatch
):
    import json

    from masteryai_lti.xapi import storage

    body = _rich(1)
    lean_id = lrs.post(body).get_json()[0]
    monkeypatch.setattr(storage, "fast_path_available", lambda: False)
    careful_id = lrs.post(body).get_json()[0]
    assert roads["lean"] == 1

    expected = {("agent", storage.ref_hash(k)) for k in _row(lean_id).agent_keys} | {
        ("activity", storage.ref_hash(a)) for a in _row(lean_id).activity_ids
    }
    assert len(expected) >= 4  # actor, instructor, object, parent
    assert _refs(lean_id) == _refs(careful_id) == expected
    teacher = json.dumps({"mbox": "mailto:teacher@example.org"})
    found = lrs.get(agent=teacher, related_agents="true").get_json()["statements"]
    assert {s["id"] for s in found} == {lean_id, careful_id}
    parent = lrs.get(activity="http://example.org/course/1", related_activities="true")
    assert {s["id"] for s in parent.get_json()["statements"]} == {lean_id, careful_id}


def test_the_lean_road_plans_its_insert_afresh_every_few_batches(
    lrs, on_postgres, roads, monkeypatch
):
    # A plan made while the table was tiny must not live on as it grows (autovacuum may
    # be off, so nothing else would re-plan it): the statement is prepared again.
    from masteryai_lti.xapi import storage

    monkeypatch.setattr(storage, "_REPLAN_EVERY", 4)

    def plans() -> tuple[int, object]:
        with storage._autocommit_connection().cursor() as cursor:
            cursor.execute(
                "SELECT generic_plans + custom_plans, prepare_time FROM pg_prepared_statements"
                " WHERE name = 'xapi_insert_new_statements'"
            )
            return cursor.fetchone()

    ids = [lrs.post({**statement(n), "id": str(uuid.uuid4())}).get_json()[0] for n in range(3)]
    used, prepared = plans()
    ids += [lrs.post({**statement(n), "id": str(uuid.uuid4())}).get_json()[0] for n in range(6)]
    used_after, prepared_after = plans()
    assert roads == {"lean": 9, "refused": 0}
    assert prepared_after > prepared
    assert used_after < used + 6  # the counts started again with the new preparation
    assert all(_row(statement_id) is not None for statement_id in ids)
