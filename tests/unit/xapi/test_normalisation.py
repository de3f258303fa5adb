"""Normalising an accepted statement for storage (UTC timestamps, context activity arrays)."""

from __future__ import annotations

from masteryai_lti.xapi.normalisation import normalise_statement
from masteryai_lti.xapi.validation import validate_statement
from tests.unit.xapi.statements import ACTOR, DELETE, statement_with


def test_timestamps_converted_to_utc_with_precision_kept():
    statement = statement_with(
        ("timestamp", "2023-05-04T12:00:00.1234-05:00"), ("stored", "2023-05-04T12:00:00+01:00")
    )
    out = normalise_statement(statement)
    assert out["timestamp"] == "2023-05-04T17:00:00.1234Z"
    assert out["stored"] == "2023-05-04T11:00:00.000Z"
    assert statement["timestamp"] == "2023-05-04T12:00:00.1234-05:00"  # input untouched


def test_to_utc_can_be_switched_off():
    statement = statement_with(("timestamp", "2023-05-04T12:00:00-05:00"))
    assert normalise_statement(statement, to_utc=False)["timestamp"] == "2023-05-04T12:00:00-05:00"


def test_single_context_activities_become_arrays_in_statement_and_substatement():
    single = {"id": "http://example.com/c"}
    sub = {
        "objectType": "SubStatement",
        "actor": ACTOR,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": "http://example.com/a"},
        "context": {"contextActivities": {"category": single}},
        "timestamp": "2024-01-01T10:00:00+02:00",
    }
    statement = statement_with(
        ("object", sub),
        ("context.revision", DELETE),
        ("context.platform", DELETE),
        ("context.contextActivities", {"grouping": single, "parent": [single]}),
    )
    out = normalise_statement(statement)
    assert out["context"]["contextActivities"] == {"grouping": [single], "parent": [single]}
    assert out["object"]["context"]["contextActivities"] == {"category": [single]}
    assert out["object"]["timestamp"] == "2024-01-01T08:00:00.000Z"
    assert validate_statement(out, "2.0.0") == []


def test_version_and_duration_are_kept():
    statement = statement_with(("version", "1.0.9"), ("result.duration", "PT0.12567S"))
    out = normalise_statement(statement)
    assert out["version"] == "1.0.9"
    assert out["result"]["duration"] == "PT0.12567S"
