"""JSON that Python parses but a store cannot keep, or that would exhaust the stack:
each is a 400 problem+json naming where it is, and nothing of the request is stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from masteryai_lti.extensions import db
from masteryai_lti.xapi.models import XapiStatement
from tests.integration.xapi.conftest import statement

PROBLEM = "application/problem+json"
EXTENSION = "http://example.org/ext/x"


def _post_text(lrs, text: str, method: str = "POST", **query):
    return lrs.client.open(
        "/xapi/statements",
        method=method,
        data=text.encode("utf-8"),
        query_string=query or None,
        headers=lrs.headers(**{"Content-Type": "application/json"}),
    )


def _stored() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(XapiStatement))


def _refused(response, path: str, words: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    error = response.json["errors"][0]
    assert error["path"] == path, error
    assert words in error["message"], error
    assert _stored() == 0


def _batch(bad: dict) -> str:
    # A good statement first: a refused batch stores neither.
    return json.dumps([statement(1), bad])


@pytest.mark.parametrize(
    ("bad", "path", "words"),
    [
        (statement(result={"response": "a\u0000b"}), "statements[1].result.response", "NUL"),
        (
            statement(result={"extensions": {EXTENSION: {"note": "x\u0000"}}}),
            f"statements[1].result.extensions.{EXTENSION}.note",
            "NUL",
        ),
        (
            statement(context={"extensions": {"http://example.org/\u0000": 1}}),
            "statements[1].context.extensions.http://example.org/\\u0000",
            "NUL",
        ),
        (statement(result={"response": "\ud800"}), "statements[1].result.response", "surrogate"),
        (
            statement(actor={"mbox": "mailto:a@example.org", "name": "Ann \udfff"}),
            "statements[1].actor.name",
            "surrogate",
        ),
    ],
)
def test_strings_no_store_can_keep_are_400(lrs, bad, path, words):
    _refused(_post_text(lrs, _batch(bad)), path, words)


@pytest.mark.parametrize(
    ("literal", "path"),
    [
        ("NaN", "statements[1].result.score.raw"),
        ("Infinity", "statements[1].result.score.raw"),
        ("-Infinity", "statements[1].result.score.raw"),
        ("1e400", "statements[1].result.score.raw"),
    ],
)
def test_numbers_json_does_not_have_are_400(lrs, literal, path):
    bad = statement(result={"score": {"raw": 12345}})
    text = _batch(bad).replace("12345", literal)
    _refused(_post_text(lrs, text), path, "finite number")


def test_a_non_finite_number_inside_an_extension_of_a_single_statement(lrs):
    text = json.dumps(statement(result={"extensions": {EXTENSION: [1, 2, 31337]}}))
    response = _post_text(lrs, text.replace("31337", "NaN"))
    _refused(response, f"result.extensions.{EXTENSION}[2]", "finite number")


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_nesting_beyond_the_parsers_stack_is_400(lrs, method):
    depth = 100_000
    query = {"statementId": "9c3b9b0e-2f7c-4e7e-8d3a-2b6f2a1d1c01"} if method == "PUT" else {}
    _refused(_post_text(lrs, "[" * depth + "]" * depth, method, **query), "body", "nested")


def test_deep_nesting_inside_an_extension_is_400_naming_the_extension(lrs):
    deep = "[" * 300 + "]" * 300
    text = json.dumps(statement(context={"extensions": {EXTENSION: "DEEP"}}))
    response = _post_text(lrs, text.replace('"DEEP"', deep))
    _refused(response, f"context.extensions.{EXTENSION}", "nested")


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_timestamps_beyond_the_calendar_in_utc_are_400(lrs, lrs2, timestamp):
    for client in (lrs, lrs2):
        response = client.post([statement(1), statement(2, timestamp=timestamp)])
        _refused(response, "statements[1].timestamp", "range")
    for parameter in ("since", "until"):
        response = lrs.get(**{parameter: timestamp})
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.mimetype == PROBLEM
        assert response.json["errors"][0]["path"] == parameter


def test_the_earliest_and_latest_utc_instants_still_store_and_read_back(lrs2):
    # Year 1 must render with four digits ("0001-..."), or 2.0's UTC rewrite would
    # store a timestamp its own validator refuses.
    first = lrs2.post(statement(1, timestamp="0001-01-01T05:00:00+05:00")).json[0]
    last = lrs2.post(statement(2, timestamp="9999-12-31T18:59:59.999-05:00")).json[0]
    assert lrs2.get(statementId=first).json["timestamp"] == "0001-01-01T00:00:00.000Z"
    assert lrs2.get(statementId=last).json["timestamp"] == "9999-12-31T23:59:59.999Z"


@pytest.mark.parametrize(
    ("url", "params", "path"),
    [
        ("/xapi/statements", {"verb": "http://example.org/v\u0000"}, "verb"),
        ("/xapi/statements", {"activity": "http://example.org/a\u0000"}, "activity"),
        (
            "/xapi/statements",
            {"agent": json.dumps({"mbox": "mailto:a\u0000@example.org"})},
            "agent.mbox",
        ),
        ("/xapi/activities", {"activityId": "http://example.org/a\u0000"}, "activityId"),
        (
            "/xapi/activities/state",
            {
                "activityId": "http://example.org/a",
                "agent": json.dumps({"mbox": "mailto:a@example.org"}),
                "stateId": "s\u0000",
            },
            "stateId",
        ),
    ],
)
def test_parameters_carrying_nul_are_400(lrs, url, params, path):
    response = lrs.get(url, **params)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.json["errors"][0]["path"] == path
