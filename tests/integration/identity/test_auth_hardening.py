"""Auth API under attack: limiter keys, revoked sessions, enumeration, bad tokens.

Tests that build their own app also take ``app``, so the shared clean-up empties the
tables and the rate-limit counters after them.
"""

from __future__ import annotations

import json

from flask_jwt_extended import create_access_token

from masteryai_lti.lti.session import issue_session_token
from tests.factories import make_institution, make_user
from tests.integration.identity.test_auth_api import login as _login
from tests.integration.identity.test_auth_api import register as _register

PROBLEM = "application/problem+json"
CLIENT = {"REMOTE_ADDR": "127.0.0.1"}


def _me(client, access_token):
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"})


def test_an_oversized_login_does_not_reset_the_per_account_limit(app, make_app):
    limited = make_app(
        LOGIN_RATE_LIMIT_PER_IP="100 per minute",
        LOGIN_RATE_LIMIT_PER_ACCOUNT="3 per minute",
        MAX_CONTENT_LENGTH=2048,
    )
    client = limited.test_client()
    email = "target@school.example"
    assert _login(client, email, "guess-1").status_code == 401
    assert _login(client, email, "guess-2").status_code == 401

    oversized = client.post(
        "/api/v1/auth/login",
        data=json.dumps({"email": email, "password": "x" * 4096}),
        content_type="application/json",
    )
    assert oversized.status_code == 413
    assert oversized.content_type == PROBLEM

    assert _login(client, email, "guess-3").status_code == 401
    limited_now = _login(client, email, "guess-4")
    assert limited_now.status_code == 429
    assert limited_now.content_type == PROBLEM
    assert int(limited_now.headers["Retry-After"]) > 0


def test_the_per_account_key_never_raises(app, make_app):
    """flask-limiter takes an exception from a key function for a dead store and counts
    in fresh memory from then on; a body the key cannot read names no account."""
    from masteryai_lti.identity.api import _account_key

    small = make_app(MAX_CONTENT_LENGTH=1024)
    login = "/api/v1/auth/login"
    bodies = {
        "oversized": json.dumps({"email": "a@school.example", "password": "x" * 2048}),
        "unparseable": b"\xff{not json",
        "not an object": "[1, 2]",
        "email not text": json.dumps({"email": ["a@school.example"]}),
    }
    for case, body in bodies.items():
        with small.test_request_context(
            login, method="POST", data=body, content_type="application/json", environ_base=CLIENT
        ):
            assert _account_key() == "ip:127.0.0.1", case
    keys = set()
    for email in ("Ada@School.example", " ada@school.example "):
        with small.test_request_context(
            login, method="POST", json={"email": email}, environ_base=CLIENT
        ):
            keys.add(_account_key())
    assert len(keys) == 1 and next(iter(keys)).startswith("account:")


def test_an_unparseable_login_body_is_answered_and_keeps_the_limit(app, make_app):
    limited = make_app(
        LOGIN_RATE_LIMIT_PER_IP="100 per minute", LOGIN_RATE_LIMIT_PER_ACCOUNT="2 per minute"
    )
    client = limited.test_client()
    assert _login(client, "t@school.example", "guess-1").status_code == 401
    broken = client.post(
        "/api/v1/auth/login", data=b"\xff{not json", content_type="application/json"
    )
    assert broken.status_code == 400
    assert broken.content_type == PROBLEM
    assert _login(client, "t@school.example", "guess-2").status_code == 401
    assert _login(client, "t@school.example", "guess-3").status_code == 429


def test_logout_revokes_the_access_token_of_its_session(client):
    _register(client)
    phone = _login(client).json
    laptop = _login(client).json
    assert _me(client, phone["access_token"]).status_code == 200
    out = client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": phone["refresh_token"]},
        headers={"Authorization": f"Bearer {phone['access_token']}"},
    )
    assert out.status_code == 204
    after = _me(client, phone["access_token"])
    assert after.status_code == 401
    assert after.content_type == PROBLEM
    assert "revoked" in after.json["detail"]
    # The other session is another family: it goes on.
    assert _me(client, laptop["access_token"]).status_code == 200


def test_a_revoked_family_takes_its_access_tokens_with_it(client):
    _register(client)
    first = _login(client).json
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert _me(client, second.json["access_token"]).status_code == 200
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    for token in (first["access_token"], second.json["access_token"]):
        response = _me(client, token)
        assert response.status_code == 401
        assert response.content_type == PROBLEM


def test_lti_session_tokens_are_not_tied_to_a_refresh_family(client, app):
    _register(client)
    tokens = _login(client).json
    with app.app_context():
        from masteryai_lti.identity.service import find_user_by_email

        school = make_institution()
        user = find_user_by_email("ada@school.example")
        session_token, _ = issue_session_token(
            app,
            user_id=user.id,
            institution_id=school.id,
            role="student",
            course_id=None,
            launch_id="launch-1",
        )
    assert _me(client, session_token).status_code == 200
    client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert _me(client, session_token).status_code == 200


def test_a_token_whose_subject_is_not_a_user_id_is_401(client, app):
    with app.app_context():
        tokens = [
            create_access_token(identity=sub)
            for sub in ("abc", "", "1.5", "١", "9" * 40, "9" * 5000)
        ]
    for token in tokens:
        response = _me(client, token)
        assert response.status_code == 401, token
        assert response.content_type == PROBLEM


def test_registration_is_rate_limited_per_address(app, make_app):
    limited = make_app(REGISTER_RATE_LIMIT_PER_IP="3 per minute")
    client = limited.test_client()
    statuses = [_register(client, email=f"r{n}@school.example").status_code for n in range(3)] + [
        _register(client, email="r1@school.example").status_code
    ]
    assert statuses == [201, 201, 201, 429]
    limited_now = _register(client, email="r9@school.example")
    assert limited_now.status_code == 429
    assert limited_now.content_type == PROBLEM
    assert int(limited_now.headers["Retry-After"]) > 0


def test_a_successful_login_carries_no_retry_after(client, app):
    with app.app_context():
        user = make_user(make_institution())
    response = _login(client, user.email)
    assert response.status_code == 200
    assert "Retry-After" not in response.headers


def test_blank_full_name_is_422(client):
    response = _register(client, full_name="   ")
    assert response.status_code == 422
    assert [e["path"] for e in response.json["errors"]] == ["full_name"]
