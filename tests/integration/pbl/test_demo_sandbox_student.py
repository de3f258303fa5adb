"""The sandbox LMS's student, after `flask masteryai demo`: a newcomer who launches as the
student lands on a demo student with a project group, teammates' ratings and evidence in
the open project, and a released score in the closed one."""

from __future__ import annotations

import json
import re

from masteryai_lti.cli import demo_command
from masteryai_lti.demo import SANDBOX_STUDENT
from tests.integration.lti.test_sandbox import _follow_sandbox_launch


def _session(response) -> dict:
    html = response.get_data(as_text=True)
    match = re.search(r'id="masteryai-session" type="application/json">(.*?)</script>', html)
    assert match, html[:500]
    return json.loads(match.group(1))


def _teacher_headers(client) -> dict:
    login = client.post(
        "/api/v1/auth/login", json={"email": "teacher@demo.example", "password": "demo-password"}
    ).get_json()
    return {"Authorization": "Bearer " + login["access_token"]}


def test_the_sandbox_student_is_a_demo_student_in_both_projects(app, client):
    assert app.test_cli_runner().invoke(demo_command).exit_code == 0
    session = _session(_follow_sandbox_launch(client, "student"))
    headers = {"Authorization": "Bearer " + session["token"]}
    me = client.get("/api/v1/auth/me", headers=headers).get_json()
    assert me["email"] == SANDBOX_STUDENT["email"] and session["role"] == "student"
    base = f"/api/v1/courses/{session['course_id']}/projects"

    under_way, finished = client.get(base, headers=headers).get_json()
    assert (under_way["status"], finished["status"]) == ("open", "closed")

    # The open project: a group of five, evidence from a teammate, nobody rated yet.
    [group] = client.get(f"{base}/{under_way['id']}/groups", headers=headers).get_json()
    members = {m["user_id"] for m in group["members"]}
    assert session["user_id"] in members and len(members) == 5
    evidence = client.get(f"{base}/{under_way['id']}/evidence", headers=headers).get_json()
    assert evidence and all(e["author_id"] != session["user_id"] for e in evidence)
    given = client.get(f"{base}/{under_way['id']}/peer-ratings", headers=headers).get_json()
    assert given == []
    # Their teammates have rated them (students never see who: the teacher does).
    every = client.get(
        f"{base}/{under_way['id']}/peer-ratings", headers=_teacher_headers(client)
    ).get_json()
    raters = {r["rater_id"] for r in every if r["ratee_id"] == session["user_id"]}
    assert raters and raters <= members - {session["user_id"]}

    # The closed project: their own score, released, with how it was reached.
    scores = client.get(f"{base}/{finished['id']}/scores", headers=headers).get_json()
    assert scores["released"] is True
    [mine] = [m for g in scores["groups"] for m in g["members"]]
    assert mine["student_id"] == session["user_id"]
    assert mine["score"] is not None and mine["explanation"]


def test_a_second_sandbox_visit_keeps_the_same_student(app, client):
    assert app.test_cli_runner().invoke(demo_command).exit_code == 0
    first = _session(_follow_sandbox_launch(client, "student"))
    again = _session(_follow_sandbox_launch(client, "student"))
    assert first["user_id"] == again["user_id"]


def test_without_the_demo_the_sandbox_student_is_made_at_launch(client):
    session = _session(_follow_sandbox_launch(client, "student"))
    headers = {"Authorization": "Bearer " + session["token"]}
    base = f"/api/v1/courses/{session['course_id']}/projects"
    assert session["role"] == "student"
    assert client.get(base, headers=headers).get_json() == []
