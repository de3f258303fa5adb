"""What the REST API accepts: content types, bodies, NUL bytes, numbers, sizes.

Each refusal is problem+json naming what was wrong and where, and nothing is written.
"""

from __future__ import annotations

import http.client
import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from masteryai_lti.courses.models import Course
from masteryai_lti.engagement.models import AttendanceRecord, GradedItem
from masteryai_lti.extensions import db
from masteryai_lti.mastery.models import Assignment, Concept
from tests.integration.mastery.world import build_world, seed_graph, seed_items

PROBLEM = "application/problem+json"


@pytest.fixture
def world(app, client):
    w = build_world(app)
    seed_graph(client, w)
    return w


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _refused(response, status, path, location="json"):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert any(e["path"] == path and e["location"] == location for e in body.get("errors", [])), (
        body
    )


# -- NUL and other text no database column can hold ---------------------------------


def test_nul_bytes_are_refused_naming_the_field(client, app, world):
    course = f"/api/v1/courses/{world.course_id}"
    cases = [
        (
            "post",
            "/api/v1/auth/login",
            {"email": "a\u0000@school.example", "password": "x"},
            "email",
        ),
        (
            "post",
            "/api/v1/auth/register",
            {
                "email": "nul@school.example",
                "password": "correct-horse-battery",
                "full_name": "Ada\u0000",
                "role": "student",
            },
            "full_name",
        ),
        ("post", "/api/v1/courses/join", {"join_code": "AB\u0000CD"}, "join_code"),
        ("post", "/api/v1/courses", {"title": "T\u0000"}, "title"),
        ("post", "/api/v1/courses", {"title": "ok", "description": "d\u0000"}, "description"),
        ("patch", course, {"description": "\u0000"}, "description"),
        ("patch", course, {"title": "x\u0000y"}, "title"),
        (
            "post",
            f"{course}/activity-mappings",
            {"activity_id": "https://h5p.example/\u0000", "concept_keys": ["add"]},
            "activity_id",
        ),
        (
            "put",
            f"{course}/concept-graph",
            {"format": "csv", "content": "key,name\nab\u0000,x\n"},
            "content",
        ),
        (
            "post",
            f"{course}/engagement/graded-items",
            {"items": [{"object_id": "x\u0000", "kind": "quiz", "due_at": "2026-01-01T00:00"}]},
            "items[0].object_id",
        ),
        (
            "put",
            f"{course}/concepts/k",
            {"name": "ok", "prerequisites": ["\u0000"]},
            "prerequisites[0]",
        ),
        ("post", "/api/v1/courses", {"title": "ok", "t\u0000": 1}, "t\u0000"),
    ]
    courses_before = _count(app, Course)
    for method, url, body, path in cases:
        response = getattr(client, method)(url, json=body, headers=world.teacher)
        _refused(response, 422, path)
    assert _count(app, Course) == courses_before


def test_unpaired_surrogates_are_refused(client, world):
    # JSON can spell a lone surrogate; UTF-8 (and so PostgreSQL) cannot store one.
    response = client.post(
        "/api/v1/courses",
        data='{"title": "bad \\ud800 text"}',
        content_type="application/json",
        headers=world.teacher,
    )
    _refused(response, 422, "title")


def test_nul_in_query_and_path_is_refused(client, world):
    course = f"/api/v1/courses/{world.course_id}"
    _refused(
        client.get(f"{course}/items?concept=a%00b", headers=world.teacher), 422, "concept", "query"
    )
    _refused(
        client.put(f"{course}/concepts/a%00b", json={"name": "x"}, headers=world.teacher),
        422,
        "key",
        "path",
    )


def test_xapi_admin_endpoints_refuse_nul(client, app, world):
    cases = [
        ("/api/v1/xapi/credentials", {"name": "Learning\u0000Locker"}, "name"),
        (
            "/api/v1/xapi/engagement-rules",
            {"verb_id": "http://adlnet.gov/expapi/verbs/\u0000", "kind": "attendance"},
            "verb_id",
        ),
    ]
    for url, body, path in cases:
        _refused(client.post(url, json=body, headers=world.admin), 422, path)


# -- numbers --------------------------------------------------------------------------


def test_a_weight_too_large_for_a_float_is_422(client, world):
    weights = (
        '{"weights": {"attendance": 1e400, "submission": 20, "quiz": 15, '
        '"interaction": 15, "timeliness": 15, "resource": 10}}'
    )
    response = client.put(
        f"/api/v1/courses/{world.course_id}/engagement/weights",
        data=weights,
        content_type="application/json",
        headers=world.teacher,
    )
    _refused(response, 422, "weights.attendance")


def test_huge_integers_in_a_body_or_query_are_422(client, world):
    response = client.post(
        f"/api/v1/courses/{world.course_id}/members",
        data='{"user_id": 100000000000000000000000000000}',
        content_type="application/json",
        headers=world.teacher,
    )
    _refused(response, 422, "user_id")
    # In the query string too, for parameters declared as integers.
    for huge in (str(10**23), "9" * 5000):  # past 4,300 digits Python will not convert
        response = client.get(
            f"/api/v1/courses/{world.course_id}/assignments?student_id={huge}",
            headers=world.teacher,
        )
        _refused(response, 422, "student_id", "query")


