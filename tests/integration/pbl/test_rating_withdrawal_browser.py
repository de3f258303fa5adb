"""Withdrawing a peer rating, and a teammate who left the course, in real Chromium on a
375 px phone (under the page's Content-Security-Policy, as browser_world shows it).

A student's rating form offers "Withdraw my rating" once they have rated that teammate
and while the project is open; a teammate who left the course is listed as such, with
nothing to rate. The teacher's scores table lists who left under their group, without a
mark. What a page says it did is checked in the API afterwards.
"""

from __future__ import annotations

import pytest

from tests.browser import BROWSER_MARKS
from tests.integration.pbl import browser_world
from tests.integration.pbl.browser_world import (
    FAIR,
    GOOD,
    STUDENT_READY,
    STUDENTS,
    api_get,
    create_group,
    create_project,
    evaluate,
    focused,
    no_sideways_scroll,
    open_project,
    rate,
    set_status,
    shown,
    until_said,
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = BROWSER_MARKS


lms, tool, world = browser_world.lms, browser_world.tool, browser_world.world


def _leave(client, world, key: str) -> None:
    """The teacher ends the student's enrolment (as a roster sync finding them gone does)."""
    reply = client.delete(
        f"/api/v1/courses/{world.course_id}/members/{world.id_of(key)}",
        headers=world.teacher.headers,
    )
    assert reply.status_code == 204, reply.get_json()


def test_a_student_withdraws_a_rating_and_sees_who_left(client, tool, world):
    project = create_project(client, world, status="open")
    create_group(client, world, project, "Red", ["ada", "ben", "cal"])
    rate(client, world, project, "ada", "ben", GOOD, "Ben did the maths.")
    _leave(client, world, "cal")
    ben, cal = STUDENTS["ben"], STUDENTS["cal"]

    with shown(tool, world.students["ada"]) as view:
        page = view.page
        page.wait_for_selector(STUDENT_READY, timeout=20_000)
        card = page.locator(f'article[data-project="{project["id"]}"]')
        expect(card.locator(".group-line")).to_have_text(
            f"Red: you, {ben}, {cal} (left the course)."
        )
        expect(card.locator(".left-course")).to_have_text(
            f"{cal} has left the course: nobody rates them while they are away."
        )
        # Cal is not offered for rating; Ben is, as rated.
        expect(card.locator("li[data-ratee]")).to_have_count(1)
        expect(card.locator(f'li[data-ratee="{world.id_of("ben")}"] .rated-state')).to_have_text(
            "rated"
        )

        card.get_by_role("button", name=f"Change your rating of {ben}").click()
        form = card.locator("form.rating-form")
        withdraw = form.get_by_role("button", name="Withdraw my rating")
        withdraw.focus()
        page.keyboard.press("Enter")
        until_said(page, "#my-projects-status", f"Your rating of {ben} is withdrawn.")
        assert focused(page) == f"button#[button]:Rate {ben}", focused(page)
        expect(card.locator(".rated-state")).to_have_text("not rated yet")
        expect(card.locator("form.rating-form")).to_have_count(0)
        assert api_get(client, world, f"/{project['id']}/peer-ratings", world.students["ada"]) == []

        # Not rated any more: the form has nothing to withdraw.
        card.get_by_role("button", name=f"Rate {ben}").click()
        expect(card.locator("form.rating-form")).to_have_count(1)
        expect(card.get_by_role("button", name="Withdraw my rating")).to_have_count(0)
        no_sideways_scroll(page)


def test_a_withdrawal_after_the_project_closed_is_refused_beside_the_form(client, tool, world):
    project = create_project(client, world, status="open")
    create_group(client, world, project, "Red", ["ada", "ben"])
    rate(client, world, project, "ada", "ben", GOOD)
    ben = STUDENTS["ben"]

    with shown(tool, world.students["ada"]) as view:
        page = view.page
        page.wait_for_selector(STUDENT_READY, timeout=20_000)
        card = page.locator(f'article[data-project="{project["id"]}"]')
        card.get_by_role("button", name=f"Change your rating of {ben}").click()
        # The teacher closes the project while the form is open.
        set_status(client, world, project, "closed")
        card.get_by_role("button", name="Withdraw my rating").click()
        problem = card.locator("form.rating-form .form-problem")
        expect(problem).to_contain_text("Peer ratings are closed for this project")
        until_said(page, "#my-projects-status", "Not saved: Peer ratings are closed")
        given = api_get(client, world, f"/{project['id']}/peer-ratings", world.students["ada"])
        assert [r["ratee_id"] for r in given] == [world.id_of("ben")]


def test_the_teacher_sees_who_left_in_the_group_and_the_scores_without_a_mark(client, tool, world):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project, "Red", ["ada", "ben", "cal"])
    for rater, ratee in (("ada", "ben"), ("ben", "ada"), ("cal", "ada"), ("cal", "ben")):
        rate(client, world, project, rater, ratee, FAIR)
    evaluate(client, world, project, red, GOOD)
    _leave(client, world, "cal")
    cal_id = world.id_of("cal")

    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        group = page.locator(f'#group-list li[data-group="{red["id"]}"]')
        group.wait_for(timeout=15_000)
        expect(group.locator(".group-line")).to_contain_text(f"{STUDENTS['cal']} (left the course)")
        row = page.locator(f'#scores-table tr[data-student="{cal_id}"]')
        expect(row.locator("th")).to_have_text(STUDENTS["cal"])
        expect(row.locator(".score")).to_have_text("left the course")
        expect(row.locator(".explanation")).to_contain_text("given no score")
        # Ada and Ben rated each other alike: without Cal, each has an equal share.
        for key in ("ada", "ben"):
            other = page.locator(f'#scores-table tr[data-student="{world.id_of(key)}"]')
            expect(other.locator(".score")).to_have_text("100")

        # Editing the group keeps Cal ticked: saving it as it is keeps Cal and the ratings.
        group.get_by_role("button", name="Edit group").click()
        kept = page.get_by_role("checkbox", name=f"{STUDENTS['cal']} (left the course)")
        expect(kept).to_be_checked()
        page.locator("#group-form").get_by_role("button", name="Save group").click()
        until_said(page, "#projects-status", "Group saved: Red")
        no_sideways_scroll(page)
    members = api_get(client, world, f"/{project['id']}/groups/{red['id']}")["members"]
    assert [(m["user_id"], m["left_course"]) for m in members] == [
        (world.id_of("ada"), False),
        (world.id_of("ben"), False),
        (cal_id, True),
    ]
    assert len(api_get(client, world, f"/{project['id']}/peer-ratings")) == 4
