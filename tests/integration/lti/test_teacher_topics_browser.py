"""A teacher reads the class's mastery by topic on the embedded dashboard, in real
Chromium: each topic with how many students mastered it out of the class and the class's
typical mastery, weakest first; opening a topic lists the students below the mastery
line by name; a course without topics, or without practice, says so and where to start.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.browser import BROWSER_MARKS, landing_in_chromium
from tests.factories import make_enrollment, make_user
from tests.integration.lti.conftest import launch
from tests.integration.lti.test_placed_assignment import _session_of
from tests.integration.lti.test_teacher_dashboard_browser import PLACED

pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS

FRAME = {"viewport": {"width": 760, "height": 900}, "is_mobile": False}
GRAPH = {
    "concepts": [
        {"key": "add", "name": "Addition", "prerequisites": []},
        {"key": "frac", "name": "Fractions", "prerequisites": ["add"]},
        {"key": "dec", "name": "Decimals", "prerequisites": []},
    ]
}
# Per student and topic: answers right, then answers wrong (none: not practised).
PRACTICE = {
    "Ana Diaz": {"add": (25, 0), "frac": (25, 0), "dec": (0, 3)},
    "Ben Okafor": {"add": (25, 0), "frac": (0, 3)},
    "Chloe Martin": {"add": (25, 0), "dec": (1, 2)},
    "Dev Absent": {},
}


def _teacher(client, platform) -> tuple[str, dict]:
    landing = launch(client, platform, "teacher", extra_claims=PLACED).get_data(as_text=True)
    session = _session_of(landing)
    return landing, {"Authorization": "Bearer " + session["token"]}


def _class(app, course_id: int) -> dict[str, int]:
    from masteryai_lti.courses.models import Course
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.models import Institution

    with app.app_context():
        course = db.session.get(Course, course_id)
        school = db.session.get(Institution, course.institution_id)
        ids = {}
        for n, name in enumerate(PRACTICE):
            student = make_user(school, email=f"t{n}@school.example", full_name=name)
            make_enrollment(course, student)
            ids[name] = student.id
        return ids


def _topics_and_practice(client, course_id: int, teacher: dict) -> None:
    """The graph, two questions per topic, and the class's answers (imported)."""
    base = f"/api/v1/courses/{course_id}"
    reply = client.put(f"{base}/concept-graph", json={"document": GRAPH}, headers=teacher)
    assert reply.status_code == 200, reply.get_json()
    for concept in GRAPH["concepts"]:
        for i in range(2):
            item = {
                "key": f"{concept['key']}-{i}",
                "kind": "numeric",
                "prompt": f"{concept['name']} {i}?",
                "concepts": [concept["key"]],
                "difficulty_label": "hard",
                "answer": {"value": i, "tolerance": 0},
            }
            reply = client.post(f"{base}/items", json=item, headers=teacher)
            assert reply.status_code == 201, reply.get_json()
    rows = ["student,item,correct,timestamp"]
    start = datetime.now(UTC) - timedelta(hours=2)
    for n, topics in enumerate(PRACTICE.values()):
        minute = 0
        for key, (right, wrong) in topics.items():
            for k, correct in enumerate([1] * right + [0] * wrong):
                minute += 1
                at = (start + timedelta(minutes=minute)).isoformat()
                rows.append(f"t{n}@school.example,{key}-{k % 2},{correct},{at}")
    reply = client.post(
        f"{base}/attempts/import", json={"content": "\n".join(rows) + "\n"}, headers=teacher
    )
    assert reply.status_code == 200, reply.get_json()


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"


def _typical(heatmap: dict, key: str) -> str:
    """A topic's median mastery among those who practised it, as the panel prints it."""
    index = [c["key"] for c in heatmap["concepts"]].index(key)
    marks = sorted(
        s["cells"][index]["mastery"]
        for s in heatmap["students"]
        if s["cells"][index]["mastery"] is not None
    )
    mid = len(marks) // 2
    value = marks[mid] if len(marks) % 2 else (marks[mid - 1] + marks[mid]) / 2
    return f"{round(value, 1):g} of 100"


