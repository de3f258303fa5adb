"""A teacher's first week on the engagement dashboard, on a desktop browser: every figure
comes with words a teacher reads without a statistics course, and a student the tool has
never seen is not described as keeping a steady pace."""

from __future__ import annotations

import pytest

from tests.browser import BROWSER_MARKS, landing_in_chromium
from tests.integration.lti.conftest import launch
from tests.integration.lti.test_placed_assignment import _session_of
from tests.integration.lti.test_teacher_dashboard_browser import (
    ABSENT,
    PLACED,
    _class_of_eleven,
    _daily_snapshots,
)

pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False}
TRENDS = ("rising", "steady", "falling")
# Another link of the course, not the practice: the student's own view.
OWN_VIEW = {
    "https://purl.imsglobal.org/spec/lti/claim/resource_link": {
        "id": "moodle-cmid-5",
        "title": "My progress",
    }
}


@pytest.fixture
def teacher(app, client, platform):
    landing = launch(client, platform, "teacher", extra_claims=PLACED).get_data(as_text=True)
    session = _session_of(landing)
    ids = _class_of_eleven(app, session["course_id"])
    _daily_snapshots(app, session["course_id"], days=3)
    return landing, ids


def test_a_student_never_seen_has_no_weekly_pace(live_tool, teacher):
    landing, ids = teacher
    with landing_in_chromium(live_tool, landing, **DESKTOP) as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        for name in ABSENT:
            row = page.locator(f'#class-table tbody tr[data-student="{ids[name]}"]')
            weekly = row.locator('td[data-label="Weekly activity"]').inner_text()
            assert weekly not in TRENDS, f"{name} never active, shown as {weekly!r}"
        # Someone active still has a trend.
        active = page.locator(f'#class-table tbody tr[data-student="{ids["Ana Diaz"]}"]')
        assert active.locator('td[data-label="Weekly activity"]').inner_text() in TRENDS

        page.click(f'#class-table button[data-student="{ids[ABSENT[0]]}"]')
        page.wait_for_selector("#student:not([hidden])")
        summary = page.locator("#student-summary").inner_text()
        assert "no activity recorded yet" in summary
        assert not any(f"weekly activity {trend}" in summary for trend in TRENDS)


def test_the_figures_are_explained_where_they_are_shown(live_tool, teacher):
    landing, _ = teacher
    with landing_in_chromium(live_tool, landing, **DESKTOP) as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        # The reasons compare with the "course median": the list says what that is.
        assert "course median" in page.locator("#at-risk-list").inner_text()
        assert "middle of the class" in page.locator("#at-risk").inner_text()
        # The table's columns, and where the at-risk line is (as saved: 50 % by default).
        help_text = page.locator("#class-help").inner_text()
        assert "0 to 100 over the last 30 days" in help_text
        assert "flagged at risk from 50 %" in help_text

        # The teacher moves the line: the legend follows once it is saved.
        page.fill("input[name=flag_at]", "60")
        page.click("#weights-form button[type=submit]")
        page.wait_for_selector("#weights-result:has-text('Weights saved')")
        assert "flagged at risk from 60 %" in page.locator("#class-help").inner_text()


# -- the student's own view ("My progress") -------------------------------------------------


def test_a_student_sees_their_progress_by_topic_after_practising(app, client, platform, live_tool):
    from tests.integration.lti.test_placed_assignment import (
        _course_with_items,
        _sit,
        _student_launch,
    )

    course_id, answers = _course_with_items(app, client, platform, count=3)
    practice = _student_launch(client, platform)
    _sit(client, course_id, practice, answers, wrong=1)
    own_view = launch(client, platform, "student", extra_claims=OWN_VIEW).get_data(as_text=True)
    assert 'id="my-engagement"' in own_view

    with landing_in_chromium(live_tool, own_view, **DESKTOP) as page:
        page.wait_for_selector("#my-engagement[data-ready=yes]", timeout=20_000)
        concepts = page.locator("#my-concepts")
        assert concepts.is_visible()
        fractions = concepts.locator('li[data-concept="frac"]').inner_text()
        assert fractions.startswith("Fractions: ")
        assert "3 answers, 2 right" in fractions
        assert "mastered from 70" in page.locator("#my-concepts-help").inner_text()
        assert "half your class did more" in page.locator("#my-factors caption").inner_text()


def test_a_course_without_topics_tells_the_student_so(client, platform, live_tool):
    own_view = launch(client, platform, "student").get_data(as_text=True)
    with landing_in_chromium(live_tool, own_view, **DESKTOP) as page:
        page.wait_for_selector("#my-engagement[data-ready=yes]", timeout=20_000)
        assert page.locator("#my-concepts li").count() == 0
        assert (
            "has not set up this course's topics yet" in page.locator("#my-concepts").inner_text()
        )
