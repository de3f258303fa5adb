"""State, Activity Profile and Agent Profile resources (Communication 2.2-2.7, 3.1;
2.0 4.1.4, 4.1.6.2, 4.1.6.5, 4.1.6.6)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import pytest

from masteryai_lti.xapi import documents
from masteryai_lti.xapi.credentials import issue_credential
from tests.factories import make_institution
from tests.integration.xapi.conftest import Lrs

STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"
ACTIVITY = "http://example.org/activity/fractions"
AGENT = {"objectType": "Agent", "mbox": "mailto:ada@example.org"}


def state_params(state_id: str = "bookmark", agent: dict | None = None, **extra) -> dict:
    return {
        "activityId": ACTIVITY,
        "agent": json.dumps(agent or AGENT),
        "stateId": state_id,
        **extra,
    }


def send(lrs: Lrs, method: str, url: str, params: dict, body=None, **headers):
    """One request; a dict or list body goes as JSON, bytes/str as given."""
    kwargs = {"query_string": params, "headers": lrs.headers(**headers)}
    if isinstance(body, dict | list):
        kwargs["data"] = json.dumps(body)
        kwargs["headers"].setdefault("Content-Type", "application/json")
    elif body is not None:
        kwargs["data"] = body
    return lrs.client.open(url, method=method, **kwargs)


class Clock:
    """Stands in for the documents service's clock; each reading is one second later."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    ticking = Clock()
    monkeypatch.setattr(documents, "utcnow", ticking)
    return ticking


