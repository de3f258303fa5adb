"""Courses API: creation, listing, scoping by tenant and role, membership."""

from __future__ import annotations

from tests.factories import bearer, make_course, make_enrollment, make_institution, make_user

PROBLEM = "application/problem+json"


def _setup(app):
    with app.app_context():
        school = make_institution()
        teacher = make_user(school, role="teacher")
        student = make_user(school, role="student")
        course = make_course(school, teacher)
        make_enrollment(course, student)
        return {
            "school": school,
            "course": course,
            "teacher": bearer(teacher),
            "student": bearer(student),
            "student_id": student.id,
            "teacher_id": teacher.id,
        }


def test_teacher_creates_and_lists_course(client, app):
    world = _setup(app)
    created = client.post(
        "/api/v1/courses", json={"title": "Geometry", "code": "GEO"}, headers=world["teacher"]
    )
    assert created.status_code == 201
    assert created.json["institution_id"] == world["school"].id
    assert len(created.json["join_code"]) == 8
    listed = client.get("/api/v1/courses", headers=world["teacher"])
    assert listed.status_code == 200
    assert {c["title"] for c in listed.json} == {world["course"].title, "Geometry"}
    assert "X-Pagination" in listed.headers


def test_student_sees_only_own_courses_and_cannot_create(client, app):
    world = _setup(app)
    with app.app_context():
        make_course(world["school"], title="Not mine")
    listed = client.get("/api/v1/courses", headers=world["student"])
    assert [c["id"] for c in listed.json] == [world["course"].id]
    forbidden = client.post("/api/v1/courses", json={"title": "Mine"}, headers=world["student"])
    assert forbidden.status_code == 403
    assert forbidden.content_type == PROBLEM


def test_student_cannot_list_members(client, app):
    world = _setup(app)
    response = client.get(f"/api/v1/courses/{world['course'].id}/members", headers=world["student"])
    assert response.status_code == 403


def test_other_institution_course_is_404(client, app):
    world = _setup(app)
    with app.app_context():
        other = make_institution()
        other_teacher = make_user(other, role="teacher")
        foreign = make_course(other, other_teacher)
        other_admin = make_user(other, role="teacher", admin=True)
        admin_headers = bearer(other_admin)
    for path in ("", "/members"):
        response = client.get(f"/api/v1/courses/{foreign.id}{path}", headers=world["teacher"])
        assert response.status_code == 404, path
        assert response.content_type == PROBLEM
    patched = client.patch(
        f"/api/v1/courses/{foreign.id}", json={"title": "x"}, headers=world["teacher"]
    )
    assert patched.status_code == 404
    # An admin sees everything of their own institution, nothing of another's.
    assert client.get(f"/api/v1/courses/{foreign.id}", headers=admin_headers).status_code == 200
    own = client.get(f"/api/v1/courses/{world['course'].id}", headers=admin_headers)
    assert own.status_code == 404


def test_update_course(client, app):
    world = _setup(app)
    response = client.patch(
        f"/api/v1/courses/{world['course'].id}",
        json={"title": "Renamed"},
        headers=world["teacher"],
    )
    assert response.status_code == 200
    assert response.json["title"] == "Renamed"
    denied = client.patch(
        f"/api/v1/courses/{world['course'].id}", json={"title": "x"}, headers=world["student"]
    )
    assert denied.status_code == 403
    invalid = client.patch(
        f"/api/v1/courses/{world['course'].id}", json={"title": ""}, headers=world["teacher"]
    )
    assert invalid.status_code == 422
    assert invalid.json["errors"][0]["path"] == "title"


def test_enroll_list_unenroll(client, app):
    world = _setup(app)
    with app.app_context():
        newcomer = make_user(None, role="student", email="newcomer@school.example")
    course_id = world["course"].id
    added = client.post(
        f"/api/v1/courses/{course_id}/members",
        json={"email": "newcomer@school.example"},
        headers=world["teacher"],
    )
    assert added.status_code == 201
    members = client.get(f"/api/v1/courses/{course_id}/members", headers=world["teacher"]).json
    assert newcomer.id in {m["user_id"] for m in members}
    removed = client.delete(
        f"/api/v1/courses/{course_id}/members/{newcomer.id}", headers=world["teacher"]
    )
    assert removed.status_code == 204
    members = client.get(f"/api/v1/courses/{course_id}/members", headers=world["teacher"]).json
    assert newcomer.id not in {m["user_id"] for m in members}
    again = client.delete(
        f"/api/v1/courses/{course_id}/members/{newcomer.id}", headers=world["teacher"]
    )
    assert again.status_code == 404


def test_enroll_needs_exactly_one_target(client, app):
    world = _setup(app)
    response = client.post(
        f"/api/v1/courses/{world['course'].id}/members", json={}, headers=world["teacher"]
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["path"] == "user_id"


def test_cannot_enroll_user_of_other_institution(client, app):
    world = _setup(app)
    with app.app_context():
        outsider = make_user(make_institution(), role="student")
    response = client.post(
        f"/api/v1/courses/{world['course'].id}/members",
        json={"user_id": outsider.id},
        headers=world["teacher"],
    )
    assert response.status_code == 404


def test_student_joins_by_code(client, app):
    world = _setup(app)
    with app.app_context():
        loner = make_user(None, role="student")
        headers = bearer(loner)
    assert client.get("/api/v1/courses", headers=headers).json == []
    joined = client.post(
        "/api/v1/courses/join", json={"join_code": world["course"].join_code}, headers=headers
    )
    assert joined.status_code == 201
    assert [c["id"] for c in client.get("/api/v1/courses", headers=headers).json] == [
        world["course"].id
    ]
    bad = client.post("/api/v1/courses/join", json={"join_code": "ZZZZZZZZ"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json["errors"][0]["path"] == "join_code"


def test_unauthenticated_is_401(client):
    response = client.get("/api/v1/courses")
    assert response.status_code == 401
    assert response.content_type == PROBLEM
