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
        newcomer = make_user(world["school"], role="student", email="newcomer@school.example")
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


def test_teacher_cannot_adopt_a_user_without_institution(client, app):
    """A self-registered teacher owns a new institution; enrolling someone by id must not
    move an unaffiliated account (or another tenant's) into it: those join by code."""
    world = _setup(app)
    with app.app_context():
        loner = make_user(None, role="student", email="loner@school.example")
        loner_id = loner.id
    course_id = world["course"].id
    for body in ({"user_id": loner_id}, {"email": "loner@school.example"}):
        response = client.post(
            f"/api/v1/courses/{course_id}/members", json=body, headers=world["teacher"]
        )
        assert response.status_code == 404, body
        assert response.content_type == PROBLEM
    with app.app_context():
        from masteryai_lti.courses.models import Enrollment
        from masteryai_lti.extensions import db
        from masteryai_lti.identity.models import User

        assert db.session.get(User, loner_id).institution_id is None
        assert db.session.query(Enrollment).filter_by(user_id=loner_id).count() == 0
        headers = bearer(db.session.get(User, loner_id))
    # The road in for such an account is the course's join code.
    joined = client.post(
        "/api/v1/courses/join", json={"join_code": world["course"].join_code}, headers=headers
    )
    assert joined.status_code == 201


def test_self_registered_teacher_cannot_take_over_unaffiliated_student(client, app):
    student = client.post(
        "/api/v1/auth/register",
        json={
            "email": "victim@school.example",
            "password": "correct-horse-battery",
            "full_name": "Victim",
            "role": "student",
        },
    ).json
    client.post(
        "/api/v1/auth/register",
        json={
            "email": "attacker@evil.example",
            "password": "correct-horse-battery",
            "full_name": "Attacker",
            "role": "teacher",
        },
    )
    token = client.post(
        "/api/v1/auth/login",
        json={"email": "attacker@evil.example", "password": "correct-horse-battery"},
    ).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    course = client.post("/api/v1/courses", json={"title": "Trap"}, headers=headers).json
    response = client.post(
        f"/api/v1/courses/{course['id']}/members", json={"user_id": student["id"]}, headers=headers
    )
    assert response.status_code == 404
    members = client.get(f"/api/v1/courses/{course['id']}/members", headers=headers).json
    assert student["id"] not in {m["user_id"] for m in members}


def test_teacher_joining_own_course_by_code_stays_teacher(client, app):
    world = _setup(app)
    course = world["course"]
    joined = client.post(
        "/api/v1/courses/join", json={"join_code": course.join_code}, headers=world["teacher"]
    )
    assert joined.status_code in (200, 201)
    assert joined.json["role"] == "teacher"
    # Still allowed to do what teachers do.
    members = client.get(f"/api/v1/courses/{course.id}/members", headers=world["teacher"])
    assert members.status_code == 200
    roles = {m["user_id"]: m["role"] for m in members.json}
    assert roles[world["teacher_id"]] == "teacher"


def test_blank_title_is_422(client, app):
    world = _setup(app)
    for title in ("   ", "\t\n"):
        created = client.post("/api/v1/courses", json={"title": title}, headers=world["teacher"])
        assert created.status_code == 422, title
        assert created.json["errors"][0]["path"] == "title"
        patched = client.patch(
            f"/api/v1/courses/{world['course'].id}", json={"title": title}, headers=world["teacher"]
        )
        assert patched.status_code == 422
        assert patched.json["errors"][0]["path"] == "title"


def test_page_far_past_the_end_is_an_empty_page(client, app):
    world = _setup(app)
    for page in ("101457449407197488", str(2**70)):
        response = client.get(f"/api/v1/courses?page={page}", headers=world["teacher"])
        assert response.status_code in (200, 422), page
        if response.status_code == 200:
            assert response.json == []
        else:
            assert response.json["errors"][0]["path"] == "page"


def test_huge_ids_in_the_path_are_404(client, app):
    world = _setup(app)
    for course_id in (str(2**31), str(2**63), str(10**30), "9" * 5000):
        response = client.get(f"/api/v1/courses/{course_id}", headers=world["teacher"])
        assert response.status_code == 404, course_id
        assert response.content_type == PROBLEM
    response = client.post(
        f"/api/v1/courses/{world['course'].id}/members",
        json={"user_id": 10**30},
        headers=world["teacher"],
    )
    assert response.status_code in (404, 422)
    assert response.content_type == PROBLEM
