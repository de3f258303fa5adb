"""A teacher opens the tool from a Moodle-style assignment link and works the engagement
dashboard in real Chromium: who is at risk and why, the class table, one student's
breakdown, the assignment's due date, an attendance import.

The launch runs through the test platform with Flask's client; the landing page it
produced is then shown in Chromium at the tool's origin (as the player test does), and
its script talks to the real tool over HTTP with the session token from the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser import BROWSER_MARKS, landing_in_chromium
from tests.factories import make_enrollment, make_user
from tests.integration.lti.conftest import launch
from tests.integration.lti.test_placed_assignment import _session_of

pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS

PLACED = {
    "https://purl.imsglobal.org/spec/lti/claim/custom": {
        "masteryai_target": "adaptive_assignment",
        "masteryai_id": "adaptive-practice",
    },
    "https://purl.imsglobal.org/spec/lti/claim/resource_link": {
        "id": "moodle-cmid-77",
        "title": "Fractions practice",
    },
}
# An LMS hands the tool whatever name a person typed; it must show as text.
HOSTILE_NAME = '<img src=x onerror="window.injected=1">Zed'


ABSENT = ["Dev Absent", *(f"Absent {n}" for n in range(1, 7))]


def _class_of_eleven(app, course_id: int) -> dict[str, int]:
    """Four students active on most of the last 20 days, seven never seen; ids by name."""
    from masteryai_lti.courses.models import Course
    from masteryai_lti.engagement import service as engagement
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.models import Institution

    with app.app_context():
        course = db.session.get(Course, course_id)
        school = db.session.get(Institution, course.institution_id)
        names = ["Ana Diaz", "Ben Okafor", "Chloe Martin", HOSTILE_NAME, *ABSENT]
        ids, events = {}, []
        now = datetime.now(UTC)
        for n, name in enumerate(names):
            email = f"s{n}@school.example"
            student = make_user(school, email=email, full_name=name)
            make_enrollment(course, student)
            ids[name] = student.id
            if name in ABSENT:
                continue
            for day in range(1, 21):
                if day % (n + 2) == 0:  # each a little less often than the last
                    continue
                for k, kind in enumerate(("launch", "resource_view", "quiz", "interaction")):
                    events.append(
                        {
                            "user_id": student.id,
                            "course_id": course_id,
                            "kind": kind,
                            "occurred_at": now - timedelta(days=day, minutes=k),
                            "source": "test",
                            "source_id": f"{student.id}-{day}-{k}",
                        }
                    )
        engagement.record_events(course.institution_id, events)
    return ids


LONG_ACTIVITY = (
    "https://content.school.example/xapi/activities/unit-4/lesson-12/"
    "quiz-with-a-long-identifier-and-no-title"
)


def _institution(app, user_id: int) -> int:
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.models import User

    with app.app_context():
        return db.session.get(User, user_id).institution_id


def _daily_snapshots(app, course_id: int, days: int) -> None:
    """What the nightly recompute writes, for each of the last ``days`` days."""
    from masteryai_lti.engagement import service as engagement

    today = datetime.now(UTC).date()
    with app.app_context():
        for days_ago in range(days - 1, -1, -1):
            engagement.recompute_course(course_id, as_of=today - timedelta(days=days_ago))


def _shown(value: float) -> str:
    """A score as the dashboards print it (one decimal, none when whole)."""
    return f"{round(value, 1):g}"


def _history(client, session: dict, student: int) -> list[dict]:
    url = f"/api/v1/courses/{session['course_id']}/engagement/students/{student}/history"
    return client.get(url, headers={"Authorization": "Bearer " + session["token"]}).get_json()


def test_teacher_reaches_at_risk_students_dates_the_assignment_and_imports_attendance(
    app, client, platform, live_tool
):
    response = launch(client, platform, "teacher", extra_claims=PLACED)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    landing = response.get_data(as_text=True)
    session = _session_of(landing)
    assert session["activity"] == {"object_id": "moodle-cmid-77", "title": "Fractions practice"}
    ids = _class_of_eleven(app, session["course_id"])
    _daily_snapshots(app, session["course_id"], days=14)
    csv = f"email,date,status\ns0@school.example,{datetime.now(UTC).date()},present\n"

    # A phone, in a timezone an hour ahead of UTC in winter.
    with landing_in_chromium(live_tool, landing, timezone_id="Europe/Berlin") as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        # Whose days these are: the school has not chosen a zone, and the page says so.
        assert "days counted in UTC (the school's time zone is not set)" in (
            page.locator("#engagement-status").inner_text()
        )

        # Who to reach out to: the student never seen, with a reason.
        flagged = page.locator("#at-risk-list > li")
        # The first five are shown, the rest one click away.
        flagged = page.locator("#at-risk-list > li")
        assert flagged.count() >= len(ABSENT)
        assert page.locator("#at-risk-list > li:visible").count() == 5
        page.click("#at-risk-more")
        assert page.locator("#at-risk-list > li:visible").count() == flagged.count()
        # Flagged on each of the fortnight's snapshots: since its first day.
        first_day = datetime.now(UTC).date() - timedelta(days=13)
        for name in ABSENT:
            absent = page.locator(f'#at-risk-list > li[data-student="{ids[name]}"]')
            assert "no activity yet" in absent.inner_text()
            assert f"flagged since {first_day.isoformat()}" in absent.inner_text()
            assert absent.locator(".why li").count() >= 1

        # The class table: everyone, sortable by name both ways.
        rows = page.locator("#class-table tbody tr")
        assert rows.count() == 11
        # Never seen: nothing to credit, though they are most of the class.
        for name in ABSENT:
            index = page.locator(f'#class-table tr[data-student="{ids[name]}"] td').nth(1)
            assert index.inner_text() == "0 · low"
        page.click('#class-table button[data-sort="name"]')
        page.wait_for_selector('#class-table th[aria-sort="ascending"] [data-sort="name"]')
        first = page.locator("#class-table tbody tr").first.get_attribute("data-student")
        page.click('#class-table button[data-sort="name"]')
        page.wait_for_selector('#class-table th[aria-sort="descending"] [data-sort="name"]')
        last = page.locator("#class-table tbody tr").first.get_attribute("data-student")
        # "<" sorts before letters.
        assert (int(first), int(last)) == (ids[HOSTILE_NAME], ids["Dev Absent"])
        # Risk: the first click puts the highest first (who to reach), the next the lowest.
        page.click('#class-table button[data-sort="risk"]')
        page.wait_for_selector('#class-table th[aria-sort="descending"] [data-sort="risk"]')
        risks = page.locator("#class-table tbody tr td:nth-child(4)").all_inner_texts()
        shown = [int(r.split()[0]) for r in risks]
        assert shown == sorted(shown, reverse=True), risks
        # The hostile name is text, not markup.
        shown_name = page.locator(f'#class-table button[data-student="{ids[HOSTILE_NAME]}"]')
        assert shown_name.inner_text() == HOSTILE_NAME
        assert page.evaluate("window.injected === undefined")
        assert page.locator("#engagement img").count() == 0

        page.select_option("#class-filter", "at_risk")
        page.wait_for_function(
            "document.querySelector('#class-caption').textContent.includes('filter')"
        )
        at_risk_rows = page.locator("#class-table tbody tr")
        assert at_risk_rows.count() == flagged.count()

        # One student's breakdown: each factor against the class, points adding up.
        page.select_option("#class-filter", "")
        page.locator(f'#class-table tr[data-student="{ids["Ben Okafor"]}"] button').click()
        page.wait_for_selector("#student:not([hidden]) #student-factors tbody tr")
        assert page.locator("#student-title").inner_text() == "Ben Okafor"
        breakdown = client.get(
            f"/api/v1/courses/{session['course_id']}/engagement/students/{ids['Ben Okafor']}",
            headers={"Authorization": "Bearer " + session["token"]},
        ).get_json()
        factor_rows = page.locator("#student-factors tbody tr")
        assert factor_rows.count() == len(breakdown["factors"])
        shown = page.locator("#student-factors tbody tr td").all_inner_texts()
        assert breakdown["factors"][0]["reason"] in shown

        # ...and how the index went, day by day: a sentence and a line, flagged days dotted.
        for name in ("Ben Okafor", "Dev Absent"):
            page.locator(f'#class-table tr[data-student="{ids[name]}"] button').click()
            page.wait_for_selector(f'#student-title:text-is("{name}")')
            page.wait_for_selector("#student-history svg.history")
            past = _history(client, session, ids[name])
            summary = page.locator("#student-history .history-summary").inner_text()
            first, last = past[0], past[-1]
            assert summary.startswith(
                f"Index {_shown(first['score'])} on {first['date']}, "
                f"{_shown(last['score'])} on {last['date']}"
            ), summary
            line = page.locator("#student-history polyline").get_attribute("points")
            assert len(line.split()) == len(past) == 14
            flagged_days = sum(day["flagged"] for day in past)
            assert page.locator("#student-history circle.flagged").count() == flagged_days
            if name == "Dev Absent":
                assert flagged_days == 14
                assert "flagged on 14 of 14 days" in summary

        # The assignment the teacher launched from gets its due date here.
        form = page.locator("#activity-due")
        assert form.is_visible()
        assert "Fractions practice" in form.inner_text()
        form.locator("input[name=due_at]").fill("2026-12-01T17:00")
        form.locator("button[type=submit]").click()
        page.wait_for_selector('#due-status:has-text("Due date saved")')
        assert page.locator("#due-list li").count() == 1
        assert not form.is_visible()  # now edited in the list

        # Weights: a total other than 100 is said at once, and refused with the reason;
        # a course without attendance moves its points to the work that is there.
        weights = page.locator("#weights-form")
        weights.locator("input[name=attendance]").fill("0")
        assert page.locator("#weights-sum").inner_text() == "Total: 75 (must be 100)"
        weights.locator("button[type=submit]").click()
        page.wait_for_selector("#weights-result .problem")
        assert "100" in page.locator("#weights-result").inner_text()
        weights.locator("input[name=interaction]").fill("40")
        weights.locator("input[name=flag_at]").fill("35")
        assert page.locator("#weights-sum").inner_text() == "Total: 100"
        # Likelihoods assume the model's own share of students who fail or withdraw
        # until the teacher gives the course's.
        rate = weights.locator("input[name=outcome_rate]")
        assert rate.input_value() == "" and rate.get_attribute("placeholder") == "44"
        assert "44 %" in page.locator("#outcome-rate-help").inner_text()
        ben = f'#class-table tr[data-student="{ids["Ben Okafor"]}"] td'
        risk_before = page.locator(ben).nth(3).inner_text()
        rate.fill("12")
        weights.locator("button[type=submit]").click()
        page.wait_for_selector('#weights-result:has-text("Weights saved")')
        page.wait_for_function(
            f"document.querySelectorAll('{ben}')[3].textContent !== {risk_before!r}"
        )
        risk_after = page.locator(ben).nth(3).inner_text()
        assert int(risk_after.split()[0]) < int(risk_before.split()[0]), (risk_before, risk_after)

        # Attendance, as a teacher uploads it; then a sheet that cannot be read.
        page.set_input_files(
            "#attendance-form input[name=file]",
            files=[{"name": "register.csv", "mimeType": "text/csv", "buffer": csv.encode()}],
        )
        page.click("#attendance-form button[type=submit]")
        page.wait_for_selector('#attendance-result:has-text("Imported")')
        assert page.locator("#attendance-result").inner_text() == (
            "Imported 1 marks: 1 new or changed."
        )
        page.set_input_files(
            "#attendance-form input[name=file]",
            files=[
                {
                    "name": "bad.csv",
                    "mimeType": "text/csv",
                    "buffer": b"email,date,status\nnobody@school.example,2026-13-01,present\n",
                }
            ],
        )
        page.click("#attendance-form button[type=submit]")
        page.wait_for_selector("#attendance-result .problem li")
        problem = page.locator("#attendance-result .problem").inner_text()
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert "cannot" in problem.lower() or "invalid" in problem.lower(), problem
    assert "line 2" in problem, problem
    assert fits, "the dashboard fits a phone screen without sideways scrolling"
    settings = client.get(
        f"/api/v1/courses/{session['course_id']}/engagement/weights",
        headers={"Authorization": "Bearer " + session["token"]},
    ).get_json()
    assert (settings["weights"]["attendance"], settings["weights"]["interaction"]) == (0, 40)
    # The flag line moved to 35 %; the clearing line kept its gap below it.
    assert (settings["flag_at"], settings["clear_below"]) == (0.35, 0.25)
    assert settings["outcome_rate"] == 0.12
    items = client.get(
        f"/api/v1/courses/{session['course_id']}/engagement/graded-items",
        headers={"Authorization": "Bearer " + session["token"]},
    ).get_json()
    # 17:00 in Berlin on 1 December is 16:00 UTC.
    assert [(i["object_id"], i["kind"], i["source"]) for i in items] == [
        ("moodle-cmid-77", "submission", "teacher")
    ]
    assert datetime.fromisoformat(items[0]["due_at"]) == datetime(2026, 12, 1, 16, tzinfo=UTC)


def test_student_sees_missing_work_and_their_activity_but_no_risk_figure(
    app, client, platform, live_tool
):
    """A student opens the tool from the course on a phone: the work due that they have
    not handed in comes first, then their activity against the class's."""
    from masteryai_lti.courses.models import Course
    from masteryai_lti.engagement import graded_items
    from masteryai_lti.engagement import service as engagement
    from masteryai_lti.extensions import db

    response = launch(client, platform, "student")
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    landing = response.get_data(as_text=True)
    session = _session_of(landing)
    assert 'id="my-engagement"' in landing
    ids = _class_of_eleven(app, session["course_id"])
    now = datetime.now(UTC)
    with app.app_context():
        course = db.session.get(Course, session["course_id"])
        graded_items.declare_item(
            course, "essay-1", "submission", now - timedelta(days=3), "Essay 1", "teacher"
        )
        # An xAPI activity with no title: its address is what the student reads.
        graded_items.declare_item(
            course, LONG_ACTIVITY, "submission", now - timedelta(days=2), "", "teacher"
        )
        db.session.commit()
        engagement.record_events(
            course.institution_id,
            [
                {
                    "user_id": student,
                    "course_id": course.id,
                    "kind": "submission",
                    "object_id": "essay-1",
                    "occurred_at": now - timedelta(days=4),
                    "source": "test",
                    "source_id": f"essay-{student}",
                }
                for student in (ids["Ana Diaz"], ids["Ben Okafor"])
            ]
            + [
                {
                    "user_id": session["user_id"],
                    "course_id": course.id,
                    "kind": "resource_view",
                    "occurred_at": now - timedelta(days=1),
                    "source": "test",
                    "source_id": "me-1",
                }
            ],
        )

    _daily_snapshots(app, session["course_id"], days=3)

    # A phone in New York: due dates in its own time, not UTC's day.
    with landing_in_chromium(live_tool, landing, timezone_id="America/New_York") as page:
        page.wait_for_selector("#my-engagement[data-ready=yes]", timeout=20_000)
        history = page.locator("#my-history .history-summary").inner_text()
        history_points = page.locator("#my-history polyline").get_attribute("points")
        history_dots = page.locator("#my-history circle.flagged").count()
        latest_mark = page.locator("#my-history circle.latest").count()
        missing = page.locator("#my-missing li").all_inner_texts()
        summary = page.locator("#my-summary").inner_text()
        factors = page.locator("#my-factors tbody tr[data-factor]").count()
        text = page.locator("main").inner_text()
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    mine = client.get(
        f"/api/v1/courses/{session['course_id']}/engagement/students/{session['user_id']}",
        headers={"Authorization": "Bearer " + session["token"]},
    ).get_json()
    assert [m["title"] for m in mine["missing_work"]] == ["Essay 1", LONG_ACTIVITY]
    new_york = ZoneInfo("America/New_York")
    assert missing == [
        f"{m['title']}, due "
        + datetime.fromisoformat(m["due_at"]).astimezone(new_york).strftime("%Y-%m-%d %H:%M")
        for m in mine["missing_work"]
    ]
    assert summary.startswith(f"Engagement index {mine['score']:g} of 100")
    assert factors == len(mine["factors"])
    assert "risk" not in text.lower()
    assert f"{round(mine['risk'] * 100)} %" not in text
    # Their own index over the days, without the teacher's flags.
    past = _history(client, session, session["user_id"])
    assert len(history_points.split()) == len(past) == 3
    assert history.startswith(f"Your index: {_shown(past[0]['score'])} on {past[0]['date']}")
    assert history_dots == 0 and "flag" not in text.lower()
    assert latest_mark == 1
    assert fits, "the student's page fits a phone screen"


