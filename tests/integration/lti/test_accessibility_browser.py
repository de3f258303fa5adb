"""WCAG 2.1 AA in the pages an LMS frames, checked in real Chromium: what a screen
reader is told (names, descriptions, roles, table headers, live regions) and where the
keyboard's focus goes when the page changes under it.

The launch runs through the test platform with Flask's client; the landing page is then
shown in Chromium at the tool's origin (as the player and dashboard tests do).
"""

from __future__ import annotations

import re

import pytest

from tests.browser import BROWSER_MARKS, CHROMIUM, landing_in_chromium
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import auth_for, launched_course, lti_user
from tests.integration.lti.test_placed_assignment import PLACED, _course_with_items, _session_of
from tests.integration.lti.test_teacher_dashboard_browser import (
    ABSENT,
    _class_of_eleven,
    _daily_snapshots,
)
from tests.integration.lti.test_teacher_dashboard_browser import PLACED as TEACHER_PLACED

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = BROWSER_MARKS

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False}


def _focused(page) -> str:
    """The focused element, as ``tag#id:text`` (for assertion messages)."""
    return page.evaluate(
        "(() => { const e = document.activeElement; return e.tagName + '#' + e.id + ':' +"
        " (e.textContent || '').trim().slice(0, 40); })()"
    )


def _focus_is_visible(page) -> bool:
    return page.evaluate("getComputedStyle(document.activeElement).outlineStyle !== 'none'")


def _course_with_choices(app, client, platform, count: int = 2) -> dict[str, str]:
    """Multiple-choice items; the right choice's text by prompt."""
    course_id, _ = launched_course(app, client, platform, "teacher")
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    graph = {"concepts": [{"key": "add", "name": "Adding", "prerequisites": []}]}
    client.put(
        f"/api/v1/courses/{course_id}/concept-graph", json={"document": graph}, headers=teacher
    )
    right = {}
    for i in range(count):
        prompt = f"What is {i} + 2?"
        response = client.post(
            f"/api/v1/courses/{course_id}/items",
            json={
                "key": f"mc-{i}",
                "kind": "multiple_choice",
                "prompt": prompt,
                "concepts": ["add"],
                "difficulty_label": "easy",
                "choices": [{"id": "a", "text": str(i + 1)}, {"id": "b", "text": str(i + 2)}],
                "answer": {"correct": ["b"]},
            },
            headers=teacher,
        )
        assert response.status_code == 201, response.get_json()
        right[prompt] = str(i + 2)
    return right


# -- the practice player ------------------------------------------------------------------


def test_a_keyboard_and_screen_reader_user_plays_a_text_assignment(
    app, client, platform, live_tool
):
    _, answers = _course_with_items(app, client, platform, count=2)
    prompts_to_answers = {f"What is {value} + 0?": value for value in answers.values()}
    landing = launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)

    with landing_in_chromium(live_tool, landing) as page:
        page.locator("#player .prompt").wait_for(timeout=15_000)
        status = page.locator("#player-status")
        assert status.get_attribute("role") == "status"
        for number in (1, 2):
            prompt = page.locator("#player .prompt").inner_text()
            value = prompts_to_answers[prompt]
            # A visible label, and the question read with it.
            answer = page.get_by_role("textbox", name="Your answer")
            expect(page.locator("#player label", has_text="Your answer")).to_be_visible()
            expect(answer).to_have_accessible_description(re.compile(re.escape(prompt)))
            expect(
                page.get_by_role("heading", name=re.compile(f"Question {number} of 2"))
            ).to_be_visible()

            # Reached by Tab (after the page's earlier controls), sent with Enter.
            answer.focus()
            page.keyboard.press("Enter")
            expect(answer).to_have_attribute("aria-invalid", "true")
            expect(answer).to_have_accessible_description(re.compile("Type your answer"))
            page.keyboard.type(str(value + 1 if number == 1 else value))
            page.keyboard.press("Enter")

            # The verdict is announced, and the keyboard lands on what comes next.
            page.locator("#player .verdict").wait_for(timeout=15_000)
            expect(status).to_have_text("Not quite." if number == 1 else "Correct.")
            following = "Next question" if number == 1 else "Finish"
            expect(page.get_by_role("button", name=following)).to_be_focused()
            assert _focus_is_visible(page)
            page.keyboard.press("Enter")
            if number == 1:
                # The new question's heading has the focus, not the page's top.
                heading = page.get_by_role("heading", name=re.compile("Question 2 of 2"))
                expect(heading).to_be_focused()
                expect(status).to_have_text("")

        finished = page.locator("#finished")
        finished.wait_for(timeout=15_000)
        expect(finished).to_be_focused()
        expect(status).to_contain_text("Done: 1 of 2 correct.")
        assert page.locator("#grade-status").get_attribute("role") == "status"


