"""Statement comparison for idempotent re-posts (Data 2.3.1) and signed statements."""

from __future__ import annotations

import pytest

from masteryai_lti.xapi.comparison import (
    canonical_statement,
    same_statement,
    signed_statement_matches,
    statement_differences,
)
from masteryai_lti.xapi.normalisation import normalise_statement
from tests.unit.xapi.statements import ACTOR, DELETE, base_statement, statement_with

OTHER = {"objectType": "Agent", "mbox": "mailto:bob@example.com"}

# (case, changes to the re-post) -> still the same statement.
SAME = [
    ("identical", []),
    (
        "LRS-assigned properties differ",
        [("stored", "2030-01-01T00:00:00Z"), ("authority", OTHER), ("version", "1.0.3")],
    ),
    ("id case", [("id", base_statement()["id"].upper())]),
    ("timestamp in another zone", [("timestamp", "2024-05-04T14:00:00.123+02:00")]),
    ("timestamp extra digits", [("timestamp", "2024-05-04T12:00:00.1234999Z")]),
    ("timestamp omitted on re-post", [("timestamp", DELETE)]),
    ("verb display differs", [("verb.display", {"fr-FR": "a essayé"})]),
    ("activity definition differs", [("object.definition", {"name": {"en-US": "Renamed"}})]),
    ("activity objectType omitted", [("object.objectType", DELETE)]),
    ("actor objectType omitted", [("actor.objectType", DELETE)]),
    ("mbox domain case", [("actor.mbox", "mailto:ann@EXAMPLE.com")]),
    ("registration case", [("context.registration", "EC531277-B57B-4C15-8D91-D292C5B2B8F7")]),
    ("context language case", [("context.language", "EN-us")]),
    (
        "single context activity vs array",
        [("context.contextActivities.parent", {"id": "http://example.com/courses/algebra"})],
    ),
    (
        "context activity definition differs",
        [("context.contextActivities.parent[0].definition", {"name": {"en": "x"}})],
    ),
    ("integer vs float number", [("result.score.raw", 5.0)]),
    ("duration beyond hundredths", [("result.duration", "PT1M30.004S")]),
]


@pytest.mark.parametrize(("case", "changes"), SAME, ids=[row[0] for row in SAME])
def test_same_statement(case, changes):
    assert statement_differences(base_statement(), statement_with(*changes)) == []
    assert same_statement(statement_with(*changes), base_statement())


# (case, changes to the re-post, path reported) -> a different statement (409).
DIFFERENT = [
    ("actor", [("actor", OTHER)], "actor.mbox"),
    ("mbox local part case", [("actor.mbox", "mailto:ANN@example.com")], "actor.mbox"),
    ("verb id", [("verb.id", "http://adlnet.gov/expapi/verbs/passed")], "verb.id"),
    ("object id", [("object.id", "http://example.com/activities/quiz-2")], "object.id"),
    ("timestamp instant", [("timestamp", "2024-05-04T12:00:01.123Z")], "timestamp"),
    ("score", [("result.score.raw", 6)], "result.score.raw"),
    ("success flipped", [("result.success", False)], "result.success"),
    (
        "boolean vs number",
        [("result.extensions", {"http://example.com/ext/attempt": True})],
        "result.extensions.http://example.com/ext/attempt",
    ),
    ("duration in hundredths", [("result.duration", "PT1M30.01S")], "result.duration"),
    ("duration units", [("result.duration", "PT90S")], "result.duration"),
    ("result removed", [("result", DELETE)], "result"),
    (
        "context extension value",
        [("context.extensions", {"http://example.com/ext/cohort": 2})],
        "context.extensions.http://example.com/ext/cohort",
    ),
    (
        "extra context activity",
        [
            (
                "context.contextActivities.parent",
                [{"id": "http://example.com/courses/algebra"}, {"id": "http://x.org/b"}],
            )
        ],
        "context.contextActivities.parent",
    ),
    ("response case", [("result.response", "b")], "result.response"),
]


@pytest.mark.parametrize(("case", "changes", "path"), DIFFERENT, ids=[row[0] for row in DIFFERENT])
def test_different_statement(case, changes, path):
    differences = statement_differences(base_statement(), statement_with(*changes))
    assert path in differences
    assert not same_statement(base_statement(), statement_with(*changes))


def test_group_member_order_is_ignored():
    group = {"objectType": "Group", "member": [ACTOR, OTHER]}
    reordered = {"objectType": "Group", "member": [OTHER, {**ACTOR, "objectType": "Agent"}]}
    assert same_statement(statement_with(("actor", group)), statement_with(("actor", reordered)))
    fewer = {"objectType": "Group", "member": [OTHER]}
    assert not same_statement(statement_with(("actor", group)), statement_with(("actor", fewer)))


def test_substatement_timestamps_compare_as_instants():
    sub = {
        "objectType": "SubStatement",
        "actor": ACTOR,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": "http://example.com/a"},
        "timestamp": "2024-01-01T10:00:00+02:00",
    }
    stored = statement_with(("object", sub), ("context", DELETE))
    same = statement_with(
        ("object", {**sub, "timestamp": "2024-01-01T08:00:00.000Z"}), ("context", DELETE)
    )
    moved = statement_with(
        ("object", {**sub, "timestamp": "2024-01-01T10:00:00Z"}), ("context", DELETE)
    )
    assert same_statement(stored, same)
    assert statement_differences(stored, moved) == ["object.timestamp"]


def test_statement_ref_id_case_is_ignored():
    ref = {"objectType": "StatementRef", "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"}
    upper = {**ref, "id": ref["id"].upper()}
    assert same_statement(statement_with(("object", ref)), statement_with(("object", upper)))


def test_stored_form_equals_the_original_post():
    # What storage keeps (UTC timestamps, arrays, LRS fields) still matches a retry.
    original = statement_with(
        ("timestamp", "2024-05-04T09:00:00.123-03:00"),
        ("context.contextActivities.parent", {"id": "http://example.com/courses/algebra"}),
    )
    stored = normalise_statement(original)
    stored.update(stored="2024-05-04T12:00:01.000Z", authority=OTHER, version="1.0.0")
    assert same_statement(stored, original)


def test_signed_statement_payload_comparison_ignores_duration_precision():
    payload = statement_with(("result.duration", "P1DT12H36M0.12S"))
    sent = statement_with(("result.duration", "P1DT12H36M0.1237S"), ("authority", OTHER))
    assert signed_statement_matches(sent, payload)
    assert not signed_statement_matches(statement_with(("actor", OTHER)), payload)


def test_canonical_form_does_not_modify_input():
    statement = base_statement()
    canonical_statement(statement)
    assert statement == base_statement()