def _below(heatmap: dict, key: str) -> list[str]:
    """Who practised a topic without mastering it, lowest first."""
    index = [c["key"] for c in heatmap["concepts"]].index(key)
    cells = [(s["cells"][index], s["full_name"]) for s in heatmap["students"]]
    practised = [(c["mastery"], name) for c, name in cells if c["mastery"] is not None]
    return [name for mastery, name in sorted(practised) if not _mastered(heatmap, key, name)]


def _mastered(heatmap: dict, key: str, name: str) -> bool:
    index = [c["key"] for c in heatmap["concepts"]].index(key)
    [student] = [s for s in heatmap["students"] if s["full_name"] == name]
    return student["cells"][index]["mastered"]


@pytest.fixture
def practised(app, client, platform):
    landing, teacher = _teacher(client, platform)
    course_id = _session_of(landing)["course_id"]
    _class(app, course_id)
    _topics_and_practice(client, course_id, teacher)
    heatmap = client.get(f"/api/v1/courses/{course_id}/mastery/heatmap", headers=teacher)
    assert heatmap.status_code == 200, heatmap.get_json()
    return landing, heatmap.get_json()


def test_topics_weakest_first_and_who_is_below_the_line(live_tool, practised):
    landing, heatmap = practised
    # The class this test builds: Addition mastered by three of four, Fractions by one
    # (Ben below the line), Decimals by none (Chloe and Ana below, Ben not practised).
    assert [_mastered(heatmap, "add", n) for n in PRACTICE] == [True, True, True, False]
    assert _below(heatmap, "frac") == ["Ben Okafor"]
    assert _below(heatmap, "dec") == ["Chloe Martin", "Ana Diaz"]

    with landing_in_chromium(live_tool, landing, **FRAME) as page:
        page.wait_for_selector("#topics[data-state=ready]", timeout=20_000)
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        assert page.locator("#topics").get_attribute("aria-busy") is None
        rows = page.locator("#topics-table tbody tr[data-concept]")
        assert [rows.nth(i).get_attribute("data-concept") for i in range(3)] == [
            "dec",
            "frac",
            "add",
        ], "weakest topics first"
        table = page.locator("#topics-table")
        assert "Weakest topics first" in table.locator("caption").inner_text()
        assert table.locator("thead th").all_inner_texts() == [
            "Topic",
            "Mastered",
            "Typical mastery",
        ]
        for key, mastered in (("dec", "0 of 4"), ("frac", "1 of 4"), ("add", "3 of 4")):
            row = page.locator(f'#topics-table tr[data-concept="{key}"]')
            assert row.locator('td[data-label="Mastered"]').inner_text().strip() == mastered
            typical = row.locator('td[data-label="Typical mastery"]').inner_text()
            assert typical.startswith(_typical(heatmap, key)), typical
        assert (
            "(3 students practised)"
            in page.locator('#topics-table tr[data-concept="add"]').inner_text()
        )
        assert "mastered from 70" in page.locator("#topics-help").inner_text()

        # A topic opens, from the keyboard, on the students below the line, by name.
        toggle = page.locator('#topics-table tr[data-concept="dec"] button')
        assert toggle.inner_text().strip() == "Decimals"
        assert toggle.get_attribute("aria-expanded") == "false"
        detail = page.locator("#" + toggle.get_attribute("aria-controls"))
        assert detail.is_hidden()
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "true"
        assert detail.is_visible()
        below = detail.locator("ul.below li")
        assert [t.split(" — ")[0] for t in below.all_inner_texts()] == ["Chloe Martin", "Ana Diaz"]
        assert "2 students below the mastery line (70) on Decimals" in detail.inner_text()
        assert "of 100 · 3 answers" in below.first.inner_text()
        assert "Not practised yet: Ben Okafor, Dev Absent." in detail.inner_text()
        _no_sideways_scroll(page)

        # Closed again; another topic lists only its own.
        page.keyboard.press("Enter")
        assert detail.is_hidden() and toggle.get_attribute("aria-expanded") == "false"
        page.click('#topics-table tr[data-concept="frac"] button')
        fractions = page.locator('#topics-table tr[data-concept="frac"] + tr')
        assert fractions.locator("ul.below li").all_inner_texts()[0].startswith("Ben Okafor — ")
        page.click('#topics-table tr[data-concept="add"] button')
        addition = page.locator('#topics-table tr[data-concept="add"] + tr').inner_text()
        assert "No student who practised Addition is below the mastery line." in addition
        assert "Not practised yet: Dev Absent." in addition