def test_choices_are_a_group_named_by_the_question(app, client, platform, live_tool):
    right = _course_with_choices(app, client, platform)
    landing = launch(client, platform, "student", extra_claims=PLACED).get_data(as_text=True)

    with landing_in_chromium(live_tool, landing) as page:
        prompt = page.locator("#player .prompt")
        prompt.wait_for(timeout=15_000)
        group = page.get_by_role("radiogroup", name=prompt.inner_text())
        expect(group.get_by_role("radio")).to_have_count(2)

        # Check with nothing chosen: the group says why, and is marked invalid.
        page.get_by_role("button", name="Check").press("Enter")
        expect(group).to_have_attribute("aria-invalid", "true")
        expect(group).to_have_accessible_description(re.compile("Choose an answer"))

        # Arrow keys choose; Tab leaves the group for Check.
        group.get_by_role("radio").first.focus()
        assert _focus_is_visible(page)
        page.keyboard.press("ArrowDown")
        expect(group.get_by_role("radio", name=right[prompt.inner_text()])).to_be_checked()
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Check")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#player-status")).to_have_text("Correct.")
        expect(page.get_by_role("button", name="Next question")).to_be_focused()


# -- the teacher's dashboard ----------------------------------------------------------------


@pytest.fixture
def teacher_landing(app, client, platform):
    landing = launch(client, platform, "teacher", extra_claims=TEACHER_PLACED).get_data(
        as_text=True
    )
    session = _session_of(landing)
    ids = _class_of_eleven(app, session["course_id"])
    _daily_snapshots(app, session["course_id"], days=3)
    return landing, ids


def test_class_table_headers_name_the_columns_and_sorting_is_announced(live_tool, teacher_landing):
    landing, _ = teacher_landing
    with landing_in_chromium(live_tool, landing, **DESKTOP) as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        table = page.locator("#class-table")
        # Sorted by the index: aria-sort says so; the arrow drawn beside it is not read.
        index = table.get_by_role("columnheader", name="Index", exact=True)
        expect(index).to_have_attribute("aria-sort", "ascending")

        name = table.get_by_role("button", name="Student", exact=True)
        name.focus()
        assert _focus_is_visible(page)
        page.keyboard.press("Enter")
        expect(table.get_by_role("columnheader", name="Student", exact=True)).to_have_attribute(
            "aria-sort", "ascending"
        )
        announce = page.locator("#class-announce")
        assert announce.get_attribute("role") == "status"
        expect(announce).to_have_text("11 students, sorted by Student, A to Z.")
        expect(name).to_be_focused()
        page.keyboard.press("Enter")
        expect(announce).to_have_text("11 students, sorted by Student, Z to A.")

        page.get_by_role("combobox", name=re.compile("^Show")).select_option("at_risk")
        expect(announce).to_contain_text("shown by this filter")


