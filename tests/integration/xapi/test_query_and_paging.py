"""GET /statements filters, ordering, formats and the ``more`` cursor."""

from __future__ import annotations

import json
import time
import uuid

from tests.integration.xapi.conftest import statement

VERB = "http://adlnet.gov/expapi/verbs/answered"
OTHER_VERB = "http://adlnet.gov/expapi/verbs/experienced"


def _ids(response):
    assert response.status_code == 200, response.json
    return [s["id"] for s in response.json["statements"]]


def test_default_order_is_newest_first_and_ascending_reverses(lrs):
    ids = [lrs.post(statement(i)).json[0] for i in range(3)]
    assert _ids(lrs.get()) == ids[::-1]
    assert _ids(lrs.get(ascending="true")) == ids


def test_agent_verb_activity_and_registration_filters(lrs):
    registration = str(uuid.uuid4())
    a = lrs.post(statement(1, context={"registration": registration})).json[0]
    b = lrs.post(statement(2, verb={"id": OTHER_VERB})).json[0]
    c = lrs.post(statement(1, object={"id": "http://example.org/activity/other"})).json[0]
    agent = json.dumps({"mbox": "mailto:learner1@example.org"})
    assert set(_ids(lrs.get(agent=agent))) == {a, c}
    assert _ids(lrs.get(verb=OTHER_VERB)) == [b]
    assert _ids(lrs.get(activity="http://example.org/activity/other")) == [c]
    assert _ids(lrs.get(registration=registration)) == [a]


def test_related_agents_and_activities_widen_the_match(lrs):
    instructor = {"mbox": "mailto:teacher@example.org"}
    parent = "http://example.org/course/algebra"
    sid = lrs.post(
        statement(
            1,
            context={"instructor": instructor, "contextActivities": {"parent": [{"id": parent}]}},
        )
    ).json[0]
    agent = json.dumps(instructor)
    assert _ids(lrs.get(agent=agent)) == []
    assert _ids(lrs.get(agent=agent, related_agents="true")) == [sid]
    assert _ids(lrs.get(activity=parent)) == []
    assert _ids(lrs.get(activity=parent, related_activities="true")) == [sid]


def test_since_and_until_apply_to_stored(lrs):
    first = lrs.post(statement(1)).json[0]
    stored = lrs.get(statementId=first).json["stored"]
    time.sleep(0.01)
    second = lrs.post(statement(2)).json[0]
    assert _ids(lrs.get(since=stored)) == [second]
    assert _ids(lrs.get(until=stored)) == [first]
    # ``timestamp`` far in the past does not matter: filters read ``stored``.
    old = lrs.post(statement(3, timestamp="2001-01-01T00:00:00Z")).json[0]
    assert old in _ids(lrs.get(since=stored))


def test_limit_and_more_page_through_everything_once(lrs):
    ids = lrs.post([statement(i) for i in range(7)]).json
    seen = []
    response = lrs.get(limit=3)
    pages = 0
    while True:
        seen += _ids(response)
        pages += 1
        more = response.json["more"]
        if not more:
            break
        assert more.startswith("/xapi/statements?more=")
        response = lrs.get(more)
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    assert pages == 3


def test_paging_while_statements_arrive_neither_skips_nor_repeats(lrs):
    original = lrs.post([statement(i) for i in range(10)]).json
    for ascending in ("true", "false"):
        seen = []
        response = lrs.get(limit=4, ascending=ascending)
        while True:
            seen += _ids(response)
            # New statements keep arriving between pages.
            lrs.post([statement(100 + len(seen)), statement(200 + len(seen))])
            if not response.json["more"]:
                break
            response = lrs.get(response.json["more"])
        assert len(seen) == len(set(seen))
        assert set(original) <= set(seen)
        if ascending == "true":
            assert seen == original


def test_tampered_more_token_is_400(lrs):
    lrs.post([statement(i) for i in range(3)])
    more = lrs.get(limit=1).json["more"]
    tampered = more[:-3] + ("AAA" if not more.endswith("AAA") else "BBB")
    response = lrs.get(tampered)
    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "more"


def test_more_token_of_another_institution_is_refused(client, lrs):
    from masteryai_lti.xapi.credentials import issue_credential
    from tests.factories import make_institution
    from tests.integration.xapi.conftest import Lrs

    lrs.post([statement(i) for i in range(3)])
    more = lrs.get(limit=1).json["more"]
    other = make_institution(slug=f"o-{uuid.uuid4().hex[:6]}")
    issued = issue_credential(other.id, "x")
    assert Lrs(client, issued.key, issued.secret).get(more).status_code == 400


def test_format_ids_keeps_only_identifiers(lrs):
    body = statement(
        1,
        actor={"mbox": "mailto:learner1@example.org", "name": "Ada"},
        object={
            "objectType": "Activity",
            "id": "http://example.org/a",
            "definition": {"name": {"en-US": "A"}},
        },
    )
    sid = lrs.post(body).json[0]
    got = lrs.get(statementId=sid, format="ids").json
    assert got["actor"] == {"mbox": "mailto:learner1@example.org"}
    assert got["verb"] == {"id": VERB}
    assert got["object"] == {"id": "http://example.org/a"}


