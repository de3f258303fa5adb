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
)

PLACED = {
    "https://purl.imsglobal.org/spec/lti/claim/custom": {
        "masteryai_target": "adaptive_assignment",
        "masteryai_id": "adaptive-practice",
    }
}


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


def test_reopening_gives_the_same_open_assignment_then_more_practice_once_done(
    app, client, services_platform
):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=2)

    first = _student_launch(client, platform)
    again = _student_launch(client, platform)
    assert again["assignment_id"] == first["assignment_id"]

    items = _answer_placed_assignment(client, course_id, again, answers)
    assert [s["scoreGiven"] for s in platform.scores] == [float(len(items))]

    # Both items were just answered, but two answers do not master the concept: rather
    # than a week's lock-out, the student practises them again.
    repeat = _student_launch(client, platform)
    assert repeat["assignment_id"] != first["assignment_id"]
    assert {i["item_id"] for i in _questions(client, course_id, repeat)} == set(answers)

    # A new item in the bank comes before any repeat.
    _answer_placed_assignment(client, course_id, repeat, answers)
    _course_with_more_items(app, client, platform, course_id)
    fresh = _student_launch(client, platform)
    assert [i["item_key"] for i in _questions(client, course_id, fresh)] == ["frac-extra"]


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


def _questions(client, course_id: int, session: dict) -> list:
    """The questions of the launched student's assignment, in order."""
    reply = client.get(
        f"/api/v1/courses/{course_id}/assignments/{session['assignment_id']}",
        headers={"Authorization": "Bearer " + session["token"]},
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["items"]


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


# -- grades, results and re-practice of the placed assignment -------------------------

AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"


def _answer(client, course_id: int, session: dict, question: dict, value) -> dict:
    reply = client.post(
        f"/api/v1/courses/{course_id}/attempts",
        json={"item_id": question["item_id"], "response": {"value": value}},
        headers={"Authorization": "Bearer " + session["token"]},
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def _sit(client, course_id: int, session: dict, answers: dict, wrong: int = 0) -> list:
    """Answer the session's questions, the first ``wrong`` of them wrongly."""
    questions = _questions(client, course_id, session)
    for n, question in enumerate(questions):
        right = answers[question["item_id"]]
        _answer(client, course_id, session, question, right + 1 if n < wrong else right)
    return questions


def _result(client, course_id: int, session: dict) -> dict:
    reply = client.get(
        f"/api/v1/courses/{course_id}/assignments/{session['assignment_id']}/grade",
        headers={"Authorization": "Bearer " + session["token"]},
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def _add_items(app, client, platform, course_id: int, values: range) -> dict:
    """More numeric items ``What is v + 0?`` for the course; returns ``{item id: v}``."""
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    added = {}
    for value in values:
        response = client.post(
            f"/api/v1/courses/{course_id}/items",
            json={
                "key": f"frac-{value}",
                "kind": "numeric",
                "prompt": f"What is {value} + 0?",
                "concepts": ["frac"],
                "difficulty_label": "easy",
                "answer": {"value": value, "tolerance": 0},
            },
            headers=teacher,
        )
        assert response.status_code == 201, response.get_json()
        added[response.get_json()["id"]] = value
    return added


def test_a_weaker_later_session_never_lowers_the_grade(app, client, services_platform):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=3)

    good = _student_launch(client, platform)
    _sit(client, course_id, good, answers, wrong=1)  # 2 of 3
    answers |= _add_items(app, client, platform, course_id, range(3, 6))
    poor = _student_launch(client, platform)  # the finish screen invites more practice
    assert poor["assignment_id"] != good["assignment_id"]
    _sit(client, course_id, poor, answers, wrong=99)  # none right

    sent = [(s["scoreGiven"], s["scoreMaximum"]) for s in platform.scores]
    assert sent == [(2.0, 3.0), (2.0, 3.0)], "the best session, never the latest"
    assert "best of 2 sessions" in platform.scores[-1]["comment"]
    assert "latest: 0 of" in platform.scores[-1]["comment"]
    [result] = platform.results.values()
    assert (result["resultScore"], result["resultMaximum"]) == (2.0, 3.0)

    answers |= _add_items(app, client, platform, course_id, range(6, 9))
    best = _student_launch(client, platform)
    questions = _sit(client, course_id, best, answers)  # all right: the grade goes up
    total = float(len(questions))
    assert (platform.scores[-1]["scoreGiven"], platform.scores[-1]["scoreMaximum"]) == (
        total,
        total,
    )
    assert _result(client, course_id, poor)["best"] == {
        "correct": total,
        "total": len(questions),
        "sessions": 3,
    }


def test_the_session_result_comes_from_the_server_across_a_reopening(
    app, client, services_platform
):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=3)
    first = _student_launch(client, platform)
    questions = _questions(client, course_id, first)
    _answer(client, course_id, first, questions[0], answers[questions[0]["item_id"]])

    reopened = _student_launch(client, platform)  # a new page: nothing counted on the client
    assert reopened["assignment_id"] == first["assignment_id"]
    midway = _result(client, course_id, reopened)
    assert (midway["status"], midway["answered"], midway["correct"]) == ("open", 1, 1.0)
    assert midway["total"] == len(questions)
    assert midway["grade"]["state"] == "on_finish"
    for question in questions[1:]:
        _answer(client, course_id, reopened, question, answers[question["item_id"]])

    done = _result(client, course_id, reopened)
    assert (done["status"], done["answered"]) == ("completed", len(questions))
    assert (done["correct"], done["total"]) == (float(len(questions)), len(questions))
    assert done["grade"]["state"] == "sent"
    assert f"{len(questions)} of {len(questions)}" in done["grade"]["message"]


def test_students_see_only_their_own_session_result(app, client, services_platform):
    from masteryai_lti.courses.models import Course
    from masteryai_lti.identity.models import Institution
    from tests.factories import make_enrollment, make_user

    platform = services_platform
    course_id, _ = _course_with_items(app, client, platform, count=1)
    session = _student_launch(client, platform)
    url = f"/api/v1/courses/{course_id}/assignments/{session['assignment_id']}/grade"
    with app.app_context():
        course = db.session.get(Course, course_id)
        classmate = make_user(db.session.get(Institution, course.institution_id))
        make_enrollment(course, classmate)
        db.session.commit()

    assert client.get(url, headers=auth_for(app, classmate)).status_code == 404
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    assert client.get(url, headers=teacher).status_code == 200


def test_a_struggling_student_practises_again_from_easy_to_hard(app, client, services_platform):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=6)
    first = _student_launch(client, platform)
    questions = _questions(client, course_id, first)
    assert len(questions) == 6, "the whole bank of the first concept"
    for n, question in enumerate(questions):  # the two hardest ones wrong: 4 of 6
        right = answers[question["item_id"]]
        _answer(client, course_id, first, question, right + 1 if n >= 4 else right)

    launched = launch(client, platform, "student", extra_claims=PLACED)

    html = launched.get_data(as_text=True)
    assert "nothing for you to practise" not in html and 'id="player"' in html
    again = _session_of(html)
    assert again["assignment_id"] != first["assignment_id"]
    repeat = _questions(client, course_id, again)
    assert {q["item_id"] for q in repeat} == {q["item_id"] for q in questions}
    ladder = ["easy", "medium", "hard"]
    labels = [ladder.index(q["difficulty_label"]) for q in repeat]
    assert labels == sorted(labels), "easy -> medium -> hard"
    assert all("again" in q["reason"] for q in repeat)
    # The two answered wrong are said to be, the others not (the service passes
    # whether each answer was right).
    wrong = {q["item_id"] for n, q in enumerate(questions) if n >= 4}
    said_wrong = {q["item_id"] for q in repeat if "answered wrong last time" in q["reason"]}
    assert said_wrong == wrong


