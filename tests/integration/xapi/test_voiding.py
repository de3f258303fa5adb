"""Voiding (Data 2.3.2) and StatementRef filtering."""

from __future__ import annotations

import uuid

from tests.integration.xapi.conftest import statement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _void(target: str, n: int = 50) -> dict:
    return statement(n, verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target})


def test_voided_statement_is_hidden_except_by_voided_statement_id(lrs):
    target = lrs.post(statement(1)).json[0]
    voiding = lrs.post(_void(target)).json[0]
    assert lrs.get(statementId=target).status_code == 404
    assert lrs.get(voidedStatementId=target).json["id"] == target
    assert lrs.get(voidedStatementId=voiding).status_code == 404
    ids = [s["id"] for s in lrs.get().json["statements"]]
    assert target not in ids and voiding in ids


def test_a_voiding_statement_cannot_be_voided(lrs):
    target = lrs.post(statement(1)).json[0]
    voiding = lrs.post(_void(target)).json[0]
    response = lrs.post(_void(voiding, 51))
    assert response.status_code == 200
    assert lrs.get(statementId=voiding).status_code == 200


def test_voiding_that_arrives_before_its_target_still_voids_it(lrs):
    target = str(uuid.uuid4())
    lrs.post(_void(target))
    assert lrs.put(target, statement(1)).status_code == 204
    assert lrs.get(statementId=target).status_code == 404
    assert lrs.get(voidedStatementId=target).status_code == 200


def test_statements_referring_to_a_match_are_returned_with_it(lrs):
    verb = f"http://example.org/verbs/{uuid.uuid4()}"
    target = lrs.post(statement(1, verb={"id": verb})).json[0]
    ref = lrs.post(
        statement(2, verb={"id": verb}, object={"objectType": "StatementRef", "id": target})
    ).json[0]
    voiding = lrs.post(_void(target)).json[0]
    ids = {s["id"] for s in lrs.get(verb=verb).json["statements"]}
    assert ids == {ref, voiding}
