"""The development-only LMS sandbox: launches the local tool as a teacher or a student."""

from __future__ import annotations

import html as html_lib
import json
import re

from masteryai_lti.extensions import db


def _follow_sandbox_launch(client, kind: str):
    page = client.get("/lti/sandbox/").get_data(as_text=True)
    launches = json.loads(re.search(r"var launches = (\{.*?\});", page).group(1))
    login = client.get(launches[kind])
    assert login.status_code == 302, login.get_data(as_text=True)
    auth = client.get(login.headers["Location"])
    body = auth.get_data(as_text=True)
    fields = {
        n: html_lib.unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', body)
    }
    return client.post("/lti/launch", data=fields)


def test_sandbox_launches_as_teacher(client):
    response = _follow_sandbox_launch(client, "teacher")

    assert response.status_code == 200
    assert 'data-page="teacher"' in response.get_data(as_text=True)
    assert "Algebra I" in response.get_data(as_text=True)


def test_sandbox_teacher_lands_in_the_demo_course_with_its_class(app, client):
    """A newcomer runs the demo and opens the sandbox: the teacher's dashboard has the
    demo's thirty students and their month of activity to show."""
    from masteryai_lti.cli import demo_command

    app.test_cli_runner().invoke(demo_command)
    with app.app_context():
        from masteryai_lti.courses.models import Course

        demo_course = db.session.query(Course).filter_by(code="ALG1").one()
    html = _follow_sandbox_launch(client, "teacher").get_data(as_text=True)
    session = json.loads(
        re.search(r'id="masteryai-session" type="application/json">(.*?)</script>', html).group(1)
    )
    assert session["course_id"] == demo_course.id and session["role"] == "teacher"
    assert 'id="engagement"' in html
    table = client.get(
        f"/api/v1/courses/{demo_course.id}/engagement?per_page=100",
        headers={"Authorization": "Bearer " + session["token"]},
    ).get_json()
    assert table["total"] == 30
    assert any(row["flagged"] for row in table["items"])


def test_sandbox_launches_as_student(client):
    response = _follow_sandbox_launch(client, "student")

    assert 'data-page="student"' in response.get_data(as_text=True)


def test_sandbox_deep_linking_round_trip(client):
    picker = _follow_sandbox_launch(client, "deep_link").get_data(as_text=True)
    fields = dict(re.findall(r'name="(launch_id|session_token)" value="([^"]+)"', picker))

    back = client.post("/lti/deep_linking/return", data={**fields, "item": "adaptive-practice"})
    jwt_value = re.search(r'name="JWT" value="([^"]+)"', back.get_data(as_text=True)).group(1)
    result = client.post("/lti/sandbox/deep_link_return", data={"JWT": jwt_value})

    assert result.status_code == 200
    assert "Added to Algebra I: 1 activity" in result.get_data(as_text=True)
    assert "graded, 100 points" in result.get_data(as_text=True)


def test_sandbox_refuses_an_activity_it_did_not_make(client):
    client.get("/lti/sandbox/")
    auth = client.get(
        "/lti/sandbox/auth",
        query_string={
            "client_id": "masteryai-sandbox",
            "redirect_uri": "http://localhost/lti/launch",
            "lti_message_hint": "link.not-base64-json",
            "state": "s",
        },
    )

    assert auth.status_code == 400


def test_sandbox_is_absent_when_disabled(make_app):
    app = make_app(LTI_SANDBOX_ENABLED=False)

    assert app.test_client().get("/lti/sandbox/").status_code == 404
    assert not any(r.rule.startswith("/lti/sandbox") for r in app.url_map.iter_rules())


def test_production_settings_switch_the_sandbox_off(monkeypatch):
    from config.settings import ProductionSettings

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/whatever")
    monkeypatch.setenv("LTI_SANDBOX_ENABLED", "true")

    assert ProductionSettings().LTI_SANDBOX_ENABLED is False


def test_sandbox_registration_is_reused(app, client):
    from sqlalchemy import func, select

    from masteryai_lti.lti.models import LtiRegistration

    client.get("/lti/sandbox/")
    client.get("/lti/sandbox/")

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LtiRegistration)) == 1
