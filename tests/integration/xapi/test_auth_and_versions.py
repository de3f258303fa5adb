"""Credentials, scopes, tenancy and version negotiation on the Statement API."""

from __future__ import annotations

import uuid

from masteryai_lti.xapi.credentials import issue_credential, revoke_credential
from tests.factories import make_institution
from tests.integration.xapi.conftest import Lrs, basic, statement


def test_missing_version_header_is_400_with_a_version_header(lrs):
    response = lrs.client.get("/xapi/statements", headers={"Authorization": lrs.auth})
    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "X-Experience-API-Version"
    assert response.headers["X-Experience-API-Version"] in ("1.0.3", "2.0.0")


def test_unsupported_version_is_400(lrs):
    response = lrs.get(headers={"X-Experience-API-Version": "0.9"})
    assert response.status_code == 400


def test_missing_credentials_is_401_with_a_basic_challenge(client):
    response = client.get("/xapi/statements", headers={"X-Experience-API-Version": "1.0.3"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_secret_and_malformed_header_are_401(lrs, credential):
    wrong = lrs.get(headers={"Authorization": basic(credential.key, "nope")})
    assert wrong.status_code == 401
    malformed = lrs.get(headers={"Authorization": "Basic !!!"})
    assert malformed.status_code == 401


def test_revoked_credential_is_refused(lrs, credential, institution):
    assert lrs.get().status_code == 200
    revoke_credential(institution.id, credential.id)
    assert lrs.get().status_code == 401


def test_secret_is_stored_only_as_a_keyed_hash(credential):
    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiCredential

    row = db.session.get(XapiCredential, credential.id)
    assert credential.secret not in row.secret_digest
    assert len(row.secret_digest) == 64


def test_read_only_credential_cannot_write_and_write_only_cannot_read(client, institution):
    reader = issue_credential(institution.id, "reader", ["read-all"])
    writer = issue_credential(institution.id, "writer", ["write"])
    assert Lrs(client, reader.key, reader.secret).post(statement()).status_code == 403
    writer_lrs = Lrs(client, writer.key, writer.secret)
    assert writer_lrs.post(statement()).status_code == 200
    assert writer_lrs.get().status_code == 403


def test_read_mine_sees_only_what_it_wrote(client, institution, lrs):
    mine = issue_credential(institution.id, "content", ["write", "read-mine"])
    own = Lrs(client, mine.key, mine.secret)
    own_id = own.post(statement(1)).json[0]
    other_id = lrs.post(statement(2)).json[0]
    ids = [s["id"] for s in own.get().json["statements"]]
    assert ids == [own_id]
    assert own.get(statementId=other_id).status_code == 404
    assert {s["id"] for s in lrs.get().json["statements"]} == {own_id, other_id}


def test_institutions_never_see_each_others_statements(client, lrs):
    other = make_institution(slug=f"other-{uuid.uuid4().hex[:6]}")
    issued = issue_credential(other.id, "theirs")
    theirs = Lrs(client, issued.key, issued.secret)
    sid = lrs.post(statement()).json[0]
    assert theirs.get(statementId=sid).status_code == 404
    assert theirs.get().json["statements"] == []
    # The same id may exist in both tenants without a conflict.
    assert theirs.put(sid, statement(9)).status_code == 204


def test_about_needs_no_credentials_and_lists_both_versions(client):
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert {"1.0.3", "2.0.0"} <= set(response.json["version"])


def test_authority_comes_from_the_credential_not_the_client(lrs, credential):
    forged = {
        **statement(),
        "authority": {"objectType": "Agent", "mbox": "mailto:forged@example.org"},
    }
    sid = lrs.post(forged).json[0]
    authority = lrs.get(statementId=sid).json["authority"]
    assert authority["account"]["name"] == credential.key
    assert "mbox" not in authority


def test_document_resources_answer_version_and_auth_rules(client, lrs):
    no_version = client.get("/xapi/activities/state", headers={"Authorization": lrs.auth})
    assert no_version.status_code == 400
    # Past those checks the resource answers: here, a missing activityId is 400.
    missing = lrs.get("/xapi/activities/state")
    assert missing.status_code == 400
    assert missing.json["errors"][0]["path"] == "activityId"


def test_activities_resource_merges_definitions(lrs):
    activity = "http://example.org/activity/merge"
    for language, name in (("en-US", "Fractions"), ("fr-FR", "Fractions FR")):
        body = statement(
            object={"id": activity, "definition": {"name": {language: name}}},
        )
        assert lrs.post(body).status_code == 200
    got = lrs.get("/xapi/activities", activityId=activity)
    assert got.status_code == 200
    assert got.json["definition"]["name"] == {"en-US": "Fractions", "fr-FR": "Fractions FR"}
    assert lrs.get("/xapi/activities").status_code == 400


def test_agents_resource_returns_a_person(lrs):
    lrs.post(statement(3, actor={"mbox": "mailto:learner3@example.org", "name": "Ada"}))
    got = lrs.get("/xapi/agents", agent='{"mbox": "mailto:learner3@example.org"}')
    assert got.status_code == 200
    assert got.json == {
        "objectType": "Person",
        "mbox": ["mailto:learner3@example.org"],
        "name": ["Ada"],
    }
    assert lrs.get("/xapi/agents", agent="{not json").status_code == 400


def test_any_1_0_x_version_is_accepted_as_1_0_3(lrs):
    # Communication 3.3: "... MUST accept requests with a version header starting with 1.0."
    for version in ("1.0", "1.0.0", "1.0.3", "1.0.4", "1.0.17"):
        response = lrs.get(headers={"X-Experience-API-Version": version})
        assert response.status_code == 200, (version, response.json)
        assert response.headers["X-Experience-API-Version"] == "1.0.3"
    for version in ("1.1.0", "1.0x", "1.01", "0.95"):
        response = lrs.get(headers={"X-Experience-API-Version": version})
        assert response.status_code == 400, version
        assert response.json["errors"][0]["path"] == "X-Experience-API-Version"


ACTIVITY = "http://example.org/activity/secret"


def _activity_statement(n: int, name: str) -> dict:
    return statement(
        n,
        actor={"mbox": f"mailto:learner{n}@example.org", "name": f"Learner {n}"},
        object={"id": ACTIVITY, "definition": {"name": {"en-US": name}}},
    )


def test_activities_and_agents_need_a_read_scope(client, institution, lrs):
    lrs.post(_activity_statement(1, "Other's quiz"))
    writer = issue_credential(institution.id, "forwarder", ["write"])
    only_writes = Lrs(client, writer.key, writer.secret)
    agent = '{"mbox": "mailto:learner1@example.org"}'
    for url, params in (
        ("/xapi/activities", {"activityId": ACTIVITY}),
        ("/xapi/agents", {"agent": agent}),
    ):
        response = only_writes.get(url, **params)
        assert response.status_code == 403, (url, response.json)
        assert response.mimetype == "application/problem+json"


def test_read_mine_learns_about_activities_and_agents_only_from_its_own_statements(
    client, institution, lrs
):
    lrs.post(_activity_statement(1, "Written by the forwarder"))
    issued = issue_credential(institution.id, "content", ["write", "read-mine"])
    content = Lrs(client, issued.key, issued.secret)
    other = '{"mbox": "mailto:learner1@example.org"}'
    assert content.get("/xapi/activities", activityId=ACTIVITY).json == {
        "objectType": "Activity",
        "id": ACTIVITY,
    }
    assert content.get("/xapi/agents", agent=other).json == {
        "objectType": "Person",
        "mbox": ["mailto:learner1@example.org"],
    }
    content.post(_activity_statement(2, "Written by the content"))
    mine = content.get("/xapi/activities", activityId=ACTIVITY).json
    assert mine["definition"]["name"] == {"en-US": "Written by the content"}
    me = content.get("/xapi/agents", agent='{"mbox": "mailto:learner2@example.org"}').json
    assert me["name"] == ["Learner 2"]
    # read-all sees every statement's details.
    assert lrs.get("/xapi/agents", agent=other).json["name"] == ["Learner 1"]


def _void(target: str) -> dict:
    return statement(
        9,
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": target},
    )


def test_read_mine_may_void_only_statements_it_wrote(client, institution, lrs):
    from sqlalchemy import func, select

    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiStatement

    issued = issue_credential(institution.id, "content", ["write", "read-mine"])
    content = Lrs(client, issued.key, issued.secret)
    others = lrs.post(statement(1)).json[0]
    own = content.post(statement(2)).json[0]
    before = db.session.scalar(select(func.count()).select_from(XapiStatement))

    refused = content.post([_void(own), _void(others)])
    assert refused.status_code == 403, refused.json
    assert refused.json["errors"][0]["path"] == "statements[1].object.id"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(XapiStatement)) == before
    assert lrs.get(statementId=others).status_code == 200
    # Nor a statement not stored yet: it could arrive later from anyone.
    assert content.post(_void(str(uuid.uuid4()))).status_code == 403

    assert content.post(_void(own)).status_code == 200
    assert content.get(voidedStatementId=own).status_code == 200
    target = str(uuid.uuid4())
    batch = content.post([{**statement(3), "id": target}, _void(target)])
    assert batch.status_code == 200, batch.json
    # read-all voids anything of the institution.
    assert lrs.post(_void(others)).status_code == 200


def test_a_conflict_tells_what_differs_only_to_who_can_read_the_stored_statement(
    client, institution, lrs
):
    sid = str(uuid.uuid4())
    assert lrs.put(sid, statement(1, result={"response": "secret answer"})).status_code == 204
    issued = issue_credential(institution.id, "content", ["write", "read-mine"])
    content = Lrs(client, issued.key, issued.secret)
    blind = content.put(sid, statement(1, result={"response": "guess"}))
    assert blind.status_code == 409
    body = blind.get_data(as_text=True)
    assert "result" not in body and "differs at" not in body
    assert blind.json["errors"] == [
        {"path": "id", "message": "this id is already stored with different content"}
    ]
    seeing = lrs.put(sid, statement(1, result={"response": "guess"}))
    assert seeing.status_code == 409
    assert "result.response" in seeing.json["errors"][0]["path"]
