"""flask xapi create-credentials / import / pull, and the credentials admin API."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from masteryai_lti.extensions import db
from masteryai_lti.xapi.models import XapiCredential, XapiStatement
from tests.factories import bearer, make_institution, make_user
from tests.integration.xapi.conftest import (
    Lrs,
    attachment_of,
    multipart_body,
    post_multipart,
    statement,
)


def _count(institution_id):
    db.session.rollback()
    return db.session.scalar(
        select(func.count())
        .select_from(XapiStatement)
        .where(XapiStatement.institution_id == institution_id)
    )


def test_create_credentials_prints_key_and_secret_json(runner, client, institution):
    result = runner.invoke(
        args=["xapi", "create-credentials", "--institution", institution.slug, "--name", "LL"]
    )
    assert result.exit_code == 0, result.output
    issued = json.loads(result.output)
    assert set(issued) == {"key", "secret"}
    assert Lrs(client, issued["key"], issued["secret"]).post(statement()).status_code == 200


def test_create_credentials_scopes_and_errors(runner, institution):
    narrowed = runner.invoke(
        args=[
            "xapi",
            "create-credentials",
            "--institution",
            institution.slug,
            "--name",
            "reader",
            "--scopes",
            "read-all",
        ]
    )
    key = json.loads(narrowed.output)["key"]
    row = db.session.scalar(select(XapiCredential).where(XapiCredential.key == key))
    assert row.scopes == ["read-all"]
    unknown = runner.invoke(
        args=["xapi", "create-credentials", "--institution", "nope", "--name", "x"]
    )
    assert unknown.exit_code != 0 and "nope" in unknown.output
    bad_scope = runner.invoke(
        args=[
            "xapi",
            "create-credentials",
            "--institution",
            institution.slug,
            "--name",
            "x",
            "--scopes",
            "write,admin",
        ]
    )
    assert bad_scope.exit_code != 0


def test_import_reports_rejected_lines_and_resumes(runner, institution, tmp_path):
    lines = [json.dumps(statement(i)) for i in range(3)]
    lines.insert(1, "{not json")
    lines.append(json.dumps({**statement(), "verb": {"id": "no iri"}}))
    path = tmp_path / "statements.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(args=["xapi", "import", str(path), "--institution", institution.slug])
    assert result.exit_code == 0, result.output
    assert "rejected line 2: not valid JSON" in result.output
    assert "rejected line 5: verb.id" in result.output
    assert _count(institution.id) == 3
    again = runner.invoke(args=["xapi", "import", str(path), "--institution", institution.slug])
    summary = json.loads(again.output.strip().splitlines()[-1])
    assert summary["skipped"] == 5 and summary["stored"] == 0
    assert _count(institution.id) == 3


def test_import_of_a_json_array(runner, institution, tmp_path):
    path = tmp_path / "statements.json"
    path.write_text(json.dumps([statement(i) for i in range(4)]))
    result = runner.invoke(args=["xapi", "import", str(path), "--institution", institution.slug])
    assert result.exit_code == 0, result.output
    assert _count(institution.id) == 4


class _ClientSession:
    """A requests-like session that sends GETs to the Flask test client."""

    def __init__(self, client):
        self.client = client
        self.urls = []

    def get(self, url, auth, headers, timeout):
        import base64

        self.urls.append(url)
        path = url.split("://", 1)[-1]
        path = path[path.index("/") :]
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        response = self.client.get(path, headers={**headers, "Authorization": f"Basic {token}"})

        class _Response:
            status_code = response.status_code
            text = response.get_data(as_text=True)
            content = response.get_data()
            headers = dict(response.headers)

            def json(self):
                return response.json

        return _Response()


def test_pull_follows_more_links_and_resumes(client, lrs, institution):
    from masteryai_lti.xapi import transfer
    from masteryai_lti.xapi.credentials import issue_credential

    lrs.post([statement(i) for i in range(5)])
    remote = issue_credential(institution.id, "remote reader", ["read-all"])
    here = make_institution(slug=f"here-{uuid.uuid4().hex[:6]}")
    session = _ClientSession(client)
    report = transfer.pull(
        here.id,
        "http://remote.example/xapi",
        (remote.key, remote.secret),
        session=session,
        page_size=2,
        max_pages=2,
    )
    assert report.stored == 4
    report = transfer.pull(
        here.id, "http://remote.example/xapi", (remote.key, remote.secret), session=session
    )
    assert report.stored == 1
    assert "more=" in session.urls[-1]
    assert _count(here.id) == 5


def test_admin_api_issues_lists_and_revokes(client, institution):
    admin = make_user(institution, role="teacher", admin=True)
    headers = bearer(admin)
    created = client.post("/api/v1/xapi/credentials", json={"name": "SCORM Cloud"}, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["secret"] and created.json["scopes"] == ["write", "read-mine", "read-all"]
    listed = client.get("/api/v1/xapi/credentials", headers=headers)
    assert [c["key"] for c in listed.json] == [created.json["key"]]
    assert "secret" not in listed.json[0]
    revoked = client.delete(f"/api/v1/xapi/credentials/{created.json['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    lrs = Lrs(client, created.json["key"], created.json["secret"])
    assert lrs.get().status_code == 401


def _forget_actor():
    # current_actor() caches on ``g``, which outlives a request when the test itself
    # holds the app context; each request below acts for someone else.
    from flask import g

    g.pop("masteryai_actor", None)


def test_admin_api_is_for_admins_of_the_institution(client, institution):
    teacher = make_user(institution, role="teacher")
    assert client.get("/api/v1/xapi/credentials", headers=bearer(teacher)).status_code == 403
    _forget_actor()
    other_admin = make_user(make_institution(), role="teacher", admin=True)
    mine = make_user(institution, role="teacher", admin=True)
    created = client.post("/api/v1/xapi/credentials", json={"name": "x"}, headers=bearer(mine))
    assert created.status_code == 201, created.json
    _forget_actor()
    response = client.delete(
        f"/api/v1/xapi/credentials/{created.json['id']}", headers=bearer(other_admin)
    )
    assert response.status_code == 404
    _forget_actor()
    bad = client.post(
        "/api/v1/xapi/credentials", json={"name": "x", "scopes": ["root"]}, headers=bearer(mine)
    )
    assert bad.status_code == 422


def test_admin_api_overrides_engagement_rules(client, institution):
    from masteryai_lti.xapi import projection
    from masteryai_lti.xapi.vocabulary import engagement_kind

    admin = make_user(institution, role="teacher", admin=True)
    verb = "http://adlnet.gov/expapi/verbs/experienced"
    created = client.post(
        "/api/v1/xapi/engagement-rules",
        json={"verb_id": verb, "kind": "attendance"},
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.json
    overrides = projection._overrides(institution.id)
    assert engagement_kind(verb, None, overrides) == "attendance"
    _forget_actor()
    replaced = client.post(
        "/api/v1/xapi/engagement-rules",
        json={"verb_id": verb, "kind": "ignore"},
        headers=bearer(admin),
    )
    assert replaced.json["id"] == created.json["id"]
    assert engagement_kind(verb, None, projection._overrides(institution.id)) is None
    _forget_actor()
    empty = client.post(
        "/api/v1/xapi/engagement-rules", json={"kind": "quiz"}, headers=bearer(admin)
    )
    assert empty.status_code == 422
    _forget_actor()
    bad_kind = client.post(
        "/api/v1/xapi/engagement-rules",
        json={"verb_id": verb, "kind": "party"},
        headers=bearer(admin),
    )
    assert bad_kind.status_code == 422
    _forget_actor()
    gone = client.delete(
        f"/api/v1/xapi/engagement-rules/{created.json['id']}", headers=bearer(admin)
    )
    assert gone.status_code == 204
    assert engagement_kind(verb, None, projection._overrides(institution.id)) == "resource_view"


def test_import_rejects_lines_no_store_can_keep_and_may_void_any_statement(
    runner, institution, lrs, tmp_path
):
    forwarded = lrs.post(statement(1)).json[0]
    voiding = {
        **statement(2),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": {"objectType": "StatementRef", "id": forwarded},
    }
    lines = [
        json.dumps(statement(3, result={"response": "a\u0000b"})),
        json.dumps(statement(4, result={"score": {"raw": 31337}})).replace("31337", "NaN"),
        json.dumps(voiding),
    ]
    path = tmp_path / "statements.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(args=["xapi", "import", str(path), "--institution", institution.slug])
    assert result.exit_code == 0, result.output
    assert "rejected line 1: result.response: contains the NUL character" in result.output
    assert "rejected line 2: result.score.raw: must be a finite number" in result.output
    # The operator's import voids what a forwarding LRS stored.
    assert lrs.get(voidedStatementId=forwarded).status_code == 200


def test_pull_asks_for_attachments_and_stores_them(client, lrs, institution):
    # Communication 2.1.3 (attachments): an LRS pulling statements MUST request them.
    import hashlib

    from masteryai_lti.xapi import transfer
    from masteryai_lti.xapi.credentials import issue_credential

    data = b"the learner's essay"
    sha2 = hashlib.sha512(data).hexdigest()
    attachment = attachment_of(
        data, usageType="http://example.org/attachment-usage/essay", sha2=sha2
    )
    body = multipart_body(
        [statement(1, attachments=[attachment]), statement(2)], [("text/plain", data, sha2)]
    )
    posted = post_multipart(lrs, body)
    assert posted.status_code == 200, posted.json
    remote = issue_credential(institution.id, "remote reader", ["read-all"])
    here = make_institution(slug=f"here-{uuid.uuid4().hex[:6]}")
    session = _ClientSession(client)

    report = transfer.pull(
        here.id, "http://remote.example/xapi", (remote.key, remote.secret), session=session
    )

    assert "attachments=true" in session.urls[0]
    assert report.rejected == [] and report.stored == 2
    reader = issue_credential(here.id, "reader", ["read-all"])
    got = Lrs(client, reader.key, reader.secret).get(statementId=posted.json[0], attachments="true")
    assert got.status_code == 200 and got.mimetype == "multipart/mixed"
    assert data in got.data