def test_the_history_line_ends_on_the_figures_shown_above_it(app, client, platform, live_tool):
    """Snapshots are written by the nightly recompute; an event after it shows in the
    breakdown at once, and so must it on the line's last day."""
    from masteryai_lti.engagement import service as engagement

    response = launch(client, platform, "teacher")
    landing = response.get_data(as_text=True)
    session = _session_of(landing)
    ids = _class_of_eleven(app, session["course_id"])
    _daily_snapshots(app, session["course_id"], days=3)
    ben = ids["Ben Okafor"]
    with app.app_context():
        engagement.record_events(
            _institution(app, ben),
            [
                {
                    "user_id": ben,
                    "course_id": session["course_id"],
                    "kind": "resource_view",
                    "occurred_at": datetime.now(UTC),
                    "source": "test",
                    "source_id": "ben-today",
                }
            ],
        )
    auth = {"Authorization": "Bearer " + session["token"]}
    now = client.get(
        f"/api/v1/courses/{session['course_id']}/engagement/students/{ben}", headers=auth
    ).get_json()
    past = _history(client, session, ben)
    assert past[-1]["score"] != now["score"]  # the snapshot is from before the event

    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        page.locator(f'#class-table tr[data-student="{ben}"] button').click()
        page.wait_for_selector("#student-history svg.history")
        summary = page.locator("#student-history .history-summary").inner_text()
        points = page.locator("#student-history polyline").get_attribute("points")

    today = datetime.now(UTC).date().isoformat()
    assert f", {_shown(now['score'])} on {today}" in summary, summary
    assert len(points.split()) == len(past) == 3


