"""Pure wire-format pieces of the HTTP layer: the more cursor, multipart framing,
Accept-Language and agent keys (no database; kept beside the HTTP tests they serve)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from masteryai_lti.xapi.cursor import Cursor, CursorInvalid, decode_cursor, encode_cursor
from masteryai_lti.xapi.indexing import accepted_languages, agent_key, index_fields
from masteryai_lti.xapi.multipart import MultipartError, build_multipart, parse_multipart

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
SECRET = "s" * 40


def _cursor(**overrides) -> Cursor:
    fields = {
        "institution_id": 3,
        "filters": {"verb": "http://a.org/v", "limit": 2},
        "ascending": True,
        "after_stored": NOW - timedelta(minutes=5),
        "after_row": 42,
        "snapshot": NOW,
        "issued_at": NOW,
    }
    fields.update(overrides)
    return Cursor(**fields)


def test_cursor_round_trips_and_stays_valid_for_more_than_a_day():
    token = encode_cursor(_cursor(), SECRET)
    later = NOW + timedelta(hours=30)
    assert decode_cursor(token, SECRET, institution_id=3, now=later) == _cursor()


@pytest.mark.parametrize(
    ("token_change", "institution_id", "now", "message"),
    [
        (lambda t: t[:-2] + "xx", 3, NOW, "signature"),
        (lambda t: t, 4, NOW, "another"),
        (lambda t: t, 3, NOW + timedelta(days=8), "expired"),
        (lambda t: "garbage", 3, NOW, "malformed"),
    ],
)
def test_cursor_refuses_tampering_other_tenants_and_old_tokens(
    token_change, institution_id, now, message
):
    token = token_change(encode_cursor(_cursor(), SECRET))
    with pytest.raises(CursorInvalid, match=message):
        decode_cursor(token, SECRET, institution_id=institution_id, now=now)


def test_multipart_round_trip():
    body, content_type = build_multipart(b'{"a": 1}', [("ab" * 32, "text/plain", b"hello\r\n")])
    parts = parse_multipart(body, content_type)
    assert [p.content_type for p in parts] == ["application/json", "text/plain"]
    assert parts[0].body == b'{"a": 1}'
    assert parts[1].body == b"hello\r\n"
    assert parts[1].headers["x-experience-api-hash"] == "ab" * 32


@pytest.mark.parametrize(
    ("body", "header", "path"),
    [
        (
            b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--",
            "multipart/mixed",
            "Content-Type",
        ),
        (b"no boundary here", "multipart/mixed; boundary=b", "body"),
        (
            b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n",
            "multipart/mixed; boundary=b",
            "body",
        ),
        (b"--b\r\nbroken header\r\n\r\n{}\r\n--b--", "multipart/mixed; boundary=b", "parts[0]"),
    ],
)
def test_malformed_multipart_is_refused_with_a_path(body, header, path):
    with pytest.raises(MultipartError) as caught:
        parse_multipart(body, header)
    assert caught.value.path == path


def test_accept_language_orders_by_quality():
    assert accepted_languages("fr;q=0.5, en-US, de;q=0") == ["en-US", "fr"]
    assert accepted_languages(None) == []


def test_agent_keys_distinguish_agents_from_groups_and_skip_anonymous_groups():
    assert agent_key({"mbox": "mailto:a@b.c"}) == "agent|mbox|mailto:a@b.c"
    assert agent_key({"objectType": "Group", "mbox": "mailto:a@b.c"}) == "group|mbox|mailto:a@b.c"
    account = {"account": {"homePage": "http://lms", "name": "7"}}
    assert agent_key(account) == "agent|account|http://lms|7"
    assert agent_key({"objectType": "Group", "member": [{"mbox": "mailto:x@y.z"}]}) is None


def test_index_fields_collect_related_agents_and_activities():
    statement = {
        "actor": {"objectType": "Group", "member": [{"mbox": "mailto:m@x.org"}]},
        "verb": {"id": "http://a.org/v"},
        "object": {
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:s@x.org"},
            "verb": {"id": "http://a.org/w"},
            "object": {"id": "http://a.org/inner"},
        },
        "context": {
            "instructor": {"mbox": "mailto:t@x.org"},
            "contextActivities": {"parent": [{"id": "http://a.org/course"}]},
        },
    }
    fields = index_fields(statement)
    assert fields["actor_key"] is None
    assert fields["object_type"] == "SubStatement" and fields["object_activity_id"] is None
    assert fields["agent_keys"] == [
        "agent|mbox|mailto:m@x.org",
        "agent|mbox|mailto:s@x.org",
        "agent|mbox|mailto:t@x.org",
        # The actor is a Group: its member matches the plain ``agent`` filter too.
        "member|agent|mbox|mailto:m@x.org",
    ]
    assert fields["activity_ids"] == ["http://a.org/course", "http://a.org/inner"]
