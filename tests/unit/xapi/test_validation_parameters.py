"""GET/PUT/POST /statements parameters (Communication 2.1.3; bad values -> 400, XAPI-00012)."""

from __future__ import annotations

import json

import pytest

from masteryai_lti.xapi.validation import (
    StatementQuery,
    parse_statement_query,
    validate_agent_parameter,
    validate_post_parameters,
    validate_put_parameters,
)
from tests.unit.xapi.statements import STATEMENT_ID, base_statement

AGENT = json.dumps({"mbox": "mailto:ann@example.com"})

BAD_QUERIES = [
    ("statementId not a UUID", {"statementId": "abc"}, "statementId"),
    ("statementId too long", {"statementId": STATEMENT_ID + "1"}, "statementId"),
    ("voidedStatementId not a UUID", {"voidedStatementId": "12345"}, "voidedStatementId"),
    (
        "both ids",
        {"statementId": STATEMENT_ID, "voidedStatementId": STATEMENT_ID},
        "voidedStatementId",
    ),
    ("id with a filter", {"statementId": STATEMENT_ID, "verb": "http://x.org/v"}, "verb"),
    ("id with limit", {"voidedStatementId": STATEMENT_ID, "limit": "3"}, "limit"),
    ("agent not JSON", {"agent": "ann@example.com"}, "agent"),
    ("agent without IFI", {"agent": json.dumps({"name": "Ann"})}, "agent"),
    (
        "agent with two IFIs",
        {"agent": json.dumps({"mbox": "mailto:a@b.c", "openid": "http://o.org/a"})},
        "agent",
    ),
    ("agent bad mbox", {"agent": json.dumps({"mbox": "a@b.c"})}, "agent.mbox"),
    ("agent a JSON array", {"agent": "[]"}, "agent"),
    ("verb not an IRI", {"verb": "attempted"}, "verb"),
    ("activity not an IRI", {"activity": "quiz 1"}, "activity"),
    ("registration not a UUID", {"registration": "r1"}, "registration"),
    ("since not a timestamp", {"since": "yesterday"}, "since"),
    ("until with unknown offset", {"until": "2024-01-01T00:00:00-00:00"}, "until"),
    ("limit negative", {"limit": "-1"}, "limit"),
    ("limit not a number", {"limit": "ten"}, "limit"),
    ("format unknown", {"format": "full"}, "format"),
    ("ascending not boolean", {"ascending": "yes"}, "ascending"),
    ("attachments not boolean", {"attachments": "1"}, "attachments"),
    ("related_agents not boolean", {"related_agents": "maybe"}, "related_agents"),
    ("unknown parameter", {"actor": AGENT}, "actor"),
]


@pytest.mark.parametrize(
    ("case", "params", "path"), BAD_QUERIES, ids=[row[0] for row in BAD_QUERIES]
)
def test_bad_query(case, params, path):
    query, problems = parse_statement_query(params, "1.0.3")
    assert query is None
    assert path in [p.path for p in problems]
    assert all(p.status == 400 for p in problems)


def test_full_query_parsed():
    params = {
        "agent": AGENT,
        "verb": "http://adlnet.gov/expapi/verbs/passed",
        "activity": "http://example.com/a",
        "registration": STATEMENT_ID,
        "related_activities": "true",
        "related_agents": "False",
        "since": "2024-01-01T00:00:00Z",
        "until": "2024-02-01T00:00:00+01:00",
        "limit": "25",
        "format": "ids",
        "attachments": "false",
        "ascending": "TRUE",
    }
    query, problems = parse_statement_query(params, "2.0.0")
    assert problems == []
    assert query == StatementQuery(
        agent={"mbox": "mailto:ann@example.com"},
        verb="http://adlnet.gov/expapi/verbs/passed",
        activity="http://example.com/a",
        registration=STATEMENT_ID,
        related_activities=True,
        related_agents=False,
        since="2024-01-01T00:00:00Z",
        until="2024-02-01T00:00:00+01:00",
        limit=25,
        format="ids",
        attachments=False,
        ascending=True,
    )


def test_defaults_and_single_fetch():
    query, problems = parse_statement_query({}, "1.0.3")
    assert problems == [] and query == StatementQuery()
    query, problems = parse_statement_query(
        {"statementId": STATEMENT_ID, "format": "canonical", "attachments": "true"}
    )
    assert problems == [] and query.statement_id == STATEMENT_ID and query.attachments is True


def test_allowed_extra_parameters_are_passed_through():
    query, problems = parse_statement_query({"method": "GET"}, allow=frozenset({"method"}))
    assert problems == [] and query.extra == {"method": "GET"}


def test_agent_parameter_accepts_identified_group():
    group = json.dumps({"objectType": "Group", "mbox": "mailto:team@example.com"})
    agent, problems = validate_agent_parameter(group)
    assert problems == [] and agent["objectType"] == "Group"
    anonymous = json.dumps({"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]})
    agent, problems = validate_agent_parameter(anonymous)
    assert agent is None and [p.path for p in problems] == ["agent"]


@pytest.mark.parametrize(
    ("params", "statement", "path"),
    [
        ({}, base_statement(), "statementId"),
        ({"statementId": "x"}, base_statement(), "statementId"),
        ({"statementId": "0c4f2ab3-5a3a-4cc4-9c55-39a8e0f2f9a1"}, base_statement(), "id"),
        ({"statementId": STATEMENT_ID, "verb": "http://x.org/v"}, base_statement(), "verb"),
    ],
)
def test_bad_put_parameters(params, statement, path):
    assert path in [p.path for p in validate_put_parameters(params, statement)]


def test_good_put_parameters():
    assert validate_put_parameters({"statementId": STATEMENT_ID.upper()}, base_statement()) == []
    assert validate_put_parameters({"statementId": STATEMENT_ID}, {"actor": {}}) == []


def test_post_takes_no_parameters():
    assert [p.path for p in validate_post_parameters({"statementId": STATEMENT_ID})] == [
        "statementId"
    ]
    assert validate_post_parameters({"method": "PUT"}, allow=frozenset({"method"})) == []
