"""Bearer tokens as an attacker forges them: algorithms, keys, and what a token still
grants after the account changed. The server must trust only its own HS256 signature
and must read the user's role and state from the database at every request."""

from __future__ import annotations

import time
import warnings

import jwt
import jwt.warnings
import pytest
from flask_jwt_extended import create_access_token

from masteryai_lti.extensions import db
from tests.factories import bearer, make_course, make_institution, make_user

SECRET = "test-secret-key-that-is-long-enough-for-hmac"


def _claims(user_id: int) -> dict:
    now = int(time.time())
    return {
        "sub": str(user_id),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "forged",
        "type": "access",
        "fresh": False,
    }


def _me(client, token: str):
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def user_id(app):
    with app.app_context():
        return make_user(make_institution(), role="teacher").id


def test_an_unsigned_token_is_refused(client, user_id):
    token = jwt.encode(_claims(user_id), key=None, algorithm="none")

    assert _me(client, token).status_code == 401


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_under_another_algorithm_is_refused_even_with_the_right_key(
    client, user_id, algorithm
):
    """The algorithm is pinned: the header's ``alg`` never picks how a token is checked."""
    with warnings.catch_warnings():
        # PyJWT warns that the test secret is short for HS384/512; irrelevant here.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        token = jwt.encode(_claims(user_id), SECRET, algorithm=algorithm)

    assert _me(client, token).status_code == 401


def test_a_token_signed_with_another_key_is_refused(client, user_id):
    token = jwt.encode(_claims(user_id), "another-key-that-is-also-long-enough", "HS256")

    assert _me(client, token).status_code == 401


def test_the_control_token_passes(client, user_id):
    """The forged tokens above differ from a valid one only where each test says."""
    assert _me(client, jwt.encode(_claims(user_id), SECRET, algorithm="HS256")).status_code == 200


def test_a_demoted_teacher_loses_the_course_with_a_token_still_valid(app, client):
    from masteryai_lti.courses.models import Enrollment

    with app.app_context():
        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        headers = bearer(teacher)
    url = f"/api/v1/courses/{course.id}/engagement"
    assert client.get(url, headers=headers).status_code == 200

    with app.app_context():
        enrollment = db.session.query(Enrollment).filter_by(user_id=teacher.id).one()
        enrollment.role = "student"
        db.session.commit()

    assert client.get(url, headers=headers).status_code == 403


def test_a_disabled_account_is_refused_with_a_token_still_valid(app, client):
    from masteryai_lti.identity.models import User

    with app.app_context():
        user = make_user(make_institution())
        token = create_access_token(identity=str(user.id))
        db.session.get(User, user.id).is_active = False
        db.session.commit()

    assert _me(client, token).status_code == 401
