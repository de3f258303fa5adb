"""The auth API end to end: register, login, me, refresh rotation, logout, errors."""

from __future__ import annotations

from datetime import timedelta

from flask_jwt_extended import create_access_token
from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.identity.models import RefreshToken, User
from tests.factories import PASSWORD, make_institution, make_user

PROBLEM = "application/problem+json"


def register(client, **fields):
    body = {
        "email": "ada@school.example",
        "password": PASSWORD,
        "full_name": "Ada Lovelace",
        "role": "student",
    }
    body.update(fields)
    return client.post("/api/v1/auth/register", json=body)


def login(client, email="ada@school.example", password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_register_login_me(client):
    created = register(client)
    assert created.status_code == 201
    assert created.json["email"] == "ada@school.example"
    assert created.json["role"] == "student"
    assert "password" not in created.json and "password_hash" not in created.json

    tokens = login(client)
    assert tokens.status_code == 200
    assert tokens.json["token_type"] == "bearer"
    assert tokens.json["expires_in"] == 30 * 60
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens.json['access_token']}"}
    )
    assert me.status_code == 200
    assert set(me.json) >= {"id", "email", "full_name", "role", "institution_id"}
    assert me.json["id"] == created.json["id"]
    assert me.json["institution_id"] is None


def test_teacher_registration_founds_own_institution(client, app):
    created = register(client, email="t@school.example", role="teacher")
    assert created.status_code == 201
    assert created.json["role"] == "teacher"
    assert created.json["is_admin"] is True
    other = register(client, email="t2@school.example", role="teacher")
    assert other.json["institution_id"] != created.json["institution_id"]


def test_registering_as_admin_is_refused(client):
    response = register(client, role="admin")
    assert response.status_code == 422
    assert response.json["errors"][0]["path"] == "role"


def test_teacher_joins_existing_institution_only_by_invitation(client, app):
    with app.app_context():
        school = make_institution()
        admin = make_user(school, role="teacher", admin=True)
        admin_login = login(client, admin.email).json
    invite = client.post(
        "/api/v1/institutions/invitations",
        json={"email": "new@school.example", "role": "teacher"},
        headers={"Authorization": f"Bearer {admin_login['access_token']}"},
    )
    assert invite.status_code == 201
    wrong_email = register(
        client, email="else@school.example", role="teacher", invitation_code=invite.json["code"]
    )
    assert wrong_email.status_code == 422
    joined = register(
        client, email="new@school.example", role="teacher", invitation_code=invite.json["code"]
    )
    assert joined.status_code == 201
    assert joined.json["institution_id"] == school.id
    assert joined.json["is_admin"] is False
    reused = register(
        client, email="new2@school.example", role="teacher", invitation_code=invite.json["code"]
    )
    assert reused.status_code == 422


def test_student_cannot_invite(client, app):
    with app.app_context():
        school = make_institution()
        student = make_user(school, role="student")
        token = login(client, student.email).json["access_token"]
    response = client.post(
        "/api/v1/institutions/invitations",
        json={"email": "x@school.example", "role": "teacher"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert response.content_type == PROBLEM


def test_refresh_rotates_and_reuse_revokes_family(client, app):
    register(client)
    first = login(client).json
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert second.json["access_token"]

    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.content_type == PROBLEM
    # The legitimate successor dies with the family.
    successor = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second.json["refresh_token"]}
    )
    assert successor.status_code == 401
    with app.app_context():
        family = db.session.scalars(select(RefreshToken)).all()
        assert len(family) == 2
        assert all(token.revoked_at is not None for token in family)


def test_other_sessions_survive_a_revoked_family(client):
    register(client)
    phone = login(client).json
    laptop = login(client).json
    client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    still = client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert still.status_code == 200


def test_logout_revokes_refresh_token(client):
    register(client)
    tokens = login(client).json
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = client.post(
        "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert out.status_code == 204
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_logout_needs_bearer(client):
    register(client)
    tokens = login(client).json
    response = client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401
    assert response.content_type == PROBLEM


def test_wrong_password_is_401_problem(client):
    register(client)
    response = login(client, password="not-the-password")
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.json["status"] == 401
    assert {"type", "title", "status", "detail"} <= set(response.json)
    unknown = login(client, email="nobody@school.example")
    assert unknown.status_code == 401
    assert unknown.json["detail"] == response.json["detail"]


def test_duplicate_email_is_409(client):
    assert register(client).status_code == 201
    response = register(client, email="ADA@school.example")
    assert response.status_code == 409
    assert response.content_type == PROBLEM


def test_malformed_email_and_short_password_name_fields(client):
    response = register(client, email="not-an-email", password="short")
    assert response.status_code == 422
    assert response.content_type == PROBLEM
    paths = {error["path"] for error in response.json["errors"]}
    assert paths == {"email", "password"}


def test_expired_access_token_is_401(client, app):
    with app.app_context():
        user = make_user()
        token = create_access_token(identity=str(user.id), expires_delta=timedelta(seconds=-5))
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert "expired" in response.json["detail"]


def test_tampered_access_token_is_401(client):
    register(client)
    token = login(client).json["access_token"]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401


def test_student_registers_with_join_code(client, app):
    from tests.factories import make_course

    with app.app_context():
        school = make_institution()
        course = make_course(school, join_code="ABCD2345")
    created = register(client, join_code="abcd2345")
    assert created.status_code == 201
    assert created.json["institution_id"] == school.id
    with app.app_context():
        assert db.session.scalar(
            select(User.institution_id).where(User.id == created.json["id"])
        ) == (course.institution_id)


def test_login_flood_is_429_with_retry_after(make_app):
    flood_app = make_app(
        LOGIN_RATE_LIMIT_PER_IP="5 per minute", LOGIN_RATE_LIMIT_PER_ACCOUNT="3 per minute"
    )
    client = flood_app.test_client()
    statuses = [
        client.post(
            "/api/v1/auth/login", json={"email": "x@school.example", "password": "nope-nope"}
        ).status_code
        for _ in range(4)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429
    limited = client.post("/api/v1/auth/login", json={"email": "x@school.example", "password": "n"})
    assert limited.status_code == 429
    assert limited.content_type == PROBLEM
    assert int(limited.headers["Retry-After"]) > 0
    # Per IP as well: other accounts from the same address are limited after 5 in all.
    other = [
        client.post(
            "/api/v1/auth/login", json={"email": f"y{i}@school.example", "password": "n"}
        ).status_code
        for i in range(3)
    ]
    assert 429 in other
    from masteryai_lti.extensions import limiter

    with flood_app.app_context():
        limiter.reset()
