"""Students choosing their own group, in real Chromium on a 375 px phone (under the
page's Content-Security-Policy, as browser_world shows it).

With sign-up on, a student in no group sees the teacher's groups with who is in them
and the places left, and joins one with room from the keyboard; in a group, they leave
it through a confirm step that says their ratings go. The teacher turns sign-up on and
sets the size in the project's settings. What a page says it did is checked in the API.
"""

from __future__ import annotations

import pytest

from tests.browser import BROWSER_MARKS
from tests.integration.pbl import browser_world
from tests.integration.pbl.browser_world import (
    GOOD,
    STUDENT_READY,
    STUDENTS,
    TEACHER_READY,
    api_get,
    create_group,
    create_project,
    focused,
    no_sideways_scroll,
    open_project,
    rate,
    shown,
    until_said,
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = BROWSER_MARKS


lms, tool, world = browser_world.lms, browser_world.tool, browser_world.world


def _member_ids(client, world, project, group) -> list[int]:
    found = api_get(client, world, f"/{project['id']}/groups/{group['id']}")
    return [m["user_id"] for m in found["members"]]


def test_a_student_joins_a_group_with_room_from_the_keyboard(client, tool, world):
    project = create_project(client, world, status="open", group_sign_up=True, max_group_size=2)
    red = create_group(client, world, project, "Red", ["ben", "cal"])
    blue = create_group(client, world, project, "Blue", [])

    with shown(tool, world.students["ada"]) as view:
        page = view.page
        page.wait_for_selector(STUDENT_READY, timeout=20_000)
        card = page.locator(f'article[data-project="{project["id"]}"]')
        full = card.locator(f'li[data-group="{red["id"]}"]')
        expect(full).to_contain_text(f"Red — {STUDENTS['ben']}, {STUDENTS['cal']} · full")
        expect(full.get_by_role("button")).to_have_count(0)
        choice = card.locator(f'li[data-group="{blue["id"]}"]')
        expect(choice).to_contain_text("Blue — nobody yet · 2 places left")
        no_sideways_scroll(page)

        join = choice.get_by_role("button", name="Join Blue")
        join.focus()
        page.keyboard.press("Enter")
        until_said(page, "#my-projects-status", "You joined Blue.")
        assert focused(page).startswith("h4#p"), focused(page)
        expect(card.locator(".group-line")).to_have_text("Blue: you alone.")
        expect(card.locator(".group-choices")).to_have_count(0)
        expect(card.get_by_role("button", name="Leave Blue")).to_have_count(1)
        no_sideways_scroll(page)
    assert _member_ids(client, world, project, blue) == [world.id_of("ada")]


def test_a_refused_join_is_said_beside_the_group(client, tool, world):
    project = create_project(client, world, status="open", group_sign_up=True, max_group_size=2)
    blue = create_group(client, world, project, "Blue", ["ben"])

    with shown(tool, world.students["ada"]) as view:
        page = view.page
        page.wait_for_selector(STUDENT_READY, timeout=20_000)
        choice = page.locator(f'li[data-group="{blue["id"]}"]')
        expect(choice).to_contain_text("1 place left")
        # Cal takes the last place while Ada reads the list.
        reply = client.patch(
            world.url(f"/{project['id']}/groups/{blue['id']}"),
            json={"member_ids": [world.id_of("ben"), world.id_of("cal")]},
            headers=world.teacher.headers,
        )
        assert reply.status_code == 200
        choice.get_by_role("button", name="Join Blue").click()
        expect(choice.locator(".problem")).to_contain_text("Full: 2 of 2 places taken.")
        until_said(page, "#my-projects-status", "Not joined: This group is full")
    assert world.id_of("ada") not in _member_ids(client, world, project, blue)


def test_a_student_leaves_their_group_after_confirming(client, tool, world):
    project = create_project(client, world, status="open", group_sign_up=True)
    red = create_group(client, world, project, "Red", ["ada", "ben"])
    rate(client, world, project, "ada", "ben", GOOD)
    rate(client, world, project, "ben", "ada", GOOD)

    with shown(tool, world.students["ada"]) as view:
        page = view.page
        page.wait_for_selector(STUDENT_READY, timeout=20_000)
        card = page.locator(f'article[data-project="{project["id"]}"]')
        leave = card.get_by_role("button", name="Leave Red")
        leave.focus()
        page.keyboard.press("Enter")
        expect(card.locator(".confirm")).to_contain_text("drops the ratings you gave")
        # Escape steps back, nothing left.
        assert focused(page) == "button#[button]:Leave and drop the ratings", focused(page)
        page.keyboard.press("Escape")
        expect(card.locator(".confirm")).to_have_count(0)
        assert focused(page) == "button#[button]:Leave Red", focused(page)
        assert len(api_get(client, world, f"/{project['id']}/peer-ratings")) == 2

        page.keyboard.press("Enter")
        card.get_by_role("button", name="Leave and drop the ratings").click()
        until_said(page, "#my-projects-status", "You left Red: your ratings there are dropped.")
        expect(card.locator(f'li[data-group="{red["id"]}"]')).to_contain_text(
            f"Red — {STUDENTS['ben']} · 29 places left"
        )
        expect(card.locator("section.ratings")).to_have_count(0)
        no_sideways_scroll(page)
    assert _member_ids(client, world, project, red) == [world.id_of("ben")]
    assert api_get(client, world, f"/{project['id']}/peer-ratings") == []


def test_the_teacher_turns_sign_up_on_in_the_projects_settings(client, tool, world):
    project = create_project(client, world, status="open")

    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        form = page.locator("#sign-up-form")
        form.wait_for(timeout=15_000)
        expect(page.locator("#project-settings")).to_contain_text("You form the groups")
        form.get_by_label("Students choose their own group").check()
        size = form.get_by_label("Most members students can bring a group to (optional)")
        size.fill("40")
        form.get_by_role("button", name="Save").click()
        expect(form.locator("#sign-up-max_group_size-error")).to_have_text(
            "A whole number from 2 to 30, or empty for up to 30."
        )
        assert api_get(client, world, f"/{project['id']}")["group_sign_up"] is False

        size.fill("4")
        form.get_by_role("button", name="Save").click()
        until_said(page, "#projects-status", "Saved: students choose their own group now.")
        expect(page.locator("#project-settings")).to_contain_text(
            "Students choose their own group, up to 4 members"
        )
        no_sideways_scroll(page)
    saved = api_get(client, world, f"/{project['id']}")
    assert (saved["group_sign_up"], saved["max_group_size"]) == (True, 4)


def test_a_closed_project_does_not_offer_who_forms_its_groups(client, tool, world):
    project = create_project(client, world, status="closed", group_sign_up=True)

    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        expect(page.locator("#project-settings")).to_contain_text("Students choose their own group")
        expect(page.locator("#sign-up-form")).to_be_hidden()
        page.get_by_role("button", name="Reopen").click()
        expect(page.locator("#sign-up-form")).to_be_visible()
    assert api_get(client, world, f"/{project['id']}")["status"] == "open"


def test_a_new_project_can_let_students_choose_their_group(client, tool, world):
    with shown(tool, world.teacher) as view:
        page = view.page
        page.wait_for_selector(TEACHER_READY, timeout=20_000)
        page.get_by_role("button", name="New project").click()
        form = page.locator("#project-form")
        form.get_by_label("Title").fill("Design a bridge")
        form.get_by_label("Students choose their own group").check()
        form.get_by_label("Most members students can bring a group to (optional)").fill("3")
        form.get_by_role("button", name="Create project").click()
        until_said(page, "#projects-status", "Project created as a draft")
    created = api_get(client, world, "")
    assert [(p["group_sign_up"], p["max_group_size"]) for p in created] == [(True, 3)]