def test_topics_fit_a_phone(live_tool, practised):
    landing, _ = practised
    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_selector("#topics[data-state=ready]", timeout=20_000)
        page.click('#topics-table tr[data-concept="dec"] button')
        row = page.locator('#topics-table tr[data-concept="dec"]')
        # Stacked: each figure says what it is.
        assert row.evaluate("r => getComputedStyle(r).display") == "grid"
        label = row.locator('td[data-label="Mastered"]').evaluate(
            "td => getComputedStyle(td, '::before').content"
        )
        assert label == '"Mastered: "'
        assert page.locator('#topics-table tr[data-concept="dec"] + tr').is_visible()
        # Closed topics stay closed although rows are laid out as grids.
        assert page.locator('#topics-table tr[data-concept="frac"] + tr').is_hidden()
        _no_sideways_scroll(page)


def test_a_course_without_topics_says_where_to_add_them(client, platform, live_tool):
    landing, _ = _teacher(client, platform)
    with landing_in_chromium(live_tool, landing, **FRAME) as page:
        page.wait_for_selector("#topics[data-state=ready]", timeout=20_000)
        status = page.locator("#topics-status")
        assert "This course has no topics yet. Add topics and questions" in status.inner_text()
        # The link leads to the editor on the same page (test_topic_editor_browser.py).
        assert status.locator("a").get_attribute("href") == "#topic-editor"
        assert status.locator("a").inner_text() == "Edit topics and questions"
        assert page.locator("#topic-editor").is_visible()
        assert page.locator("#topics-table").is_hidden()


def test_topics_without_practice_say_so(app, client, platform, live_tool):
    landing, teacher = _teacher(client, platform)
    course_id = _session_of(landing)["course_id"]
    _class(app, course_id)
    reply = client.put(
        f"/api/v1/courses/{course_id}/concept-graph", json={"document": GRAPH}, headers=teacher
    )
    assert reply.status_code == 200, reply.get_json()
    with landing_in_chromium(live_tool, landing, **FRAME) as page:
        page.wait_for_selector("#topics[data-state=ready]", timeout=20_000)
        assert "3 topics, no practice yet" in page.locator("#topics-status").inner_text()
        assert page.locator("#topics-table").is_hidden()


def test_a_failed_topics_request_is_said_and_leaves_engagement_alone(client, platform, live_tool):
    landing, _ = _teacher(client, platform)
    with landing_in_chromium(live_tool, landing, **FRAME) as page:
        # The first load done, the heatmap then fails for the reload.
        page.wait_for_selector("#topics[data-state=ready]", timeout=20_000)
        calls = []

        def refuse(route):
            calls.append(route.request.url)
            route.fulfill(
                status=503,
                content_type="application/problem+json",
                body='{"title": "Service Unavailable", "detail": "Try again in a minute."}',
            )

        page.route("**/mastery/heatmap", refuse)
        page.reload()
        page.wait_for_selector("#topics[data-state=ready]", timeout=20_000)
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        status = page.locator("#topics-status").inner_text()
        assert "mastery by topic could not be loaded" in status
        assert "Try again in a minute." in status
        assert page.locator("#class").is_visible(), "the engagement panels still load"
        assert len(calls) == 1, "one request to the heatmap"
