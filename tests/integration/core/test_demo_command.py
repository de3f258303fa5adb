"""`flask masteryai demo` seeds once and prints how to log in."""

from __future__ import annotations

from sqlalchemy import func, select

from masteryai_lti.courses.models import Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import Institution, User


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(Institution)),
        db.session.scalar(select(func.count()).select_from(User)),
        db.session.scalar(select(func.count()).select_from(Enrollment)),
    )


def test_demo_is_idempotent_and_prints_logins(runner, app, client):
    first = runner.invoke(args=["masteryai", "demo"])
    assert first.exit_code == 0, first.output
    assert "teacher@demo.example" in first.output
    assert "demo-password" in first.output
    with app.app_context():
        after_first = _counts()
        students = db.session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.role == "student")
        )
        assert db.session.scalar(select(Institution.slug)) == "demo"
    assert students == 30
    second = runner.invoke(args=["masteryai", "demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert _counts() == after_first
    login = client.post(
        "/api/v1/auth/login", json={"email": "teacher@demo.example", "password": "demo-password"}
    )
    assert login.status_code == 200
