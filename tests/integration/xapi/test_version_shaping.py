"""Statements are returned shaped for the xAPI version the reader asked for.

A statement stored from a 2.0 client may carry properties 1.0.3 does not define
(``context.contextAgents``, ``context.contextGroups``) and a 2.x ``version``; a 1.0.x
reader gets it without them, so it validates under 1.0.3, while a 2.0 reader gets
everything stored. A 2.0 reader gets every timestamp in UTC, as IEEE 9274.1.1 4.2.7
requires, even when a 1.0.3 client sent it with another offset.
"""

from __future__ import annotations

import json

from masteryai_lti.xapi.multipart import parse_multipart
from masteryai_lti.xapi.validation import validate_statement
from tests.integration.xapi.conftest import attachment_of, multipart_body, post_multipart, statement

INSTRUCTOR_TYPE = "http://id.tincanapi.com/activitytype/instructor"
CONTEXT_AGENT = {
    "objectType": "contextAgent",
    "agent": {"objectType": "Agent", "mbox": "mailto:teacher@example.org"},
    "relevantTypes": [INSTRUCTOR_TYPE],
}
CONTEXT_GROUP = {
    "objectType": "contextGroup",
    "group": {"objectType": "Group", "mbox": "mailto:team@example.org"},
    "relevantTypes": ["http://example.org/types/team"],
}
CONTEXT = {
    "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
    "language": "en-GB",
    "contextActivities": {"parent": [{"id": "http://example.org/course/1"}]},
    "contextAgents": [CONTEXT_AGENT],
    "contextGroups": [CONTEXT_GROUP],
}


def _v2_statement(n: int = 0) -> dict:
    """A 2.0 statement using 2.0-only context properties, in its own context and in
    the context of a sub-statement."""
    return statement(
        n,
        context=CONTEXT,
        object={
            "objectType": "SubStatement",
            "actor": {"mbox": f"mailto:peer{n}@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": "http://example.org/activity/q1"},
            "context": {"contextAgents": [CONTEXT_AGENT]},
        },
    )


def _assert_1_0_3(got: dict) -> None:
    assert validate_statement(got, "1.0.3") == [], validate_statement(got, "1.0.3")
    assert "contextAgents" not in got["context"]
    assert "contextGroups" not in got["context"]
    assert "contextAgents" not in got["object"]["context"]
    # What 1.0.3 defines is all still there.
    assert got["context"]["registration"] == CONTEXT["registration"]
    assert got["context"]["language"] == "en-GB"
    assert got["context"]["contextActivities"] == CONTEXT["contextActivities"]
    assert got["version"] == "1.0.0"


def test_a_1_0_3_reader_gets_a_2_0_statement_without_2_0_only_properties(lrs, lrs2):
    sid = lrs2.post(_v2_statement()).json[0]
    old = lrs.get(statementId=sid)
    assert old.status_code == 200
    assert old.headers["X-Experience-API-Version"] == "1.0.3"
    _assert_1_0_3(old.json)

    new = lrs2.get(statementId=sid)
    assert new.headers["X-Experience-API-Version"] == "2.0.0"
    assert new.json["context"]["contextAgents"] == [CONTEXT_AGENT]
    assert new.json["context"]["contextGroups"] == [CONTEXT_GROUP]
    assert new.json["object"]["context"]["contextAgents"] == [CONTEXT_AGENT]
    assert new.json["version"] == "2.0.0"
    assert validate_statement(new.json, "2.0.0") == []


def test_any_1_0_x_header_gets_the_1_0_3_shape(lrs, lrs2):
    sid = lrs2.post(_v2_statement()).json[0]
    for version in ("1.0", "1.0.0", "1.0.1"):
        got = lrs.get(statementId=sid, headers={"X-Experience-API-Version": version})
        assert got.headers["X-Experience-API-Version"] == "1.0.3"
        _assert_1_0_3(got.json)


def test_an_explicit_2_0_version_is_told_to_a_1_0_3_reader_as_1_0_0(lrs, lrs2):
    sid = lrs2.post({**_v2_statement(), "version": "2.0.0"}).json[0]
    assert lrs.get(statementId=sid).json["version"] == "1.0.0"
    assert lrs2.get(statementId=sid).json["version"] == "2.0.0"