def test_format_canonical_picks_the_accepted_language(lrs):
    body = statement(
        object={
            "id": "http://example.org/a",
            "definition": {"name": {"en-US": "Fractions", "fr-FR": "Les fractions"}},
        },
        verb={"id": VERB, "display": {"en-US": "answered", "fr-FR": "a répondu"}},
    )
    sid = lrs.post(body).json[0]
    got = lrs.get(statementId=sid, format="canonical", headers={"Accept-Language": "fr-FR"}).json
    assert got["object"]["definition"]["name"] == {"fr-FR": "Les fractions"}
    assert got["verb"]["display"] == {"fr-FR": "a répondu"}
    exact = lrs.get(statementId=sid, headers={"Accept-Language": "fr-FR"}).json
    assert exact["object"]["definition"]["name"]["en-US"] == "Fractions"


def test_bad_parameters_are_400_naming_them(lrs):
    for params, path in (
        ({"limit": "-1"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"agent": "{bad"}, "agent"),
        ({"ascending": "maybe"}, "ascending"),
        ({"format": "full"}, "format"),
    ):
        response = lrs.get(**params)
        assert response.status_code == 400, params
        assert response.json["errors"][0]["path"] == path


def test_repeated_parameter_is_400(lrs):
    response = lrs.client.get(
        "/xapi/statements?verb=http://a.org/v&verb=http://a.org/w", headers=lrs.headers()
    )
    assert response.status_code == 400


def test_version_2_sets_last_modified_on_results(lrs2):
    lrs2.post(statement())
    response = lrs2.get()
    assert response.status_code == 200
    assert response.headers["Last-Modified"].endswith("GMT")


def test_statements_stored_in_the_snapshots_millisecond_stay_out_of_the_pages(lrs, monkeypatch):
    # ``stored`` has millisecond precision: a statement stored just after the first page
    # was read can carry the snapshot's own millisecond; it must not join later pages.
    from datetime import UTC, datetime

    from masteryai_lti.xapi import service

    # Everything below happens in one millisecond of the service's clock.
    frozen = datetime.now(UTC).replace(microsecond=500_999)
    monkeypatch.setattr(service, "utcnow", lambda: frozen)
    original = lrs.post([statement(i) for i in range(10)]).json
    response = lrs.get(limit=4, ascending="true")
    seen = _ids(response)
    late = lrs.post([statement(300), statement(301)]).json
    while response.json["more"]:
        response = lrs.get(response.json["more"])
        seen += _ids(response)
    assert seen == original
    assert not set(late) & set(seen)


def test_agent_filter_matches_groups_that_have_the_agent_as_a_member(lrs):
    # Communication 2.1.3, agent: "Groups that have members which match the specified
    # Agent based on their Inverse Functional Identifier ... are considered a match".
    ben = {"objectType": "Agent", "mbox": "mailto:ben@example.org"}
    cat = {"objectType": "Agent", "mbox": "mailto:cat@example.org"}
    team = {
        "objectType": "Group",
        "account": {"homePage": "http://lms.example.org", "name": "team-7"},
        "member": [ben, cat],
    }
    anonymous = {"objectType": "Group", "member": [cat, ben]}
    as_actor = lrs.post(statement(actor=ben)).json[0]
    as_member_of_actor = lrs.post(statement(actor=team)).json[0]
    as_member_of_anonymous = lrs.post(statement(actor=anonymous)).json[0]
    as_member_of_object = lrs.post(
        statement(verb={"id": "http://example.org/verbs/mentored"}, object=team)
    ).json[0]
    # Context roles are not the actor or the object: only related_agents widens to them.
    in_context = lrs.post(statement(1, context={"team": team})).json[0]
    lrs.post(statement(actor={"objectType": "Group", "member": [cat]}))

    agent = json.dumps({"mbox": "mailto:ben@example.org"})
    assert set(_ids(lrs.get(agent=agent))) == {
        as_actor,
        as_member_of_actor,
        as_member_of_anonymous,
        as_member_of_object,
    }
    assert in_context in _ids(lrs.get(agent=agent, related_agents="true"))
    # An identified Group matches as itself, combined with the other filters.
    group = json.dumps({"objectType": "Group", "account": team["account"]})
    assert set(_ids(lrs.get(agent=group))) == {as_member_of_actor, as_member_of_object}
    assert _ids(lrs.get(agent=agent, verb="http://example.org/verbs/mentored")) == [
        as_member_of_object
    ]


def test_limit_zero_means_the_server_maximum(lrs):
    from masteryai_lti.xapi.service import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

    lrs.post([statement(i % 7) for i in range(DEFAULT_PAGE_SIZE + 20)])
    # Communication 2.1.3, limit: "0 indicates return the maximum the server will allow".
    assert len(_ids(lrs.get(limit=0))) == DEFAULT_PAGE_SIZE + 20
    assert len(_ids(lrs.get())) == DEFAULT_PAGE_SIZE
    assert MAX_PAGE_SIZE >= DEFAULT_PAGE_SIZE + 20


def test_more_link_keeps_the_path_prefix_of_a_proxy(make_app, credential):
    from tests.integration.xapi.conftest import Lrs

    proxied = make_app(TRUSTED_PROXY_COUNT=1)
    with proxied.app_context():
        lrs = Lrs(proxied.test_client(), credential.key, credential.secret)
        prefix = {"X-Forwarded-Prefix": "/lrs"}
        ids = lrs.post([statement(i) for i in range(3)]).json
        first = lrs.get(limit=2, headers=prefix)
        more = first.json["more"]
        # The link is what a client behind the proxy can follow as given.
        assert more.startswith("/lrs/xapi/statements?more="), more
        second = lrs.get(more.removeprefix("/lrs"), headers=prefix)
        assert sorted(_ids(first) + _ids(second)) == sorted(ids)
