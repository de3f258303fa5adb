"""Health probes, the OpenAPI document, error format, CORS and Redis outages."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from tests.factories import PASSWORD, bearer, make_course, make_institution, make_user
from tests.redis_server import RedisServer


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"]["database"]["status"] == "up"
    assert ready.json["checks"]["cache"]["status"] == "up"


def test_docs_pages_are_served_with_local_assets(client):
    for path in ("/api/docs", "/api/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert b"/static/core/vendor/" in page.data
        assert b"cdn." not in page.data
    for asset in ("redoc/redoc.standalone.js", "swagger-ui/swagger-ui-bundle.js"):
        response = client.get(f"/static/core/vendor/{asset}")
        assert response.status_code == 200
        assert len(response.data) > 100_000
        response.close()


def test_openapi_document_validates_and_lists_every_route(client, app):
    spec = client.get("/api/openapi.json").json
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    documented = set()
    for path, operations in spec["paths"].items():
        for method in operations:
            if method in {"get", "post", "put", "patch", "delete"}:
                documented.add((path, method.upper()))
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {rule.rule} missing from OpenAPI"
    me = spec["paths"]["/api/v1/auth/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    register = spec["paths"]["/api/v1/auth/register"]["post"]
    assert "requestBody" in register and "201" in register["responses"]


def test_unknown_route_is_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == 404


def test_browser_gets_html_error_page_outside_api(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")


def test_malformed_json_body_is_problem(client):
    response = client.post(
        "/api/v1/auth/login", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"


def test_cors_allows_configured_origin_only(make_app):
    cors_app = make_app(ALLOWED_ORIGINS=["https://lms.school.example"])
    client = cors_app.test_client()
    allowed = client.get("/api/openapi.json", headers={"Origin": "https://lms.school.example"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://lms.school.example"
    denied = client.get("/api/openapi.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers


@pytest.mark.redis
def test_app_keeps_serving_when_redis_stops(make_app):
    server = RedisServer().start()
    try:
        app = make_app(REDIS_URL=server.url, RATELIMIT_STORAGE_URI=server.url)
        client = app.test_client()
        with app.app_context():
            school = make_institution()
            teacher = make_user(school, role="teacher")
            course = make_course(school, teacher)
            headers = bearer(teacher)
        assert client.get("/readyz").json["checks"]["cache"] == {"status": "up", "backend": "redis"}
        before = client.post(
            "/api/v1/auth/login", json={"email": teacher.email, "password": PASSWORD}
        )
        assert before.status_code == 200

        server.stop()

        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json["checks"]["cache"]["status"] == "down"
        after = client.post(
            "/api/v1/auth/login", json={"email": teacher.email, "password": PASSWORD}
        )
        assert after.status_code == 200
        refreshed = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": after.json["refresh_token"]}
        )
        assert refreshed.status_code == 200
        created = client.post("/api/v1/courses", json={"title": "During outage"}, headers=headers)
        assert created.status_code == 201
        listed = client.get("/api/v1/courses", headers=headers)
        assert {c["id"] for c in listed.json} == {course.id, created.json["id"]}
        registered = client.post(
            "/api/v1/auth/register",
            json={
                "email": "late@school.example",
                "password": PASSWORD,
                "full_name": "L",
                "role": "student",
            },
        )
        assert registered.status_code == 201
    finally:
        server.stop()


def _resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = spec["components"][kind][name]
    return node


def test_openapi_documents_errors_as_problem_json(client):
    spec = client.get("/api/openapi.json").json
    validate(spec)
    assert "Error" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for status, response in operation["responses"].items():
                if status != "default" and int(status) < 400:
                    continue
                content = _resolve(spec, response).get("content", {})
                where = f"{method.upper()} {path} {status}"
                assert set(content) == {"application/problem+json"}, where
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, where
                checked += 1
            if operation.get("security"):
                assert "401" in operation["responses"], f"{method.upper()} {path} lacks 401"
    assert checked > 50


def test_openapi_declares_x_pagination_as_the_json_text_it_is(client, app):
    spec = client.get("/api/openapi.json").json
    header = _resolve(
        spec, spec["paths"]["/api/v1/courses"]["get"]["responses"]["200"]["headers"]["X-Pagination"]
    )
    assert header.get("schema", {}).get("type") != "object"
    media = header["content"]["application/json"]["schema"]
    assert _resolve(spec, media)["properties"]["total"]["type"] == "integer"
    with app.app_context():
        school = make_institution()
        teacher = make_user(school, role="teacher")
        make_course(school, teacher)
        headers = bearer(teacher)
    sent = client.get("/api/v1/courses", headers=headers).headers["X-Pagination"]
    assert json.loads(sent)["total"] == 1