def test_a_1_0_x_version_is_returned_as_it_was_accepted(lrs, lrs2):
    # XAPI-00332: statements keep the version they were accepted with.
    sid = lrs2.post({**statement(), "version": "1.0.2"}).json[0]
    assert lrs.get(statementId=sid).json["version"] == "1.0.2"
    assert lrs2.get(statementId=sid).json["version"] == "1.0.2"


def test_query_pages_and_more_links_are_shaped_for_each_request(lrs, lrs2):
    for n in range(3):
        assert lrs2.post(_v2_statement(n)).status_code == 200
    page = lrs.get(limit=2)
    assert page.headers["X-Experience-API-Version"] == "1.0.3"
    assert len(page.json["statements"]) == 2
    for got in page.json["statements"]:
        _assert_1_0_3(got)
    more = page.json["more"]
    # The same cursor read by a 1.0.3 reader and by a 2.0 reader.
    old = lrs.get(more).json["statements"]
    assert len(old) == 1
    _assert_1_0_3(old[0])
    new = lrs2.get(more)
    assert new.headers["X-Experience-API-Version"] == "2.0.0"
    assert new.json["statements"][0]["context"]["contextAgents"] == [CONTEXT_AGENT]


def test_format_ids_and_canonical_are_shaped_too(lrs, lrs2):
    sid = lrs2.post(_v2_statement()).json[0]
    for fmt in ("ids", "canonical", "exact"):
        got = lrs.get(statementId=sid, format=fmt).json
        assert "contextAgents" not in got["context"], fmt
        assert "contextGroups" not in got["context"], fmt
        assert got["version"] == "1.0.0", fmt
    ids = lrs2.get(statementId=sid, format="ids").json
    assert ids["context"]["contextAgents"][0]["agent"] == {
        "objectType": "Agent",
        "mbox": "mailto:teacher@example.org",
    }


def test_voided_statements_are_shaped_for_the_reader(lrs, lrs2):
    target = lrs2.post(_v2_statement()).json[0]
    void = statement(
        9,
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": target},
    )
    assert lrs2.post(void).status_code == 200
    old = lrs.get(voidedStatementId=target)
    assert old.status_code == 200
    _assert_1_0_3(old.json)
    assert lrs2.get(voidedStatementId=target).json["context"]["contextGroups"] == [CONTEXT_GROUP]


def test_multipart_results_are_shaped_for_the_reader(lrs, lrs2):
    data = b"evidence"
    attachment = attachment_of(data)
    payload = {**_v2_statement(), "attachments": [attachment]}
    body = multipart_body(payload, [("text/plain", data, attachment["sha2"])], encoding=None)
    posted = post_multipart(lrs2, body)
    assert posted.status_code == 200, posted.json
    sid = posted.json[0]
    for response, many in (
        (lrs.get(statementId=sid, attachments="true"), False),
        (lrs.get(attachments="true"), True),
    ):
        assert response.mimetype == "multipart/mixed"
        parts = parse_multipart(response.data, response.headers["Content-Type"])
        document = json.loads(parts[0].body)
        got = document["statements"][0] if many else document
        _assert_1_0_3(got)
        assert parts[1].body == data


def test_a_2_0_reader_gets_timestamps_a_1_0_3_client_sent_in_utc(lrs, lrs2):
    sid = lrs.post(
        statement(
            timestamp="2015-03-04T10:15:00.123456+02:00",
            object={
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:peer@example.org"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
                "object": {"id": "http://example.org/activity/q1"},
                "timestamp": "20150304T101500-0500",
            },
        )
    ).json[0]
    new = lrs2.get(statementId=sid).json
    assert new["timestamp"] == "2015-03-04T08:15:00.123456Z"
    assert new["object"]["timestamp"] == "2015-03-04T15:15:00.000Z"
    listed = lrs2.get().json["statements"][0]
    assert listed["timestamp"] == "2015-03-04T08:15:00.123456Z"
    # A 1.0.3 reader gets them as they were sent: ISO 8601 is what 1.0.3 asks for.
    old = lrs.get(statementId=sid).json
    assert old["timestamp"] == "2015-03-04T10:15:00.123456+02:00"
    assert old["object"]["timestamp"] == "20150304T101500-0500"
