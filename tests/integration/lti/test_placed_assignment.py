"""A placed adaptive assignment: the student's launch opens it, completing it posts the grade."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.lti.outbox_models import ScoreOutboxEntry
from masteryai_lti.mastery.models import Assignment
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import (
    auth_for,
    launched_course,
    lti_user,
    started_services_platform,
)

PLACED = {
    "https://purl.imsglobal.org/spec/lti/claim/custom": {
        "masteryai_target": "adaptive_assignment",
        "masteryai_id": "adaptive-practice",
    }
}


@pytest.fixture
def services_platform(app):
    yield from started_services_platform(app)


def _session_of(html: str) -> dict:
    match = re.search(r'id="masteryai-session" type="application/json">(.*?)</script>', html)
    assert match, "the landing page carries the session"
    return json.loads(match.group(1))


def _course_with_items(app, client, platform, count: int = 3) -> tuple[int, dict]:
    course_id, _ = launched_course(app, client, platform, "teacher")
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    graph = {"concepts": [{"key": "frac", "name": "Fractions", "prerequisites": []}]}
    response = client.put(
        f"/api/v1/courses/{course_id}/concept-graph", json={"document": graph}, headers=teacher
    )
    assert response.status_code == 200, response.get_json()
    answers = {}
    for i in range(count):
        response = client.post(
            f"/api/v1/courses/{course_id}/items",
            json={
                "key": f"frac-{i}",
                "kind": "numeric",
                "prompt": f"What is {i} + 0?",
                "concepts": ["frac"],
                "difficulty_label": ["easy", "medium", "hard"][i % 3],
                "answer": {"value": i, "tolerance": 0},
            },
            headers=teacher,
        )
        assert response.status_code == 201, response.get_json()
        answers[response.get_json()["id"]] = i
    return course_id, answers


def _student_launch(client, platform) -> dict:
    response = launch(client, platform, "student", extra_claims=PLACED)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    assert 'id="player"' in html
    return _session_of(html)


def test_student_launch_opens_their_assignment_and_completing_it_posts_the_grade(
    app, client, services_platform
):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform)

    session = _student_launch(client, platform)

    headers = {"Authorization": "Bearer " + session["token"]}
    detail = client.get(
        f"/api/v1/courses/{course_id}/assignments/{session['assignment_id']}", headers=headers
    )
    assert detail.status_code == 200, detail.get_json()
    items = detail.get_json()["items"]
    assert items and detail.get_json()["status"] == "open"
    for n, item in enumerate(items):
        wrong = n == 0  # one wrong answer: the grade must say so
        value = answers[item["item_id"]] + (1 if wrong else 0)
        reply = client.post(
            f"/api/v1/courses/{course_id}/attempts",
            json={"item_id": item["item_id"], "response": {"value": value}, "attempt_key": f"k{n}"},
            headers=headers,
        )
        assert reply.status_code == 201, reply.get_json()
        if n < len(items) - 1:
            assert platform.scores == [], "no grade before the assignment is complete"

    [score] = platform.scores
    assert score["userId"] == platform.users["student"].sub
    assert (score["scoreGiven"], score["scoreMaximum"]) == (len(items) - 1.0, float(len(items)))
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    with app.app_context():
        entry = db.session.scalar(select(ScoreOutboxEntry))
        assert (entry.status, entry.source) == ("sent", "adaptive_assignment")


def _course_with_more_items(app, client, platform, course_id: int) -> None:
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    response = client.post(
        f"/api/v1/courses/{course_id}/items",
        json={
            "key": "frac-extra",
            "kind": "numeric",
            "prompt": "What is 1 + 1?",
            "concepts": ["frac"],
            "difficulty_label": "medium",
            "answer": {"value": 2},
        },
        headers=teacher,
    )
    assert response.status_code == 201, response.get_json()


def test_reopening_gives_the_same_open_assignment_then_fresh_practice_once_done(
    app, client, services_platform
):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=2)

    first = _student_launch(client, platform)
    again = _student_launch(client, platform)
    assert again["assignment_id"] == first["assignment_id"]

    items = _answer_placed_assignment(client, course_id, again, answers)
    assert [s["scoreGiven"] for s in platform.scores] == [float(len(items))]

    # Both items were just answered and are not repeated within a week: nothing to give.
    later = launch(client, platform, "student", extra_claims=PLACED)
    assert "answered every question there is to practise" in later.get_data(as_text=True)
    with app.app_context():
        statuses = dict(db.session.execute(select(Assignment.id, Assignment.status)).all())
    assert statuses == {first["assignment_id"]: "completed"}

    _course_with_more_items(app, client, platform, course_id)
    fresh = _student_launch(client, platform)
    assert fresh["assignment_id"] != first["assignment_id"]


def test_a_course_without_items_says_so_and_keeps_no_empty_assignment(
    app, client, services_platform
):
    platform = services_platform
    launched_course(app, client, platform, "teacher")

    response = launch(client, platform, "student", extra_claims=PLACED)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "has not added practice questions" in html
    assert 'id="player"' not in html
    with app.app_context():
        assert db.session.scalar(select(Assignment)) is None


def test_a_retried_final_answer_posts_no_second_grade(app, client, services_platform):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=1)
    session = _student_launch(client, platform)
    headers = {"Authorization": "Bearer " + session["token"]}
    [item] = client.get(
        f"/api/v1/courses/{course_id}/assignments/{session['assignment_id']}", headers=headers
    ).get_json()["items"]
    body = {"item_id": item["item_id"], "response": {"value": 0}, "attempt_key": "final"}

    first = client.post(f"/api/v1/courses/{course_id}/attempts", json=body, headers=headers)
    retry = client.post(f"/api/v1/courses/{course_id}/attempts", json=body, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.get_json()["duplicate"] is True
    assert len(platform.scores) == 1


def _placed_due(due: str | None) -> dict:
    custom = PLACED["https://purl.imsglobal.org/spec/lti/claim/custom"]
    return {"https://purl.imsglobal.org/spec/lti/claim/custom": {**custom, "due_at": due}}


def _factor(breakdown: dict, name: str) -> float:
    return next(f["raw"] for f in breakdown["factors"] if f["factor"] == name)


def _answer_placed_assignment(client, course_id: int, session: dict, answers: dict) -> list:
    """Answer every question of the launched student's assignment right, completing it;
    returns the questions."""
    headers = {"Authorization": "Bearer " + session["token"]}
    questions = client.get(
        f"/api/v1/courses/{course_id}/assignments/{session['assignment_id']}", headers=headers
    ).get_json()["items"]
    for question in questions:
        reply = client.post(
            f"/api/v1/courses/{course_id}/attempts",
            json={
                "item_id": question["item_id"],
                "response": {"value": answers[question["item_id"]]},
            },
            headers=headers,
        )
        assert reply.status_code == 201, reply.get_json()
    return questions


def test_the_lms_due_date_makes_the_completed_assignment_late_or_on_time_work(
    app, client, services_platform
):
    from datetime import UTC, datetime, timedelta

    from masteryai_lti.engagement.models import EngagementEvent, GradedItem

    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=1)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    response = launch(client, platform, "student", extra_claims=_placed_due(yesterday.isoformat()))
    session = _session_of(response.get_data(as_text=True))
    with app.app_context():
        item = db.session.scalar(select(GradedItem))
        assert (item.kind, item.source, item.due_at) == ("submission", "lti", yesterday)
        link_id = item.object_id
    _answer_placed_assignment(client, course_id, session, answers)
    with app.app_context():
        event = db.session.scalar(
            select(EngagementEvent).where(EngagementEvent.kind == "submission")
        )
        assert (event.object_id, event.due_at, event.score) == (link_id, yesterday, 1.0)
        student_id = event.user_id
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    breakdown = client.get(
        f"/api/v1/courses/{course_id}/engagement/students/{student_id}", headers=teacher
    ).get_json()
    assert _factor(breakdown, "submission") == 1.0
    assert _factor(breakdown, "timeliness") == pytest.approx(6 / 7, abs=0.01)  # a day late

    # The teacher moves the deadline to today: the same work is now on time, and a
    # later launch carrying the LMS's old date does not undo the teacher's choice.
    today = yesterday + timedelta(days=1)
    declared = client.post(
        f"/api/v1/courses/{course_id}/engagement/graded-items",
        json={"items": [{"object_id": link_id, "kind": "submission", "due_at": today.isoformat()}]},
        headers=teacher,
    )
    assert declared.status_code == 200, declared.get_json()
    launch(client, platform, "student", extra_claims=_placed_due(yesterday.isoformat()))
    breakdown = client.get(
        f"/api/v1/courses/{course_id}/engagement/students/{student_id}", headers=teacher
    ).get_json()
    assert _factor(breakdown, "timeliness") == 1.0
    with app.app_context():
        item = db.session.scalar(select(GradedItem))
        assert (item.source, item.due_at) == ("teacher", today)


@pytest.mark.parametrize("due", ["", None, "$ResourceLink.submission.endDateTime", "next friday"])
def test_a_platform_that_gives_no_due_date_declares_nothing(app, client, services_platform, due):
    from masteryai_lti.engagement.models import GradedItem

    platform = services_platform
    _course_with_items(app, client, platform, count=1)
    response = launch(client, platform, "student", extra_claims=_placed_due(due))
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(GradedItem)) is None


# How a platform says the date is gone: empty, JSON null, or (Canvas, for an assignment
# without a due date) the variable left unreplaced.
@pytest.mark.parametrize("cleared", ["", None, "$ResourceLink.submission.endDateTime"])
def test_a_due_date_removed_in_the_lms_is_withdrawn_even_with_a_warm_cache(
    app, client, services_platform, cleared
):
    from datetime import UTC, datetime, timedelta

    from masteryai_lti.engagement.models import EngagementEvent, GradedItem

    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=1)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    launched = launch(client, platform, "student", extra_claims=_placed_due(yesterday.isoformat()))
    session = _session_of(launched.get_data(as_text=True))
    _answer_placed_assignment(client, course_id, session, answers)
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    warm = client.get(f"/api/v1/courses/{course_id}/engagement", headers=teacher)
    assert warm.status_code == 200  # the class view and its reference are cached now
    with app.app_context():
        student_id = db.session.scalar(select(EngagementEvent.user_id).limit(1))

    # A launch that says nothing of the date, or nonsense, keeps it.
    for unclear in (PLACED, _placed_due("next friday")):
        launch(client, platform, "student", extra_claims=unclear)
        with app.app_context():
            assert db.session.scalar(select(GradedItem.due_at)) == yesterday

    # The teacher cleared the due date in the LMS.
    launch(client, platform, "student", extra_claims=_placed_due(cleared))

    with app.app_context():
        assert db.session.scalar(select(GradedItem)) is None
        dues = db.session.scalars(
            select(EngagementEvent.due_at).where(EngagementEvent.kind == "submission")
        ).all()
        assert dues == [None]
    breakdown = client.get(
        f"/api/v1/courses/{course_id}/engagement/students/{student_id}", headers=teacher
    ).get_json()
    assert breakdown["missing_work"] == []
    assert next(f for f in breakdown["factors"] if f["factor"] == "submission")["weight"] == 0


def test_an_assignment_completed_by_imported_attempts_posts_the_grade(
    app, client, services_platform
):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=2)
    session = _student_launch(client, platform)
    headers = {"Authorization": "Bearer " + session["token"]}
    [first, last] = client.get(
        f"/api/v1/courses/{course_id}/assignments/{session['assignment_id']}", headers=headers
    ).get_json()["items"]
    reply = client.post(
        f"/api/v1/courses/{course_id}/attempts",
        json={"item_id": first["item_id"], "response": {"value": answers[first["item_id"]]}},
        headers=headers,
    )
    assert reply.status_code == 201, reply.get_json()
    assert platform.scores == []

    # The student answered the last question on paper; the teacher imports it.
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    student_id = lti_user(app, platform, "student").id
    key = f"frac-{answers[last['item_id']]}"  # as _course_with_items names them
    csv = f"student,item,correct,timestamp\n{student_id},{key},0,2026-12-01T10:00:00+00:00\n"
    imported = client.post(
        f"/api/v1/courses/{course_id}/attempts/import", json={"content": csv}, headers=teacher
    )
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json()["created"] == 1

    [score] = platform.scores
    assert (score["scoreGiven"], score["scoreMaximum"]) == (1.0, 2.0)
    assert score["userId"] == platform.users["student"].sub
