"""A student on a phone plays a placed adaptive assignment in real Chromium; the grade lands.

The launch itself is covered elsewhere (with and without third-party cookies); here
the landing page it produced is shown in Chromium at the tool's origin, and its
script talks to the real tool over HTTP with the session token from the page.
"""

from __future__ import annotations

import pytest

from tests.browser import BROWSER_MARKS, landing_in_chromium
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import started_services_platform
from tests.integration.lti.test_placed_assignment import PLACED, _course_with_items, _session_of

pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS


@pytest.fixture
def services_platform(app):
    yield from started_services_platform(app)


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