def test_removing_a_due_date_takes_a_second_click(app, client, platform, live_tool):
    """One stray tap on a phone must not drop a graded item."""
    from masteryai_lti.courses.models import Course
    from masteryai_lti.engagement import graded_items
    from masteryai_lti.extensions import db

    response = launch(client, platform, "teacher")
    landing = response.get_data(as_text=True)
    session = _session_of(landing)
    with app.app_context():
        course = db.session.get(Course, session["course_id"])
        due = datetime.now(UTC) + timedelta(days=3)
        graded_items.declare_item(course, "essay-9", "submission", due, "Essay 9", "teacher")
        db.session.commit()
    items_url = f"/api/v1/courses/{session['course_id']}/engagement/graded-items"
    auth = {"Authorization": "Bearer " + session["token"]}

    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_selector("#engagement[data-ready=yes]", timeout=20_000)
        remove = page.locator("#due-list li button", has_text="Remove")
        remove.click()
        asking = page.locator("#due-list li button", has_text="Confirm remove").count()
        still_there = len(client.get(items_url, headers=auth).get_json())
        page.locator("#due-list li button", has_text="Confirm remove").click()
        page.wait_for_selector('#due-status:has-text("Removed Essay 9")')

    assert (asking, still_there) == (1, 1)
    assert client.get(items_url, headers=auth).get_json() == []
