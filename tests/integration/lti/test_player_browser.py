"""A student on a phone plays a placed adaptive assignment in real Chromium; the grade lands.

The launch itself is covered elsewhere (with and without third-party cookies); here
the landing page it produced is shown in Chromium at the tool's origin, and its
script talks to the real tool over HTTP with the session token from the page.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from masteryai_lti.extensions import db
from masteryai_lti.mastery.models import Attempt
from tests.browser import BROWSER_MARKS, landing_in_chromium
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import auth_for, lti_user
from tests.integration.lti.test_placed_assignment import PLACED, _course_with_items, _session_of

pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS


def test_student_answers_every_question_on_a_phone_and_the_grade_is_sent(
    app, client, services_platform, live_tool
):
    platform = services_platform
    _, answers = _course_with_items(app, client, platform, count=3)
    landing = launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)
    prompts_to_answers = {f"What is {value} + 0?": value for value in answers.values()}
    session = _session_of(landing)
    assignment = client.get(
        f"/api/v1/courses/{session['course_id']}/assignments/{session['assignment_id']}",
        headers={"Authorization": "Bearer " + session["token"]},
    ).get_json()
    questions = len(assignment["items"])
    assert questions >= 2

    with landing_in_chromium(live_tool, landing, viewport={"width": 375, "height": 667}) as page:
        answered = 0
        for _ in range(questions):
            prompt = page.locator("#player .prompt")
            prompt.wait_for(timeout=15000)
            value = prompts_to_answers[prompt.inner_text()]
            wrong = answered == 0
            page.fill("#player input[name=text]", str(value + 1 if wrong else value))
            page.click("#player button[type=submit]")
            verdict = page.locator("#player .verdict")
            verdict.wait_for(timeout=15000)
            assert verdict.inner_text() == ("Not quite." if wrong else "Correct.")
            answered += 1
            page.click("#player button[type=button]")
        finished = page.locator("#finished")
        finished.wait_for(timeout=15000)
        text = finished.inner_text()
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert text == f"Done: {questions - 1} of {questions} correct."
    assert fits, "the player fits a phone screen without sideways scrolling"
    [score] = platform.scores
    assert (score["scoreGiven"], score["scoreMaximum"]) == (questions - 1.0, float(questions))


def _answer_in_page(page, prompts_to_answers: dict, *, wrong: bool = False) -> str:
    """Answer the question on screen; returns the verdict."""
    prompt = page.locator("#player .prompt")
    prompt.wait_for(timeout=15000)
    value = prompts_to_answers[prompt.inner_text()]
    page.fill("#player input[name=text]", str(value + 1 if wrong else value))
    page.click("#player button[type=submit]")
    verdict = page.locator("#player .verdict")
    verdict.wait_for(timeout=15000)
    text = verdict.inner_text()
    page.click("#player button[type=button]")
    return text


def _notice(page) -> str:
    notice = page.locator("#player [data-role=notice]")
    notice.wait_for(state="visible", timeout=15000)
    return notice.inner_text()


def test_after_reopening_the_finish_screen_shows_the_servers_figures(
    app, client, services_platform, live_tool
):
    platform = services_platform
    _, answers = _course_with_items(app, client, platform, count=3)
    prompts_to_answers = {f"What is {value} + 0?": value for value in answers.values()}
    first = launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)
    with landing_in_chromium(live_tool, first) as page:
        assert _answer_in_page(page, prompts_to_answers) == "Correct."
        page.locator("#player .prompt").wait_for(timeout=15000)  # question 2 on screen

    again = launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)
    assert _session_of(again)["assignment_id"] == _session_of(first)["assignment_id"]
    with landing_in_chromium(live_tool, again) as page:
        page.locator("#player .prompt").wait_for(timeout=15000)
        position = page.locator("#player form p.muted").first.inner_text()
        for _ in range(2):
            assert _answer_in_page(page, prompts_to_answers) == "Correct."
        page.locator("#finished").wait_for(timeout=15000)
        finished = page.locator("#finished").inner_text()
        assert finished == "Done: 3 of 3 correct.", "the answer given before reopening counts"
        status = page.locator("#grade-status").inner_text()
        graded = page.locator("#grade-note").inner_text()

    assert position.startswith("Question 2 of 3")
    assert "goes to your course gradebook" in graded
    assert status == "Your course gradebook has your best score: 3 of 3."


HOSTILE_WHY = 'Add nothing: <img src=x onerror="window.hacked=1">\nIt stays the same.'


def test_the_teachers_explanation_follows_the_verdict_as_text(
    app, client, services_platform, live_tool
):
    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=2)
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    for item_id in answers:
        response = client.patch(
            f"/api/v1/courses/{course_id}/items/{item_id}",
            json={"explanation": HOSTILE_WHY},
            headers=teacher,
        )
        assert response.status_code == 200, response.get_json()
    prompts_to_answers = {f"What is {value} + 0?": value for value in answers.values()}
    landing = launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)
    with landing_in_chromium(live_tool, landing, viewport={"width": 375, "height": 667}) as page:
        prompt = page.locator("#player .prompt")
        prompt.wait_for(timeout=15000)
        before = page.locator("#player [data-role=explanation]").count()
        page.fill("#player input[name=text]", str(prompts_to_answers[prompt.inner_text()] + 1))
        page.click("#player button[type=submit]")
        why = page.locator("#player [data-role=explanation]")
        why.wait_for(timeout=15000)
        shown = [why.locator("p").nth(n).inner_text() for n in range(2)]
        verdict = page.locator("#player .verdict").inner_text()
        said = page.locator("#player-status").text_content()
        focused = page.evaluate("document.activeElement.textContent")
        hacked = page.evaluate("window.hacked === 1")
        images = page.locator("#player img").count()
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert before == 0, "nothing of the explanation shows before the answer"
    assert verdict == "Not quite."
    assert shown == ["Explanation", HOSTILE_WHY], "in the teacher's own line breaks"
    assert said == "Not quite. Explanation: " + HOSTILE_WHY
    assert focused == "Next question"
    assert not hacked and images == 0, "the explanation is shown as text"
    assert fits


def test_failures_say_what_happened_and_the_answer_can_be_sent_again(
    app, client, services_platform, live_tool
):
    platform = services_platform
    _, answers = _course_with_items(app, client, platform, count=2)
    prompts_to_answers = {f"What is {value} + 0?": value for value in answers.values()}
    landing = launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)

    with landing_in_chromium(live_tool, landing) as page:
        sent = []
        page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/attempts") else None)
        prompt = page.locator("#player .prompt")
        prompt.wait_for(timeout=15000)
        value = prompts_to_answers[prompt.inner_text()]
        check = page.locator("#player button[type=submit]")

        check.click()
        empty = _notice(page)
        page.fill("#player input[name=text]", "twelve")
        check.click()
        page.wait_for_function(
            "document.querySelector('[data-role=notice]').textContent.includes('number')"
        )
        not_a_number = _notice(page)
        assert sent == [], "nothing reaches the server until the answer is usable"

        page.fill("#player input[name=text]", str(value))
        page.context.set_offline(True)
        check.click()
        page.wait_for_function(
            "document.querySelector('[data-role=notice]').textContent.includes('reached')"
        )
        offline = _notice(page)
        offline_button_enabled = check.is_enabled()
        page.context.set_offline(False)
        check.click()
        page.locator("#player .verdict").wait_for(timeout=15000)
        first_verdict = page.locator("#player .verdict").inner_text()
        page.click("#player button[type=button]")

        # A proxy in front of the tool answers with its own HTML error page, once.
        page.route(
            "**/api/v1/courses/*/attempts",
            lambda route: route.fulfill(
                status=502, body="<html><body>Bad Gateway</body></html>", content_type="text/html"
            ),
        )
        prompt.wait_for(timeout=15000)
        page.fill("#player input[name=text]", str(prompts_to_answers[prompt.inner_text()]))
        check.click()
        page.wait_for_function(
            "document.querySelector('[data-role=notice]').textContent.includes('502')"
        )
        bad_gateway = _notice(page)
        gateway_button_enabled = check.is_enabled()
        page.unroute("**/api/v1/courses/*/attempts")
        check.click()
        page.locator("#player .verdict").wait_for(timeout=15000)
        second_verdict = page.locator("#player .verdict").inner_text()
        page.click("#player button[type=button]")
        page.locator("#finished").wait_for(timeout=15000)
        finished = page.locator("#finished").inner_text()

    assert empty == "Type your answer, then press Check."
    assert not_a_number == "Your answer must be a number, such as 12 or 2.5."
    assert "could not be reached" in offline and "press check to send" in offline.lower()
    assert offline_button_enabled
    assert "(error 502)" in bad_gateway and gateway_button_enabled
    assert first_verdict == second_verdict == "Correct."
    assert finished == "Done: 2 of 2 correct."
    with app.app_context():
        # The non-number was never sent, so never marked wrong.
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 2
        assert db.session.scalar(select(func.count()).where(Attempt.correct.is_(False))) == 0


def test_a_session_that_ended_says_to_reopen_the_activity(
    app, client, services_platform, live_tool, monkeypatch
):
    platform = services_platform
    _course_with_items(app, client, platform, count=1)
    # The page's token has expired before its first request, as after 20 idle minutes.
    monkeypatch.setitem(app.config, "LTI_SESSION_TOKEN_MINUTES", -1)
    landing = launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)

    with landing_in_chromium(live_tool, landing) as page:
        trouble = page.locator("#player [data-role=trouble]")
        trouble.wait_for(timeout=15000)
        text = trouble.inner_text()
        retry = page.locator("#player [data-role=retry]").count()

    assert "Reopen this activity from your course" in text
    assert "access token" not in text
    assert retry == 0, "trying again cannot help; reopening the activity does"


def test_a_teacher_opens_the_grade_posts_from_their_page_and_sees_names(
    app, client, services_platform, live_tool
):
    from tests.integration.lti.test_placed_assignment import _sit

    platform = services_platform
    course_id, answers = _course_with_items(app, client, platform, count=1)
    student = _session_of(
        launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)
    )
    platform.line_items.pop(1)  # the gradebook column was deleted in the LMS
    _sit(client, course_id, student, answers)
    landing = launch(client, platform, "teacher").get_data(as_text=True)

    with landing_in_chromium(
        live_tool, landing, viewport={"width": 1000, "height": 800}, is_mobile=False
    ) as page:
        link = page.locator("#grade-posts-link")
        link.wait_for(timeout=15000)
        with page.context.expect_page() as opened:
            link.click()
        posts = opened.value
        row = posts.locator('#masteryai-grade-posts [data-role="failed"] tbody tr')
        row.first.wait_for(timeout=15000)
        cells = row.first.locator("td").all_inner_texts()

    assert cells[0] == platform.users["student"].name
    assert "student-sub-1" not in " ".join(cells)