def assert_problem(response, status: int, path: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    if path is not None:
        assert response.json["errors"][0]["path"] == path


# --- reading and writing -------------------------------------------------------------


def test_put_then_get_returns_the_bytes_with_sha1_etag_and_last_modified(lrs, clock):
    body = b"\x00\x01 not json at all"
    put = send(lrs, "PUT", STATE, state_params(), body, **{"Content-Type": "application/x-bin"})
    assert put.status_code == 204
    got = send(lrs, "GET", STATE, state_params())
    assert got.status_code == 200
    assert got.data == body
    assert got.content_type == "application/x-bin"
    assert got.headers["ETag"] == '"' + hashlib.sha1(body).hexdigest() + '"'
    assert parsedate_to_datetime(got.headers["Last-Modified"]) == clock.now


def test_get_with_a_current_etag_is_304_without_a_body(lrs):
    """A client holding the current version gets 304 (RFC 9110 13.1.2); any other
    ETag, or a changed document, gets the bytes again."""
    send(lrs, "PUT", STATE, state_params(), {"page": 1})
    etag = send(lrs, "GET", STATE, state_params()).headers["ETag"]
    for method in ("GET", "HEAD"):
        for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
            cached = send(lrs, method, STATE, state_params(), **{"If-None-Match": header})
            assert cached.status_code == 304, header
            assert cached.data == b"" and cached.headers["ETag"] == etag
    stale = send(lrs, "GET", STATE, state_params(), **{"If-None-Match": '"not-it"'})
    assert stale.status_code == 200 and stale.json == {"page": 1}
    send(lrs, "PUT", STATE, state_params(), {"page": 2})
    changed = send(lrs, "GET", STATE, state_params(), **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json == {"page": 2}
    assert changed.headers["ETag"] != etag
    absent = send(lrs, "GET", STATE, state_params("absent"), **{"If-None-Match": "*"})
    assert_problem(absent, 404)


def test_json_document_round_trips_and_missing_document_is_404(lrs):
    document = {"page": 7, "notes": ["a", "b"]}
    assert send(lrs, "PUT", STATE, state_params(), document).status_code == 204
    got = send(lrs, "GET", STATE, state_params())
    assert got.json == document
    missing = send(lrs, "GET", STATE, state_params("never-stored"))
    assert_problem(missing, 404)


def test_head_answers_like_get_without_a_body(lrs):
    send(lrs, "PUT", STATE, state_params(), {"a": 1})
    head = send(lrs, "HEAD", STATE, state_params())
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == send(lrs, "GET", STATE, state_params()).headers["ETag"]
    listing = send(lrs, "HEAD", STATE, {"activityId": ACTIVITY, "agent": json.dumps(AGENT)})
    assert listing.status_code == 200 and listing.data == b""
    assert send(lrs, "HEAD", STATE, state_params("absent")).status_code == 404


def test_post_merges_top_level_properties_of_json_objects(lrs):
    first = {"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale", "kept": True}
    second = {"car": {"make": "Dodge"}, "driver": "Jeff"}
    assert send(lrs, "POST", STATE, state_params(), first).status_code == 204
    assert send(lrs, "POST", STATE, state_params(), second).status_code == 204
    merged = send(lrs, "GET", STATE, state_params())
    # One level deep: "car" is replaced whole, not merged key by key.
    assert merged.json == {"car": {"make": "Dodge"}, "driver": "Jeff", "kept": True}
    assert merged.headers["ETag"] == '"' + hashlib.sha1(merged.data).hexdigest() + '"'


def test_post_to_a_new_document_stores_it_whatever_its_type(lrs):
    response = send(lrs, "POST", STATE, state_params(), b"plain", **{"Content-Type": "text/plain"})
    assert response.status_code == 204
    got = send(lrs, "GET", STATE, state_params())
    assert got.data == b"plain" and got.content_type.startswith("text/plain")


@pytest.mark.parametrize(
    ("stored", "stored_type", "posted", "posted_type"),
    [
        ({"a": 1}, "application/json", b"abc", "text/plain"),  # posted is not JSON
        (b"raw", "application/octet-stream", {"a": 2}, "application/json"),  # stored is not
        ({"a": 1}, "application/json", b'{"broken": ', "application/json"),  # unparseable
        ({"a": 1}, "application/json", [1, 2], "application/json"),  # not an object
        ([1], "application/json", {"a": 2}, "application/json"),  # stored not an object
        (b"raw", "text/plain", b"more", "text/plain"),  # neither is JSON
    ],
)
def test_post_that_cannot_merge_is_400_and_changes_nothing(
    lrs, stored, stored_type, posted, posted_type
):
    stored_body = json.dumps(stored).encode() if isinstance(stored, dict | list) else stored
    posted_body = json.dumps(posted).encode() if isinstance(posted, dict | list) else posted
    send(lrs, "PUT", STATE, state_params(), stored_body, **{"Content-Type": stored_type})
    before = send(lrs, "GET", STATE, state_params())
    response = send(
        lrs, "POST", STATE, state_params(), posted_body, **{"Content-Type": posted_type}
    )
    assert_problem(response, 400)
    after = send(lrs, "GET", STATE, state_params())
    assert after.data == before.data
    assert after.headers["ETag"] == before.headers["ETag"]


def test_put_of_invalid_json_is_400(lrs):
    response = send(
        lrs, "PUT", STATE, state_params(), b"{nope", **{"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "body")
    assert send(lrs, "GET", STATE, state_params()).status_code == 404


# --- concurrency (Communication 3.1; 2.0 4.1.4) -----------------------------------------


def _etag(lrs, url, params) -> str:
    return send(lrs, "GET", url, params).headers["ETag"]


def test_profile_put_needs_a_precondition_under_1_0_3(lrs):
    params = {"activityId": ACTIVITY, "profileId": "settings"}
    # Nothing stored yet: 1.0.3 still refuses a PUT that carries neither header.
    assert_problem(send(lrs, "PUT", ACTIVITY_PROFILE, params, {"v": 0}), 400, "If-Match")
    created = send(lrs, "PUT", ACTIVITY_PROFILE, params, {"v": 1}, **{"If-None-Match": "*"})
    assert created.status_code == 204
    again = send(lrs, "PUT", ACTIVITY_PROFILE, params, {"v": 2}, **{"If-None-Match": "*"})
    assert_problem(again, 412)
    conflict = send(lrs, "PUT", ACTIVITY_PROFILE, params, {"v": 3})
    assert_problem(conflict, 409)
    assert "If-Match" in conflict.json["detail"]
    assert send(lrs, "GET", ACTIVITY_PROFILE, params).json == {"v": 1}


def test_if_match_replaces_only_the_current_version(lrs):
    params = {"agent": json.dumps(AGENT), "profileId": "prefs"}
    send(lrs, "PUT", AGENT_PROFILE, params, {"v": 1}, **{"If-None-Match": "*"})
    current = _etag(lrs, AGENT_PROFILE, params)
    stale = '"' + "1" * 40 + '"'
    assert_problem(send(lrs, "PUT", AGENT_PROFILE, params, {"v": 2}, **{"If-Match": stale}), 412)
    assert send(lrs, "GET", AGENT_PROFILE, params).json == {"v": 1}
    ok = send(lrs, "PUT", AGENT_PROFILE, params, {"v": 3}, **{"If-Match": current})
    assert ok.status_code == 204
    assert send(lrs, "GET", AGENT_PROFILE, params).json == {"v": 3}
    # The old tag no longer matches; "*" matches whatever exists.
    assert (
        send(lrs, "PUT", AGENT_PROFILE, params, {"v": 4}, **{"If-Match": current}).status_code
        == 412
    )
    assert send(lrs, "PUT", AGENT_PROFILE, params, {"v": 5}, **{"If-Match": "*"}).status_code == 204


def test_if_match_on_a_missing_document_is_412(lrs):
    params = {"activityId": ACTIVITY, "profileId": "absent"}
    response = send(lrs, "PUT", ACTIVITY_PROFILE, params, {"v": 1}, **{"If-Match": '"abc"'})
    assert_problem(response, 412)
    assert send(lrs, "GET", ACTIVITY_PROFILE, params).status_code == 404


def test_state_put_overwrites_without_headers_under_1_0_3(lrs):
    assert send(lrs, "PUT", STATE, state_params(), {"v": 1}).status_code == 204
    assert send(lrs, "PUT", STATE, state_params(), {"v": 2}).status_code == 204
    assert send(lrs, "GET", STATE, state_params()).json == {"v": 2}


def test_put_without_headers_onto_existing_document_is_409_for_every_resource_in_2_0(lrs2):
    cases = [
        (STATE, state_params()),
        (ACTIVITY_PROFILE, {"activityId": ACTIVITY, "profileId": "p"}),
        (AGENT_PROFILE, {"agent": json.dumps(AGENT), "profileId": "p"}),
    ]
    for url, params in cases:
        # 2.0 creates without a header when nothing would be overwritten...
        assert send(lrs2, "PUT", url, params, {"v": 1}).status_code == 204, url
        # ...and refuses a blind overwrite.
        assert_problem(send(lrs2, "PUT", url, params, {"v": 2}), 409)
        assert send(lrs2, "GET", url, params).json == {"v": 1}
        tag = _etag(lrs2, url, params)
        assert send(lrs2, "PUT", url, params, {"v": 3}, **{"If-Match": tag}).status_code == 204


def test_post_and_delete_honour_if_match(lrs2):
    params = state_params()
    send(lrs2, "POST", STATE, params, {"a": 1})
    tag = _etag(lrs2, STATE, params)
    assert_problem(send(lrs2, "POST", STATE, params, {"b": 2}, **{"If-Match": '"1234"'}), 412)
    assert_problem(send(lrs2, "DELETE", STATE, params, **{"If-Match": '"1234"'}), 412)
    assert send(lrs2, "GET", STATE, params).json == {"a": 1}
    assert send(lrs2, "POST", STATE, params, {"b": 2}, **{"If-Match": tag}).status_code == 204
    assert send(lrs2, "GET", STATE, params).json == {"a": 1, "b": 2}
    new_tag = _etag(lrs2, STATE, params)
    assert send(lrs2, "DELETE", STATE, params, **{"If-Match": new_tag}).status_code == 204
    assert send(lrs2, "GET", STATE, params).status_code == 404


def test_last_modified_moves_when_the_document_changes(lrs2, clock):
    params = {"activityId": ACTIVITY, "profileId": "lm"}
    send(lrs2, "POST", ACTIVITY_PROFILE, params, {"a": 1})
    first = parsedate_to_datetime(
        send(lrs2, "GET", ACTIVITY_PROFILE, params).headers["Last-Modified"]
    )
    send(lrs2, "POST", ACTIVITY_PROFILE, params, {"a": 2})
    second = parsedate_to_datetime(
        send(lrs2, "GET", ACTIVITY_PROFILE, params).headers["Last-Modified"]
    )
    assert second > first


# --- lists, since, registration, delete-all ---------------------------------------------


def _context(agent: dict | None = None, **extra) -> dict:
    return {"activityId": ACTIVITY, "agent": json.dumps(agent or AGENT), **extra}


def test_get_without_id_lists_ids_and_since_is_exclusive(lrs, clock):
    send(lrs, "PUT", STATE, state_params("one"), {"n": 1})
    after_one = clock.now
    send(lrs, "PUT", STATE, state_params("two"), {"n": 2})
    listed = send(lrs, "GET", STATE, _context())
    assert listed.status_code == 200
    assert listed.json == ["one", "two"]
    assert parsedate_to_datetime(listed.headers["Last-Modified"]) == clock.now
    since = send(lrs, "GET", STATE, _context(since=after_one.isoformat()))
    assert since.json == ["two"]
    later = (clock.now + timedelta(seconds=5)).isoformat()
    assert send(lrs, "GET", STATE, _context(since=later)).json == []


def test_lists_are_scoped_to_their_context(lrs):
    other_agent = {"mbox": "mailto:grace@example.org"}
    send(lrs, "PUT", STATE, state_params("mine"), {"n": 1})
    send(lrs, "PUT", STATE, state_params("theirs", agent=other_agent), {"n": 2})
    other_activity = {**state_params("elsewhere"), "activityId": ACTIVITY + "/2"}
    send(lrs, "PUT", STATE, other_activity, {"n": 3})
    assert send(lrs, "GET", STATE, _context()).json == ["mine"]
    assert send(lrs, "GET", STATE, _context(other_agent)).json == ["theirs"]


def test_profile_lists_with_since(lrs2, clock):
    for profile_id in ("a", "b"):
        send(lrs2, "POST", ACTIVITY_PROFILE, {"activityId": ACTIVITY, "profileId": profile_id}, {})
        send(lrs2, "POST", AGENT_PROFILE, {"agent": json.dumps(AGENT), "profileId": profile_id}, {})
    activity = send(lrs2, "GET", ACTIVITY_PROFILE, {"activityId": ACTIVITY})
    agent = send(lrs2, "GET", AGENT_PROFILE, {"agent": json.dumps(AGENT)})
    assert activity.json == ["a", "b"] and agent.json == ["a", "b"]
    since = (clock.now - timedelta(seconds=1)).isoformat()
    # Only agent profile "b" was written in the last second.
    assert send(lrs2, "GET", AGENT_PROFILE, {"agent": json.dumps(AGENT), "since": since}).json == [
        "b"
    ]
    assert send(lrs2, "GET", ACTIVITY_PROFILE, {"activityId": ACTIVITY, "since": since}).json == []


def test_registration_separates_state_and_delete_all_respects_it(lrs):
    registration = str(uuid.uuid4())
    send(lrs, "PUT", STATE, state_params("s"), {"plain": True})
    send(lrs, "PUT", STATE, state_params("s", registration=registration), {"registered": True})
    send(lrs, "PUT", STATE, state_params("other-agent", agent={"mbox": "mailto:x@example.org"}), {})
    assert send(lrs, "GET", STATE, state_params("s")).json == {"plain": True}
    registered = state_params("s", registration=registration)
    assert send(lrs, "GET", STATE, registered).json == {"registered": True}
    assert send(lrs, "GET", STATE, _context(registration=registration)).json == ["s"]

    assert send(lrs, "DELETE", STATE, _context(registration=registration)).status_code == 204
    assert send(lrs, "GET", STATE, registered).status_code == 404
    assert send(lrs, "GET", STATE, state_params("s")).status_code == 200

    send(lrs, "PUT", STATE, state_params("t"), {})
    assert send(lrs, "DELETE", STATE, _context()).status_code == 204
    assert send(lrs, "GET", STATE, _context()).json == []
    # Another agent's state in the same activity is another context.
    other = _context({"mbox": "mailto:x@example.org"})
    assert send(lrs, "GET", STATE, other).json == ["other-agent"]


def test_delete_one_document_and_deleting_an_absent_one_is_204(lrs):
    params = {"activityId": ACTIVITY, "profileId": "gone"}
    send(lrs, "POST", ACTIVITY_PROFILE, params, {"a": 1})
    assert send(lrs, "DELETE", ACTIVITY_PROFILE, params).status_code == 204
    assert send(lrs, "GET", ACTIVITY_PROFILE, params).status_code == 404
    assert send(lrs, "DELETE", ACTIVITY_PROFILE, params).status_code == 204


# --- agents ------------------------------------------------------------------------------


def test_agent_is_matched_by_its_identifier_not_its_spelling(lrs):
    params = {
        "agent": json.dumps({"mbox": "mailto:ada@example.org", "name": "Ada"}),
        "profileId": "p",
    }
    send(lrs, "POST", AGENT_PROFILE, params, {"theme": "dark"})
    same = {
        "agent": json.dumps({"objectType": "Agent", "mbox": "mailto:ada@example.org"}),
        "profileId": "p",
    }
    assert send(lrs, "GET", AGENT_PROFILE, same).json == {"theme": "dark"}
    # A Group with the same mailbox is another actor.
    group = {
        "agent": json.dumps({"objectType": "Group", "mbox": "mailto:ada@example.org"}),
        "profileId": "p",
    }
    assert send(lrs, "GET", AGENT_PROFILE, group).status_code == 404


# --- parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "params", "path"),
    [
        ("GET", STATE, {"agent": json.dumps(AGENT), "stateId": "s"}, "activityId"),
        ("PUT", STATE, {"activityId": ACTIVITY, "stateId": "s"}, "agent"),
        ("GET", STATE, {**state_params(), "agent": "{not json"}, "agent"),
        ("POST", STATE, {**state_params(), "agent": "true"}, "agent"),
        ("GET", STATE, {**state_params(), "agent": json.dumps({"name": "no ifi"})}, "agent"),
        ("PUT", STATE, {**state_params(), "registration": "not-a-uuid"}, "registration"),
        ("GET", STATE, {**state_params(), "activityId": "not an iri"}, "activityId"),
        ("PUT", STATE, _context(), "stateId"),
        ("POST", STATE, _context(), "stateId"),
        ("GET", STATE, _context(since="yesterday"), "since"),
        ("GET", STATE, {**state_params(), "since": "2026-01-01T00:00:00Z"}, "since"),
        ("DELETE", STATE, _context(since="2026-01-01T00:00:00Z"), "since"),
        ("GET", STATE, {**state_params(), "profileId": "x"}, "profileId"),
        ("PUT", ACTIVITY_PROFILE, {"activityId": ACTIVITY}, "profileId"),
        ("DELETE", ACTIVITY_PROFILE, {"activityId": ACTIVITY}, "profileId"),
        ("DELETE", AGENT_PROFILE, {"agent": json.dumps(AGENT)}, "profileId"),
        ("GET", AGENT_PROFILE, {"profileId": "p"}, "agent"),
        ("GET", AGENT_PROFILE, {"agent": json.dumps(AGENT), "since": "true"}, "since"),
        ("GET", ACTIVITY_PROFILE, {"profileId": "p"}, "activityId"),
    ],
)
def test_bad_parameters_are_400_problems(lrs, method, url, params, path):
    response = send(lrs, method, url, params, {"a": 1} if method in ("PUT", "POST") else None)
    assert_problem(response, 400, path)


def test_repeated_parameter_is_400(lrs):
    query = urlencode(state_params()) + "&stateId=again"
    response = lrs.client.get(f"{STATE}?{query}", headers=lrs.headers())
    assert_problem(response, 400, "stateId")


def test_version_and_credentials_are_checked_first(client, lrs):
    no_version = client.get(STATE, query_string=state_params(), headers={"Authorization": lrs.auth})
    assert_problem(no_version, 400, "X-Experience-API-Version")
    anonymous = client.get(
        STATE, query_string=state_params(), headers={"X-Experience-API-Version": "1.0.3"}
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")


def test_alternate_syntax_writes_and_reads_documents_under_1_0_3(lrs):
    form = {
        **state_params(),
        "content": json.dumps({"via": "form"}),
        "Content-Type": "application/json",
        "X-Experience-API-Version": "1.0.3",
    }
    headers = {"Authorization": lrs.auth, "Content-Type": "application/x-www-form-urlencoded"}
    put = lrs.client.post(f"{STATE}?method=PUT", data=urlencode(form), headers=headers)
    assert put.status_code == 204
    assert send(lrs, "GET", STATE, state_params()).json == {"via": "form"}


# --- tenancy and scopes ------------------------------------------------------------------


def test_another_institution_sees_none_of_the_documents(client, lrs):
    send(lrs, "PUT", STATE, state_params(), {"secret": 1})
    other = make_institution(slug=f"other-{uuid.uuid4().hex[:6]}")
    issued = issue_credential(other.id, "theirs")
    theirs = Lrs(client, issued.key, issued.secret)
    assert send(theirs, "GET", STATE, state_params()).status_code == 404
    assert send(theirs, "GET", STATE, _context()).json == []
    # Their delete-all touches only their own documents.
    assert send(theirs, "DELETE", STATE, _context()).status_code == 204
    assert send(theirs, "PUT", STATE, state_params(), {"theirs": 1}).status_code == 204
    assert send(lrs, "GET", STATE, state_params()).json == {"secret": 1}
    assert send(theirs, "GET", STATE, state_params()).json == {"theirs": 1}


def test_writes_need_the_write_scope_and_reads_a_read_scope(client, institution, lrs):
    send(lrs, "PUT", STATE, state_params(), {"a": 1})
    reader = issue_credential(institution.id, "reader", ["read-all"])
    writer = issue_credential(institution.id, "writer", ["write"])
    reading = Lrs(client, reader.key, reader.secret)
    writing = Lrs(client, writer.key, writer.secret)
    assert send(reading, "GET", STATE, state_params()).json == {"a": 1}
    assert_problem(send(reading, "PUT", STATE, state_params(), {"b": 1}), 403)
    assert_problem(send(reading, "POST", STATE, state_params(), {"b": 1}), 403)
    assert_problem(send(reading, "DELETE", STATE, state_params()), 403)
    assert_problem(send(reading, "DELETE", STATE, _context()), 403)
    assert_problem(send(writing, "GET", STATE, state_params()), 403)
    assert_problem(send(writing, "GET", STATE, _context()), 403)
    assert send(writing, "PUT", STATE, state_params(), {"c": 1}).status_code == 204
    assert send(lrs, "GET", STATE, state_params()).json == {"c": 1}


def test_read_mine_reads_and_changes_only_the_documents_it_wrote(client, institution, lrs):
    send(lrs, "PUT", STATE, state_params("theirs"), {"secret": 1})
    issued = issue_credential(institution.id, "package", ["write", "read-mine"])
    package = Lrs(client, issued.key, issued.secret)
    assert send(package, "PUT", STATE, state_params("mine"), {"page": 3}).status_code == 204

    assert send(package, "GET", STATE, state_params("mine")).json == {"page": 3}
    assert_problem(send(package, "GET", STATE, state_params("theirs")), 404)
    assert send(package, "GET", STATE, _context()).json == ["mine"]
    # Neither a merge, an ETag check nor a delete may reach another's document.
    assert_problem(send(package, "POST", STATE, state_params("theirs"), {"x": 1}), 403)
    assert_problem(send(package, "PUT", STATE, state_params("theirs"), {"x": 1}), 403)
    assert_problem(send(package, "DELETE", STATE, state_params("theirs")), 403)
    assert send(package, "DELETE", STATE, _context()).status_code == 204

    assert send(lrs, "GET", STATE, state_params("theirs")).json == {"secret": 1}
    assert send(lrs, "GET", STATE, _context()).json == ["theirs"]


# --- a create racing another create ------------------------------------------------------


def monkeypatch_stale_first_read(monkeypatch) -> list:
    """Make the first lookup miss the row, as when another request creates it meanwhile."""
    real_find = documents._find
    calls = []

    def find(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real_find(*args, **kwargs)

    monkeypatch.setattr(documents, "_find", find)
    return calls


def test_a_post_that_loses_a_create_race_merges_onto_the_winner(lrs, monkeypatch):
    send(lrs, "POST", STATE, state_params(), {"first": 1})
    calls = monkeypatch_stale_first_read(monkeypatch)
    assert send(lrs, "POST", STATE, state_params(), {"second": 2}).status_code == 204
    assert len(calls) == 2  # the unique constraint refused the insert; it read again
    assert send(lrs, "GET", STATE, state_params()).json == {"first": 1, "second": 2}


def test_a_create_only_put_that_loses_the_race_is_412(lrs2, monkeypatch):
    params = {"activityId": ACTIVITY, "profileId": "raced"}
    send(lrs2, "PUT", ACTIVITY_PROFILE, params, {"winner": 1})
    calls = monkeypatch_stale_first_read(monkeypatch)
    late = send(lrs2, "PUT", ACTIVITY_PROFILE, params, {"loser": 1}, **{"If-None-Match": "*"})
    assert_problem(late, 412)
    assert len(calls) == 2
    assert send(lrs2, "GET", ACTIVITY_PROFILE, params).json == {"winner": 1}