def test_an_ungraded_link_says_so_and_sends_no_grade(app, client, services_platform):
    platform = services_platform
    response = launch(client, platform, "teacher", drop_claims=(AGS_CLAIM,))
    assert response.status_code == 200
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    course_id = _session_of(response.get_data(as_text=True))["course_id"]
    graph = {"concepts": [{"key": "frac", "name": "Fractions", "prerequisites": []}]}
    client.put(
        f"/api/v1/courses/{course_id}/concept-graph", json={"document": graph}, headers=teacher
    )
    item = client.post(
        f"/api/v1/courses/{course_id}/items",
        json={
            "key": "one",
            "kind": "numeric",
            "prompt": "1?",
            "concepts": ["frac"],
            "answer": {"value": 1},
        },
        headers=teacher,
    ).get_json()

    landing = launch(client, platform, "student", extra_claims=PLACED, drop_claims=(AGS_CLAIM,))
    html = landing.get_data(as_text=True)
    assert "not graded in your course gradebook" in html
    assert "goes to your course gradebook" not in html
    session = _session_of(html)
    _sit(client, course_id, session, {item["id"]: 1})

    result = _result(client, course_id, session)
    assert result["status"] == "completed"
    assert result["grade"]["state"] == "not_graded"
    assert "not graded" in result["grade"]["message"]
    assert platform.scores == []
    with app.app_context():
        assert db.session.scalar(select(ScoreOutboxEntry)) is None


def test_a_failed_grade_post_is_told_to_the_student_and_named_for_the_teacher(
    app, client, services_platform
):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=1)
    session = _student_launch(client, platform)
    platform.line_items.pop(1)  # the gradebook column was deleted in the LMS: 404

    _sit(client, course_id, session, answers)

    result = _result(client, course_id, session)
    assert result["grade"]["state"] == "failed"
    assert "could not be sent" in result["grade"]["message"]
    assert "gradebook has" not in result["grade"]["message"]
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    [post] = client.get(
        f"/api/v1/courses/{course_id}/grade-posts",
        query_string={"status": "failed"},
        headers=teacher,
    ).get_json()
    assert post["student_name"] == platform.users["student"].name


def test_a_grade_waiting_for_the_lms_is_said_to_be_on_its_way(app, client, services_platform):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=1)
    session = _student_launch(client, platform)
    platform.down = True  # the LMS is down for maintenance: the outbox will retry

    _sit(client, course_id, session, answers)

    grade = _result(client, course_id, session)["grade"]
    assert grade["state"] == "pending"
    assert "on its way" in grade["message"] and "1 of 1" in grade["message"]


def test_the_teacher_page_links_to_the_grade_posts(app, client, services_platform):
    platform = services_platform
    response = launch(client, platform, "teacher")

    html = response.get_data(as_text=True)

    assert 'id="grade-posts-link"' in html and 'href="/lti/grade-posts"' in html
    assert '"/lti/grade-posts#"' in html  # the session goes in the fragment
