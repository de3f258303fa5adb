"""Browser content (H5P, cmi5 packages, own JavaScript) calls /xapi from its own origin:
CORS for the xAPI headers, with origins configured like /api's."""

from __future__ import annotations

import pytest

from tests.integration.xapi.conftest import Lrs, statement

CONTENT = "https://content.school.example"


@pytest.fixture
def browser_app(make_app):
    return make_app(ALLOWED_ORIGINS=["https://lms.school.example"], XAPI_ALLOWED_ORIGINS=[CONTENT])


def _preflight(client, origin: str, url: str = "/xapi/statements", method: str = "POST"):
    return client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": (
                "authorization, x-experience-api-version, content-type, if-match, if-none-match"
            ),
        },
    )


def _listed(header: str | None) -> set[str]:
    return {item.strip().lower() for item in (header or "").split(",") if item.strip()}


@pytest.mark.parametrize(
    ("url", "method"),
    [("/xapi/statements", "POST"), ("/xapi/statements", "PUT"), ("/xapi/activities/state", "PUT")],
)
def test_a_preflight_from_an_allowed_origin_allows_the_xapi_headers(browser_app, url, method):
    response = _preflight(browser_app.test_client(), CONTENT, url, method)
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == CONTENT
    assert {
        "authorization",
        "x-experience-api-version",
        "content-type",
        "if-match",
        "if-none-match",
    } <= _listed(response.headers.get("Access-Control-Allow-Headers"))
    assert method in response.headers["Access-Control-Allow-Methods"]


def test_responses_expose_the_xapi_headers_to_the_allowed_origin(browser_app, credential):
    with browser_app.app_context():
        lrs = Lrs(browser_app.test_client(), credential.key, credential.secret, "2.0.0")
        assert lrs.post(statement()).status_code == 200
        response = lrs.get(headers={"Origin": CONTENT})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == CONTENT
    assert {
        "x-experience-api-consistent-through",
        "x-experience-api-version",
        "etag",
        "last-modified",
    } <= _listed(response.headers.get("Access-Control-Expose-Headers"))
    # Basic credentials travel in a header the script sets, never as cookies.
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_other_origins_get_no_cors_headers(browser_app):
    client = browser_app.test_client()
    assert "Access-Control-Allow-Origin" not in _preflight(client, "https://evil.example").headers
    # /api keeps its own list, and /xapi does not take it when it has one of its own.
    lms = _preflight(client, "https://lms.school.example")
    assert "Access-Control-Allow-Origin" not in lms.headers


def test_without_an_xapi_list_the_api_origins_apply(make_app):
    app = make_app(ALLOWED_ORIGINS=["https://lms.school.example"])
    response = _preflight(app.test_client(), "https://lms.school.example")
    assert response.headers.get("Access-Control-Allow-Origin") == "https://lms.school.example"