@pytest.mark.parametrize("due_at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00"])
def test_due_dates_outside_the_calendar_in_utc_are_422(client, app, world, due_at):
    response = client.post(
        f"/api/v1/courses/{world.course_id}/engagement/graded-items",
        json={"items": [{"object_id": "quiz-1", "kind": "quiz", "due_at": due_at}]},
        headers=world.teacher,
    )
    _refused(response, 422, "items[0].due_at")
    assert _count(app, GradedItem) == 0


# -- content types and bodies -------------------------------------------------------


def test_a_json_endpoint_answers_415_to_another_content_type(client, app, world):
    seed_items(client, world, per_concept=2)
    generate = f"/api/v1/courses/{world.course_id}/assignments/generate"
    body = json.dumps({"length": 1, "student_ids": [world.student_id]})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = dict(world.teacher)
        if content_type:
            headers["Content-Type"] = content_type
        response = client.post(generate, data=body, headers=headers)
        assert response.status_code == 415, content_type
        assert response.content_type == PROBLEM
        assert "application/json" in response.get_json()["detail"]
    assert _count(app, Assignment) == 0

    form = client.put(
        f"/api/v1/courses/{world.course_id}/concepts/newkey",
        data={"name": "Sneaky"},
        headers=world.teacher,
    )
    assert form.status_code == 415
    with app.app_context():
        assert db.session.scalar(select(Concept.id).where(Concept.key == "newkey")) is None

    # JSON with parameters, or a +json type, is JSON.
    ok = client.post(
        generate,
        data=body,
        headers={**world.teacher, "Content-Type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 201
    assert len(ok.get_json()) == 1


def test_a_missing_body_where_one_is_required_is_422(client, app, world):
    for method, url in (
        ("patch", f"/api/v1/courses/{world.course_id}"),
        ("post", "/api/v1/courses"),
        ("post", f"/api/v1/courses/{world.course_id}/assignments/generate"),
    ):
        response = getattr(client, method)(url, headers=world.teacher)
        assert response.status_code == 422, url
        assert response.content_type == PROBLEM
        assert response.get_json()["errors"][0]["path"] == "$"
    assert _count(app, Assignment) == 0


def test_malformed_json_says_where(client, world):
    response = client.post(
        "/api/v1/courses",
        data='{"title": "Geometry",\n "code": }',
        content_type="application/json",
        headers=world.teacher,
    )
    assert response.status_code == 400
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert body["title"] == "Malformed JSON"
    assert "line 2" in body["detail"] and "column" in body["detail"]
    assert body["errors"][0]["path"] == "$"


# -- chunked bodies -------------------------------------------------------------------


class _Server:
    """The app on a real HTTP server, so a body can arrive chunked as from a client."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join()

    def post(self, path, chunks, headers):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            connection.request(
                "POST",
                path,
                body=iter(chunks),
                headers={**headers, "Transfer-Encoding": "chunked"},
                encode_chunked=True,
            )
            reply = connection.getresponse()
            return reply.status, reply.getheader("Content-Type"), reply.read()
        finally:
            connection.close()


LIMIT = 2048


def test_chunked_bodies_over_the_limit_are_413_not_truncated(make_app, app):
    small = make_app(MAX_CONTENT_LENGTH=LIMIT)
    w = build_world(small)
    rows = [f"{w.student_id},{date(2026, 1, 1) + timedelta(days=n)},present\n" for n in range(120)]
    csv_body = ("user_id,date,status\n" + "".join(rows)).encode()
    assert len(csv_body) > LIMIT
    with _Server(small) as server:
        status, content_type, body = server.post(
            f"/api/v1/courses/{w.course_id}/attendance/import",
            [csv_body[i : i + 256] for i in range(0, len(csv_body), 256)],
            {**w.teacher, "Content-Type": "text/csv"},
        )
        assert status == 413, body
        assert content_type == PROBLEM
        assert _count(app, AttendanceRecord) == 0

        document = json.dumps({"title": "T", "description": "x" * (LIMIT * 2)}).encode()
        status, content_type, body = server.post(
            "/api/v1/courses",
            [document[i : i + 300] for i in range(0, len(document), 300)],
            {**w.teacher, "Content-Type": "application/json"},
        )
        assert status == 413, body
        assert content_type == PROBLEM

        # Under the limit, a chunked body is read whole.
        fits = rows[:40]
        small_csv = ("user_id,date,status\n" + "".join(fits)).encode()
        assert len(small_csv) < LIMIT
        status, _, body = server.post(
            f"/api/v1/courses/{w.course_id}/attendance/import",
            [small_csv[i : i + 100] for i in range(0, len(small_csv), 100)],
            {**w.teacher, "Content-Type": "text/csv"},
        )
        assert status == 201, body
        assert json.loads(body)["stored"] == 40
        assert _count(app, AttendanceRecord) == 40


# -- CORS -------------------------------------------------------------------------------


def test_cors_exposes_pagination_and_retry_after(app, make_app):
    cors_app = make_app(ALLOWED_ORIGINS=["https://lms.school.example"])
    client = cors_app.test_client()
    response = client.get("/api/v1/courses", headers={"Origin": "https://lms.school.example"})
    exposed = {
        h.strip().lower()
        for h in response.headers.get("Access-Control-Expose-Headers", "").split(",")
    }
    assert {"x-pagination", "retry-after"} <= exposed
