"""Headers of a framed app: CSP and framing, nosniff, and no caching of what a
credential unlocked (masteryai_lti/core/security_headers.py)."""

from __future__ import annotations

import base64
import re

from masteryai_lti.xapi import credentials
from tests.factories import bearer, make_course, make_institution, make_user
from tests.integration.lti.conftest import launch


def _directives(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    pairs = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {name: (rest[0] if rest else "") for name, *rest in pairs}


def test_a_launched_page_may_be_framed_but_runs_only_its_own_origins_code(client, platform):
    response = launch(client, platform, "student")

    assert response.status_code == 200
    policy = _directives(response)
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"]  # an LMS frames it
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_pages_inline_scripts_run_only_with_that_answers_nonce(client, platform):
    """Markup that got past autoescaping (an LMS-given name, say) runs no script: the
    policy names no 'unsafe-inline' for scripts, only a nonce new for every answer."""
    first, second = launch(client, platform, "student"), launch(client, platform, "student")

    nonces = []
    for response in (first, second):
        scripts = _directives(response)["script-src"].split()
        assert "'unsafe-inline'" not in scripts
        [nonce] = [s[len("'nonce-") : -1] for s in scripts if s.startswith("'nonce-")]
        page = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", page)
        assert inline, "the launched page has inline scripts"
        assert all(f'nonce="{nonce}"' in attributes for attributes in inline)
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 20


def test_the_api_docs_keep_their_inline_scripts(client):
    """flask-smorest's Swagger UI and ReDoc templates carry no nonce (not framed, no data)."""
    for path in ("/api/docs", "/api/redoc"):
        assert "'unsafe-inline'" in _directives(client.get(path))["script-src"].split()


def test_in_production_only_https_lms_pages_may_frame_the_tool(make_app):
    strict = make_app(ALLOW_INSECURE_HTTP=False).test_client()

    response = strict.get("/lti/launch", base_url="https://tool.example")

    assert response.status_code == 405
    assert _directives(response)["frame-ancestors"] == "'self' https:"


def test_pages_outside_lti_cannot_be_framed(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert _directives(response)["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_json_behind_a_bearer_token_is_never_cached(app, client):
    with app.app_context():
        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        headers = bearer(teacher)

    response = client.get(f"/api/v1/courses/{course.id}/engagement", headers=headers)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert _directives(response) == {"default-src": "'none'", "frame-ancestors": "'none'"}


def test_xapi_answers_to_an_lrs_are_never_cached(app, client):
    with app.app_context():
        school = make_institution()
        issued = credentials.issue_credential(school.id, "lrs", ("write", "read-all"))
    token = base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode()

    response = client.get(
        "/xapi/statements",
        headers={"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"},
    )

    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_public_answers_keep_their_own_caching(client):
    response = client.get("/lti/jwks")

    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_html_document_stored_by_an_lrs_runs_nothing_when_opened(app, client):
    """A State document is served with the media type its writer chose; one stored as
    text/html must not become a page of the tool's origin."""
    with app.app_context():
        issued = credentials.issue_credential(make_institution().id, "lrs", ("write", "read-all"))
    token = base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"}
    params = {
        "activityId": "http://example.org/activity/1",
        "agent": '{"mbox": "mailto:ada@example.org"}',
        "stateId": "page",
    }
    stored = client.put(
        "/xapi/activities/state",
        query_string=params,
        data="<script>alert(document.domain)</script>",
        headers={**headers, "Content-Type": "text/html"},
    )
    assert stored.status_code == 204, stored.get_data(as_text=True)

    response = client.get("/xapi/activities/state", query_string=params, headers=headers)

    assert response.mimetype == "text/html"
    policy = _directives(response)
    assert "sandbox" in policy and policy["default-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_https_answers_tell_the_browser_to_stay_on_https(client):
    secure = client.get("/lti/jwks", base_url="https://tool.example")
    plain = client.get("/lti/jwks")

    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain.headers