def test_the_class_table_keeps_its_column_headers_on_a_phone(live_tool, teacher_landing):
    landing, _ = teacher_landing
    with landing_in_chromium(live_tool, landing, viewport={"width": 320, "height": 640}) as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        table = page.locator("#class-table")
        # Each cell of a row has a header: one column hidden from sight stays in the tree,
        # or a screen reader names the weekly-activity cell "Risk".
        headers = table.get_by_role("columnheader")
        expect(headers).to_have_count(5)
        expect(headers.nth(2)).to_have_accessible_name("Weekly activity")
        first_row = table.locator("tbody tr").first
        expect(first_row.get_by_role("cell")).to_have_count(5)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_focus_follows_the_teacher_through_the_dashboard(live_tool, teacher_landing):
    landing, ids = teacher_landing
    with landing_in_chromium(live_tool, landing, **DESKTOP) as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)

        # "Show all": the button goes, the focus goes to the first student it revealed.
        page.locator("#at-risk-more").press("Enter")
        sixth = page.locator("#at-risk-list > li").nth(5).get_by_role("button")
        expect(sixth).to_be_focused()

        # A student's breakdown opens with the focus; Close gives it back to the opener.
        opener = page.locator(f'#class-table button[data-student="{ids["Ben Okafor"]}"]')
        opener.press("Enter")
        expect(page.locator("#student")).to_be_focused()
        page.get_by_role("button", name="Close").press("Enter")
        expect(opener).to_be_focused()

        # Dating the assignment by keyboard: the form goes once it is saved, the focus
        # moves to the same date in the list.
        page.locator("#activity-due input").fill("2030-05-01T09:30")
        page.locator("#activity-due input").press("Enter")
        status = page.locator("#due-status")
        expect(status).to_have_text("Due date saved for Fractions practice.")
        dated = page.locator('#due-list input[aria-label="Due date for Fractions practice"]')
        expect(dated).to_be_focused()

        # Removing asks for a second press, and says so.
        remove = page.locator("#due-list").get_by_role("button", name="Remove")
        remove.press("Enter")
        expect(status).to_contain_text("Press Confirm remove again")
        page.locator("#due-list").get_by_role("button", name="Confirm remove").press("Enter")
        expect(status).to_have_text("Removed Fractions practice from graded work.")
        assert _focused(page) != "BODY#:", "the focus is not dropped to the page's top"
        expect(page.locator("#activity-due input")).to_be_focused()


def test_flagged_days_differ_from_the_latest_day_by_shape_not_only_colour(
    live_tool, teacher_landing
):
    landing, ids = teacher_landing
    with landing_in_chromium(live_tool, landing, **DESKTOP) as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        page.locator(f'#class-table button[data-student="{ids[ABSENT[0]]}"]').click()
        chart = page.locator("#student-history svg.history")
        chart.wait_for(timeout=15_000)
        expect(chart).to_have_attribute("role", "img")
        expect(chart).to_have_accessible_name(re.compile("flagged on 3 of 3 days"))
        flagged = page.locator("#student-history .flagged").first
        latest = page.locator("#student-history .latest")
        fills = page.evaluate(
            "([a, b]) => [a, b].map(e => getComputedStyle(e).fill)",
            [flagged.element_handle(), latest.element_handle()],
        )
        assert fills[0] == "none" and fills[1] != "none", fills
        expect(page.locator("#student-history .legend")).to_contain_text("Red rings")


# -- grades sent to the LMS ------------------------------------------------------------------

FAILED_POST = {
    "id": 7,
    "status": "failed",
    "student_name": "Ana Diaz",
    "lti_user_id": "u-1",
    "score_given": 1,
    "score_maximum": 2,
    "last_error": "HTTP 500",
}


def test_grade_posts_page_names_its_table_and_says_when_a_resend_fails(client, platform, live_tool):
    from playwright.sync_api import sync_playwright

    session = _session_of(launch(client, platform, "teacher").get_data(as_text=True))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_context(**DESKTOP).new_page()
            page.route(
                "**/api/v1/courses/*/grade-posts",
                lambda route: route.fulfill(json=[FAILED_POST]),
            )
            page.route(
                "**/api/v1/courses/*/grade-posts/7/resend",
                lambda route: route.fulfill(status=502, body="<html>Bad gateway</html>"),
            )
            page.goto(
                f"{live_tool}/lti/grade-posts#token={session['token']}"
                f"&course_id={session['course_id']}"
            )
            expect(page.get_by_role("heading", level=1)).to_have_text("Grades sent to the LMS")
            table = page.get_by_role("table", name="Failed grade posts")
            expect(table.get_by_role("columnheader")).to_have_text(
                ["Student", "Score", "Reason", "Action"]
            )
            resend = table.get_by_role("button", name="Resend the grade of Ana Diaz")
            summary = page.locator('[data-role="summary"]')
            assert summary.get_attribute("role") == "status"
            resend.press("Enter")
            expect(summary).to_contain_text("could not")
            assert _focused(page) != "BODY#:", "the focus is not dropped to the page's top"
        finally:
            browser.close()
