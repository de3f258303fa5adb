"""A teacher tries the tool in the development sandbox LMS, in real Chromium: adds
Adaptive practice through deep linking, then opens what was added as a student and as
the teacher, inside the sandbox's frame, as they would from a Moodle course page."""

from __future__ import annotations

import pytest

from tests.browser import BROWSER_MARKS, CHROMIUM, served

pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS


@pytest.fixture
def sandbox(app):
    """The sandbox on loopback, over the demo data (its course, items and class)."""
    from masteryai_lti.cli import demo_command

    result = app.test_cli_runner().invoke(demo_command)
    assert result.exit_code == 0, result.output
    with served(app) as port:
        yield f"http://127.0.0.1:{port}/lti/sandbox/"


@pytest.fixture
def desktop():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.problems = problems
            yield page
        finally:
            browser.close()


def _add_adaptive_practice(page, sandbox: str):
    page.goto(sandbox)
    page.click("text=Add content (deep linking)")
    tool = page.frame_locator("#tool")
    picker = tool.locator("[data-page=deep-link-picker]")
    picker.wait_for()
    # Each choice says what students get from it, and the page what Add does next.
    practice = picker.locator("label", has_text="Adaptive practice")
    assert (
        "best session goes to the gradebook" in practice.locator("[data-role=gives]").inner_text()
    )
    progress = picker.locator("label", has_text="My progress")
    assert "progress by topic" in progress.locator("[data-role=gives]").inner_text()
    assert "students then open it" in picker.locator("#after-add").inner_text()
    picker.get_by_text("Adaptive practice").click()
    picker.locator("#add").click()
    added = tool.locator("[data-page=sandbox-deep-link-result]")
    added.wait_for()
    return tool, added


def test_what_the_teacher_added_opens_as_a_student_and_as_the_teacher(sandbox, desktop):
    page = desktop
    tool, added = _add_adaptive_practice(page, sandbox)

    # The page says what the course now has, not the raw reply.
    assert "Added to Algebra I: 1 activity" in added.locator("h1").inner_text()
    card = added.locator("[data-added='Adaptive practice']")
    assert "graded, 100 points" in card.inner_text()
    assert "masteryai_target" not in added.inner_text()  # kept under "for developers"

    card.locator("[data-open=student]").click()
    player = tool.locator("#player")
    player.locator("form.item").wait_for(timeout=20_000)
    assert tool.locator("h1").inner_text().startswith("Adaptive practice")
    first = player.locator("form.item .prompt").inner_text()
    assert "Question 1 of" in player.inner_text()

    # The course page lists it, as Moodle's would; opening it again is the same
    # activity: the same question waits, not a new set.
    activity = page.locator("#activities [data-activity='Adaptive practice']")
    assert "graded, 100 points" in activity.inner_text()
    assert page.locator("#activities-none").is_hidden()
    activity.locator("[data-open=student]").click()
    tool.locator("#player form.item").wait_for(timeout=20_000)
    assert player.locator("form.item .prompt").inner_text() == first

    # The teacher opening the activity lands on the dashboard, with its due date to set.
    activity.locator("[data-open=teacher]").click()
    tool.locator("#engagement[data-ready=yes]").wait_for(timeout=20_000)
    assert tool.locator("#activity-due").is_visible()
    assert tool.locator("#activity-title").inner_text() == "Adaptive practice"
    assert page.problems == []


def test_cancelling_the_picker_says_nothing_was_added(sandbox, desktop):
    page = desktop
    page.goto(sandbox)
    page.click("text=Add content (deep linking)")
    tool = page.frame_locator("#tool")
    tool.locator("#cancel").click()
    result = tool.locator("[data-page=sandbox-deep-link-result]")
    result.wait_for()
    assert "Nothing was added" in result.locator("h1").inner_text()
