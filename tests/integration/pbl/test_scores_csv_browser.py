"""The teacher's scores panel downloads the CSV, and a closed project's groups with
members offer no deletion, in real Chromium on a 375 px phone (under the page's
Content-Security-Policy, as browser_world shows it).

The download goes through the launch's session token (a plain link inside the LMS's
frame sends no Authorization header): the page fetches it and saves it from an object
URL. The file saved is compared with the API's own answer.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.browser import BROWSER_MARKS
from tests.integration.pbl import browser_world
from tests.integration.pbl.browser_world import (
    FAIR,
    GOOD,
    STUDENTS,
    create_group,
    create_project,
    evaluate,
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


@pytest.fixture
def closed(client, world):
    """Red (Ada, Ben) rated each other and was evaluated; Blue has nobody; Cal is in no
    group. The project is closed."""
    project = create_project(client, world, status="open")
    red = create_group(client, world, project, "Red", ["ada", "ben"])
    blue = create_group(client, world, project, "Blue", [])
    rate(client, world, project, "ada", "ben", GOOD)
    rate(client, world, project, "ben", "ada", FAIR)
    evaluate(client, world, project, red, FAIR)
    set_status(client, world, project, "closed")
    return project, red, blue


def test_the_teacher_downloads_the_scores_as_csv(client, tool, world, closed):
    project, red, _ = closed
    expected = client.get(
        world.url(f"/{project['id']}/scores?format=csv"), headers=world.teacher.headers
    )
    assert expected.status_code == 200

    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        button = page.get_by_role("button", name="Download scores (CSV)")
        expect(button).to_be_visible()
        with page.expect_download() as download:
            button.click()
        assert download.value.suggested_filename == "build-a-bridge-scores.csv"
        with open(download.value.path(), "rb") as saved:
            content = saved.read()
        expect(page.locator("#scores-download-result")).to_have_text(
            "Downloaded build-a-bridge-scores.csv."
        )
        no_sideways_scroll(page)

    assert content == expected.get_data()
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert [(r["group"], r["student"]) for r in rows] == [
        ("Red", STUDENTS["ada"]),
        ("Red", STUDENTS["ben"]),
        ("", STUDENTS["cal"]),
    ]
    assert all(r["score"] for r in rows[:2]) and rows[2]["score"] == ""


def test_a_closed_project_s_group_with_members_offers_no_deletion(client, tool, world, closed):
    project, red, blue = closed
    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        red_entry = page.locator(f'#group-list li[data-group="{red["id"]}"]')
        blue_entry = page.locator(f'#group-list li[data-group="{blue["id"]}"]')
        expect(red_entry.get_by_role("button", name="Edit group")).to_be_visible()
        expect(red_entry.get_by_role("button", name="Delete group")).to_have_count(0)
        # Nobody's score is in an empty group: it may still go.
        expect(blue_entry.get_by_role("button", name="Delete group")).to_be_visible()
        note = page.locator("#groups-closed")
        expect(note).to_be_visible()
        expect(note).to_contain_text("Reopen the project to change a group's members or delete")

        # Reopened from the page, Red can be deleted again, and is.
        page.get_by_role("button", name="Reopen to students").click()
        until_said(page, "#projects-status", "Build a bridge is open")
        expect(note).to_be_hidden()
        red_entry.get_by_role("button", name="Delete group").click()
        page.get_by_role("button", name="Delete the group").click()
        until_said(page, "#projects-status", "Group deleted: Red.")
        expect(red_entry).to_have_count(0)
        no_sideways_scroll(page)

    groups = client.get(
        world.url(f"/{project['id']}/groups"), headers=world.teacher.headers
    ).get_json()
    assert [g["name"] for g in groups] == ["Blue"]
