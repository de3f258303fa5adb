"""PUT/POST/GET of statements: ids, LRS-owned fields, idempotency, conflicts, batches."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from tests.integration.xapi.conftest import statement


def _count():
    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiStatement

    return db.session.scalar(select(func.count()).select_from(XapiStatement))


def test_post_one_returns_its_id_and_get_returns_it_with_lrs_fields(lrs, credential):
    response = lrs.post(statement())
    assert response.status_code == 200, response.json
    (sid,) = response.json
    assert uuid.UUID(sid)
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert "X-Experience-API-Consistent-Through" in response.headers
    got = lrs.get(statementId=sid)
    assert got.status_code == 200
    body = got.json
    assert body["id"] == sid
    assert body["authority"]["account"]["name"] == credential.key
    assert body["version"] == "1.0.0"
    assert body["stored"].endswith("Z") and body["timestamp"] == body["stored"]


def test_put_stores_under_the_given_id_and_repeats_are_no_ops(lrs):
    sid = str(uuid.uuid4())
    first = lrs.put(sid, statement())
    assert first.status_code == 204
    again = lrs.put(sid, statement())
    assert again.status_code == 204
    assert _count() == 1
    assert lrs.get(statementId=sid).json["id"] == sid


def test_same_id_with_different_content_is_409_and_changes_nothing(lrs):
    sid = str(uuid.uuid4())
    assert lrs.put(sid, statement(1)).status_code == 204
    conflict = lrs.post({**statement(2), "id": sid})
    assert conflict.status_code == 409
    assert conflict.mimetype == "application/problem+json"
    assert any("actor" in error["path"] for error in conflict.json["errors"])
    assert lrs.get(statementId=sid).json["actor"]["mbox"] == "mailto:learner1@example.org"


def test_batch_ids_come_back_in_order(lrs):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    response = lrs.post([{**statement(i), "id": ids[i]} for i in range(3)])
    assert response.status_code == 200
    assert response.json == ids


def test_batch_with_one_invalid_statement_stores_nothing(lrs):
    bad = statement(5)
    bad["actor"] = {"objectType": "Agent", "mbox": "learner@example.org"}
    response = lrs.post([statement(1), bad, statement(2)])
    assert response.status_code == 400
    assert response.json["errors"][0]["path"].startswith("statements[1].actor")
    assert _count() == 0


def test_batch_with_duplicate_ids_stores_nothing(lrs):
    sid = str(uuid.uuid4())
    response = lrs.post([{**statement(1), "id": sid}, {**statement(1), "id": sid}])
    assert response.status_code == 400
    assert _count() == 0


def test_batch_conflicting_with_a_stored_statement_stores_nothing(lrs):
    sid = str(uuid.uuid4())
    assert lrs.put(sid, statement(1)).status_code == 204
    response = lrs.post([statement(3), {**statement(2), "id": sid}])
    assert response.status_code == 409
    assert _count() == 1


def test_put_requires_statement_id_and_matching_body_id(lrs):
    missing = lrs.client.put("/xapi/statements", json=statement(), headers=lrs.headers())
    assert missing.status_code == 400
    assert missing.json["errors"][0]["path"] == "statementId"
    mismatch = lrs.put(str(uuid.uuid4()), {**statement(), "id": str(uuid.uuid4())})
    assert mismatch.status_code == 400


def test_malformed_json_is_400_naming_the_body(lrs):
    response = lrs.client.post(
        "/xapi/statements",
        data=b"{not json",
        headers=lrs.headers(**{"Content-Type": "application/json"}),
    )
    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "body"


def test_invalid_statement_is_400_not_422_with_path_and_rule(lrs):
    response = lrs.post({**statement(), "verb": {"id": "not an iri"}})
    assert response.status_code == 400
    assert response.json["status"] == 400
    assert response.json["errors"][0]["path"].startswith("verb.id")
    assert response.json["errors"][0]["message"]


def test_unknown_parameter_is_400(lrs):
    assert lrs.get(foo="bar").status_code == 400
    assert lrs.get(StatementId=str(uuid.uuid4())).status_code == 400


def test_statement_id_with_filters_is_400(lrs):
    response = lrs.get(statementId=str(uuid.uuid4()), verb="http://example.org/v")
    assert response.status_code == 400


def test_unknown_statement_is_404(lrs):
    response = lrs.get(statementId=str(uuid.uuid4()))
    assert response.status_code == 404
    assert "X-Experience-API-Consistent-Through" in response.headers


def test_version_2_normalises_timestamps_to_utc_and_sets_version(lrs2):
    sid = str(uuid.uuid4())
    body = {**statement(), "id": sid, "timestamp": "2024-03-01T10:00:00.120+02:00"}
    assert lrs2.put(sid, body).status_code == 204
    got = lrs2.get(statementId=sid)
    assert got.json["timestamp"] == "2024-03-01T08:00:00.120Z"
    assert got.json["version"] == "2.0.0"
    assert "Last-Modified" in got.headers


def test_head_answers_like_get_without_body(lrs):
    sid = lrs.post(statement()).json[0]
    response = lrs.client.head(
        "/xapi/statements", query_string={"statementId": sid}, headers=lrs.headers()
    )
    assert response.status_code == 200
    assert response.data == b""
    missing = lrs.client.head(
        "/xapi/statements", query_string={"statementId": str(uuid.uuid4())}, headers=lrs.headers()
    )
    assert missing.status_code == 404
