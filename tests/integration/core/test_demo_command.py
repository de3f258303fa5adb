"""`flask masteryai demo` seeds once and prints how to log in."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from masteryai_lti.courses.models import Enrollment
from masteryai_lti.engagement.models import EngagementEvent, EngagementSnapshot
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import Institution, User
from masteryai_lti.mastery.models import Attempt, Item


def _counts():
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (
            Institution,
            User,
            Enrollment,
            Attempt,
            Item,
            EngagementEvent,
            EngagementSnapshot,
        )
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


@pytest.fixture
def demo_teacher(runner, client):
    """The demo seeded; the teacher's headers and their course."""
    assert runner.invoke(args=["masteryai", "demo"]).exit_code == 0
    login = client.post(
        "/api/v1/auth/login", json={"email": "teacher@demo.example", "password": "demo-password"}
    ).get_json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    [course] = client.get("/api/v1/courses", headers=headers).get_json()
    return headers, course


def test_demo_course_has_mastery_and_engagement_to_show(demo_teacher, app, client):
    headers, course = demo_teacher

    heatmap = client.get(f"/api/v1/courses/{course['id']}/mastery/heatmap", headers=headers)
    table = client.get(
        f"/api/v1/courses/{course['id']}/engagement?at_risk=true&per_page=100", headers=headers
    )

    assert heatmap.status_code == 200, heatmap.get_json()
    body = heatmap.get_json()
    assert len(body["concepts"]) == 6
    assert len(body["students"]) == 30
    assert table.status_code == 200, table.get_json()
    flagged = {row["student_id"] for row in table.get_json()["items"]}
    # Every tenth demo student never shows up: the at-risk list must name them.
    with app.app_context():
        absent = set(db.session.scalars(select(User.id).where(User.email.like("student%0@demo%"))))
    assert absent and absent <= flagged
    # The homework is declared with due dates, so submission and timeliness count.
    graded = client.get(f"/api/v1/courses/{course['id']}/engagement/graded-items", headers=headers)
    assert [i["title"] for i in graded.get_json()] == [f"Homework {n}" for n in range(1, 5)]
    one_absent = min(absent)
    breakdown = client.get(
        f"/api/v1/courses/{course['id']}/engagement/students/{one_absent}", headers=headers
    ).get_json()
    submission = next(f for f in breakdown["factors"] if f["factor"] == "submission")
    assert submission["raw"] == 0.0 and submission["course_median"] > 0


def test_demo_students_have_a_month_of_history(demo_teacher, app, client):
    headers, course = demo_teacher
    with app.app_context():
        steady, absent = (
            db.session.scalar(select(User.id).where(User.email == email))
            for email in ("student01@demo.example", "student10@demo.example")
        )

    def history(student):
        url = f"/api/v1/courses/{course['id']}/engagement/students/{student}/history"
        return client.get(url, headers=headers).get_json()

    steady_days, absent_days = history(steady), history(absent)
    # One snapshot a day for four weeks, ending today with today's figures.
    assert len(steady_days) == len(absent_days) == 28
    dates = [day["date"] for day in steady_days]
    assert dates == sorted(set(dates))
    today = client.get(
        f"/api/v1/courses/{course['id']}/engagement/students/{steady}", headers=headers
    ).get_json()
    assert steady_days[-1]["score"] == today["score"]
    # The student who never came was flagged every day; the steady one not at the end.
    assert all(day["flagged"] for day in absent_days)
    assert not steady_days[-1]["flagged"]


def test_demo_course_has_a_released_project_and_one_under_way(demo_teacher, app, client):
    headers, course = demo_teacher
    base = f"/api/v1/courses/{course['id']}/projects"
    projects = client.get(base, headers=headers).get_json()
    assert [p["status"] for p in projects] == ["open", "closed"]
    closed = projects[1]
    assert closed["scores_released_at"] is not None
    scores = client.get(f"{base}/{closed['id']}/scores", headers=headers).get_json()
    members = [m for g in scores["groups"] for m in g["members"]]
    assert len(scores["groups"]) == 6 and len(members) == 30
    assert all(m["score"] is not None for m in members)
    # The absent students rated nobody: the 10% penalty shows, with its reason.
    with app.app_context():
        absent = set(db.session.scalars(select(User.id).where(User.email.like("student%0@demo%"))))
    for member in members:
        assert member["rated_peers"] is (member["student_id"] not in absent)
        if member["student_id"] in absent:
            assert member["penalty"] > 0 and "did not rate" in member["explanation"]
    under_way = client.get(f"{base}/{projects[0]['id']}/evidence", headers=headers).get_json()
    assert len(under_way) == 6
