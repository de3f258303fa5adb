"""A teacher changes a project in the LMS frame, in real Chromium on a 375 px phone: edits
its rubric (criteria and levels added, renamed, removed; refusals said beside the field
they are about; a rubric already used is fixed), deletes projects and groups, withdraws
an evaluation, removes evidence, reads each group's peer ratings, and lands on a placed
project from its LMS link. Every page runs under the Content-Security-Policy the tool
served it with, with no violation or script error (browser_world). What a page says it
saved is checked in the API afterwards.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import BROWSER_MARKS
from tests.integration.pbl import browser_world
from tests.integration.pbl.browser_world import (
    FAIR,
    GOOD,
    STUDENTS,
    TEACHER_READY,
    api_get,
    create_group,
    create_project,
    evaluate,
    focused,
    no_sideways_scroll,
    open_project,
    placed_launch,
    rate,
    shown,
    until_said,
    upload,
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = BROWSER_MARKS

# The test LMS, the tool on loopback and the launched class (browser_world's fixtures).
lms, tool, world = browser_world.lms, browser_world.tool, browser_world.world

DEFAULT_KEYS = ["communication", "collaboration", "problem_solving"]
# A rubric of one criterion, two levels: nothing like the default.
DESIGN_RUBRIC = {
    "criteria": [
        {
            "key": "design",
            "name": "Design",
            "levels": [{"points": 0, "label": "Missing"}, {"points": 5, "label": "Complete"}],
        }
    ]
}


def _status(page, said: str) -> None:
    until_said(page, "#projects-status", said)


def _field(form, criterion: int, name: str, level: int | None = None):
    """The editor's control for criterion ``criterion`` (1-based), or one of its levels."""
    group = form.get_by_role("group", name=re.compile(rf"^Criterion {criterion}\b"))
    if level is not None:
        group = group.get_by_role("group", name=f"Level {level}", exact=True)
    return group.get_by_label(name, exact=True)


# -- the rubric ------------------------------------------------------------------------------


def test_a_teacher_edits_the_rubric_on_a_phone(client, tool, world):
    project = create_project(client, world)
    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        expect(page.locator("#rubric-summary li")).to_have_count(3)
        expect(page.locator("#rubric-summary li").first).to_have_text(
            "Communication (weight 1): Beginning 1, Developing 2, Proficient 3, Exemplary 4"
        )

        # Opened from the keyboard: the focus goes to the editor's heading.
        page.locator("#rubric-edit").focus()
        page.keyboard.press("Enter")
        form = page.locator("#rubric-form")
        assert focused(page).startswith("h5#rubric-form-title"), focused(page)
        expect(page.locator("#rubric-edit")).to_have_attribute("aria-expanded", "true")
        expect(form.get_by_role("group", name=re.compile("^Criterion"))).to_have_count(3)
        expect(_field(form, 2, "Points", level=3)).to_have_value("3")
        no_sideways_scroll(page)

        # Renamed (its key stays), reweighted, and the third criterion removed.
        _field(form, 1, "Name").fill("Presentation")
        expect(form.get_by_role("group", name="Criterion 1: Presentation")).to_be_visible()
        _field(form, 2, "Weight").fill("2")
        form.get_by_role("button", name="Remove criterion 3").click()
        _status(page, "Criterion 3 (Problem solving) removed.")
        assert focused(page).startswith("button#rubric-add-criterion"), focused(page)

        # A new criterion takes the last one's scale; its key comes from its name.
        page.keyboard.press("Enter")
        _status(page, "Criterion 3 added, with 4 levels: give it a name.")
        assert focused(page).startswith("input#rubric-c2-name"), focused(page)
        page.keyboard.type("Research & sources")
        expect(_field(form, 3, "Label", level=4)).to_have_value("Exemplary")
        form.get_by_role("button", name="Remove level 4 of criterion 3").click()
        assert focused(page).startswith("button#rubric-c2-add-level"), focused(page)
        page.keyboard.press("Enter")
        assert focused(page).startswith("input#rubric-c2-l3-label"), focused(page)
        expect(_field(form, 3, "Points", level=4)).to_have_value("4")
        page.keyboard.type("Thorough")
        no_sideways_scroll(page)

        # What the API refuses is said beside the field it names, nothing is saved.
        _field(form, 2, "Points", level=1).fill("-1")
        _field(form, 3, "Label", level=2).fill("")
        form.get_by_role("button", name="Save rubric").click()
        _status(page, "Not saved: The rubric is not valid.")
        points = _field(form, 2, "Points", level=1)
        expect(points).to_have_attribute("aria-invalid", "true")
        expect(points).to_have_accessible_description(re.compile("points cannot be negative"))
        label = _field(form, 3, "Label", level=2)
        expect(label).to_have_accessible_description(re.compile("a label is required"))
        expect(_field(form, 1, "Name")).not_to_have_attribute("aria-invalid", "true")
        assert page.evaluate("document.activeElement.classList.contains('form-problem')")
        assert api_get(client, world, f"/{project['id']}")["rubric"] == project["rubric"]
        no_sideways_scroll(page)

        points.fill("1")
        label.fill("Some sources")
        form.get_by_role("button", name="Save rubric").click()
        _status(page, "Rubric saved: Presentation, Collaboration, Research & sources.")
        assert focused(page).startswith("h4#rubric-title"), focused(page)
        expect(form).to_be_hidden()

    rubric = api_get(client, world, f"/{project['id']}")["rubric"]
    criteria = rubric["criteria"]
    assert [c["key"] for c in criteria] == ["communication", "collaboration", "research_sources"]
    assert [c["name"] for c in criteria] == ["Presentation", "Collaboration", "Research & sources"]
    assert [c["weight"] for c in criteria] == [1.0, 2.0, 1.0]
    assert [(lv["label"], lv["points"]) for lv in criteria[2]["levels"]] == [
        ("Beginning", 1.0),
        ("Some sources", 2.0),
        ("Proficient", 3.0),
        ("Thorough", 4.0),
    ]
    # The descriptions it kept, and none invented for the new criterion's levels.
    assert criteria[0]["description"].startswith("How clearly the group explains")
    assert all(lv["description"] == "" for lv in criteria[2]["levels"])


def test_new_keys_are_unique_and_the_default_rubric_replaces_another(client, tool, world):
    project = create_project(client, world, rubric=DESIGN_RUBRIC)
    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        page.locator("#rubric-edit").click()
        form = page.locator("#rubric-form")
        # Two new criteria named alike, one like the kept "design": three keys.
        for name in ("Design!", "2nd draft"):
            form.get_by_role("button", name="Add a criterion").click()
            page.keyboard.type(name)
        form.get_by_role("button", name="Save rubric").click()
        _status(page, "Rubric saved: Design, Design!, 2nd draft.")
        saved = api_get(client, world, f"/{project['id']}")["rubric"]["criteria"]
        assert [c["key"] for c in saved] == ["design", "design_2", "criterion_2nd_draft"]

        # The default comes back, saved at once, and the editor stays open on it.
        page.locator("#rubric-edit").click()
        form.get_by_role("button", name="Replace with the default rubric").click()
        _status(page, "The default rubric is saved in place of the one you had")
        assert focused(page).startswith("h5#rubric-form-title"), focused(page)
        expect(form.get_by_role("group", name=re.compile("^Criterion"))).to_have_count(3)
        expect(_field(form, 3, "Name")).to_have_value("Problem solving")
        rubric = api_get(client, world, f"/{project['id']}")["rubric"]
        assert [c["key"] for c in rubric["criteria"]] == DEFAULT_KEYS
        page.keyboard.press("Escape")
        assert focused(page).startswith("button#rubric-edit"), focused(page)
        expect(form).to_be_hidden()


def test_a_rubric_used_for_an_evaluation_cannot_change(client, tool, world):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project, "Red", ["ada", "ben"])
    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        expect(page.locator("#rubric-locked")).to_be_hidden()
        page.locator("#rubric-edit").click()
        form = page.locator("#rubric-form")
        # A weight scores the work (wording alone could still change under evaluations).
        _field(form, 1, "Weight").fill("2")

        # A co-teacher evaluates the work meanwhile: the API refuses (409) and says why.
        evaluate(client, world, project, red, FAIR)
        form.get_by_role("button", name="Save rubric").click()
        problem = form.locator(".form-problem")
        expect(problem).to_contain_text("The rubric cannot change once work has been evaluated")
        assert api_get(client, world, f"/{project['id']}")["rubric"] == project["rubric"]
        form.get_by_role("button", name="Cancel").click()
        assert focused(page).startswith("button#rubric-edit"), focused(page)
        expect(page.locator("#rubric-edit")).to_have_text("Edit the rubric's wording")
        expect(page.locator("#rubric-locked")).to_have_text(
            "The rubric's criteria, weights and points can no longer change: it has been used "
            "for 1 evaluation. Its wording still can. Withdraw the evaluations to change the "
            "scale, or create a new project."
        )


def test_a_used_rubric_offers_its_wording_only(client, tool, world):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project, "Red", ["ada", "ben"])
    evaluate(client, world, project, red, FAIR)
    rate(client, world, project, "ada", "ben", GOOD)
    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        expect(page.locator("#rubric-locked")).to_contain_text("1 evaluation and 1 peer rating")
        page.get_by_role("button", name="Edit the rubric's wording").click()
        form = page.locator("#rubric-form")
        expect(form.get_by_role("heading", name="Edit the rubric's wording")).to_be_visible()
        # The scale is shown but cannot be typed into, and nothing can be added or removed.
        assert _field(form, 1, "Weight").get_attribute("readonly") is not None
        assert _field(form, 2, "Points", level=4).get_attribute("readonly") is not None
        for name in ("Add a criterion", "Replace with the default rubric"):
            expect(form.get_by_role("button", name=name)).to_be_hidden()
        expect(form.get_by_role("button", name=re.compile("^(Remove|Add a level)"))).to_have_count(
            0
        )
        no_sideways_scroll(page)

        _field(form, 2, "Label", level=1).fill("Not yet")
        _field(form, 3, "Name").fill("Solving problems")
        form.get_by_role("button", name="Save rubric").click()
        expect(form).to_be_hidden()
        expect(page.locator("#rubric-summary li").nth(2)).to_contain_text("Solving problems")

    stored = api_get(client, world, f"/{project['id']}")["rubric"]["criteria"]
    assert stored[1]["levels"][0]["label"] == "Not yet"
    assert stored[2]["name"] == "Solving problems"
    # The scale is what it was: the evaluation and the rating score as before.
    assert [c["weight"] for c in stored] == [c["weight"] for c in project["rubric"]["criteria"]]
    assert [[lv["points"] for lv in c["levels"]] for c in stored] == [
        [lv["points"] for lv in c["levels"]] for c in project["rubric"]["criteria"]
    ]


# -- deleting ---------------------------------------------------------------------------------


def test_a_teacher_removes_evidence_withdraws_deletes_a_group_then_the_project(client, tool, world):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project, "Red", ["ada", "ben"])
    blue = create_group(client, world, project, "Blue", ["cal"])
    # Blue first: the evaluation of Red has another id than Red itself.
    blue_evaluation = evaluate(client, world, project, blue, FAIR)
    evaluate(client, world, project, red, FAIR, "Good joints.")
    link = client.post(
        world.url(f"/{project['id']}/evidence"),
        json={"kind": "link", "title": "Test video", "url": "https://video.example/bridge"},
        headers=world.students["ada"].headers,
    )
    assert link.status_code == 201, link.get_json()
    upload(client, world, project, "cal", "tower.txt", b"Tower plan.\n")

    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        red_entry = page.locator(f'#group-list li[data-group="{red["id"]}"]')
        blue_entry = page.locator(f'#group-list li[data-group="{blue["id"]}"]')

        # Evidence: asked once more, kept, then removed.
        red_entry.get_by_role("button", name="Evidence").click()
        remove = red_entry.get_by_role("button", name="Remove Test video")
        remove.click()
        confirm = red_entry.locator(".confirm")
        expect(confirm).to_contain_text(
            f"Remove Test video, added by {STUDENTS['ada']}, from Red's evidence?"
        )
        assert focused(page).startswith("p#:Remove Test video"), focused(page)
        confirm.get_by_role("button", name="Keep it").click()
        expect(confirm).to_have_count(0)
        assert focused(page) == "button#[button]:Remove", focused(page)
        assert len(api_get(client, world, f"/{project['id']}/evidence?group_id={red['id']}")) == 1
        remove.click()
        red_entry.get_by_role("button", name="Remove the evidence").click()
        _status(page, "Removed from Red's evidence: Test video.")
        expect(red_entry.locator(".evidence-title")).to_have_text(
            "Red has handed in no evidence yet."
        )
        assert focused(page).startswith("p#:Red has handed in no evidence yet"), focused(page)
        assert api_get(client, world, f"/{project['id']}/evidence?group_id={red['id']}") == []

        # The teacher's own evaluation of Red, withdrawn; Blue's stays.
        red_entry.get_by_role("button", name="Withdraw your evaluation").click()
        expect(red_entry.locator(".confirm")).to_contain_text(
            "Withdraw your evaluation of Red (75 of 100)?"
        )
        red_entry.get_by_role("button", name="Withdraw the evaluation").click()
        _status(page, "Your evaluation of Red is withdrawn.")
        evaluations = api_get(client, world, f"/{project['id']}/evaluations")
        assert [e["id"] for e in evaluations] == [blue_evaluation["id"]]
        expect(red_entry.locator(".meta").first).to_have_text("Not evaluated by you yet.")
        expect(red_entry.get_by_role("button", name="Withdraw your evaluation")).to_have_count(0)
        assert focused(page) == "button#[button]:Evaluate work", focused(page)
        expect(blue_entry.locator(".meta").first).to_have_text("Your evaluation: 75 of 100.")

        # A group, with what goes along said first; its student is then in no group.
        blue_entry.get_by_role("button", name="Delete group").click()
        expect(blue_entry.locator(".confirm")).to_contain_text(
            "Delete the group Blue? This cannot be undone: its evaluations, peer ratings and "
            "evidence go with it (now 1 evaluation, no peer ratings and 1 piece of evidence); "
            "Cal Rivera is then in no group."
        )
        no_sideways_scroll(page)
        blue_entry.get_by_role("button", name="Delete the group").click()
        _status(page, "Group deleted: Blue.")
        assert focused(page).startswith("h4#groups-title"), focused(page)
        assert [g["id"] for g in api_get(client, world, f"/{project['id']}/groups")] == [red["id"]]
        assert api_get(client, world, f"/{project['id']}/evaluations") == []
        # Nothing is rated against the rubric any more: it may change again.
        expect(page.locator("#rubric-edit")).to_be_visible()
        expect(page.locator("#groups-ungrouped")).to_have_text(
            "Not in a group yet (1 of 3): Cal Rivera."
        )

        # The project itself.
        page.get_by_role("button", name="Delete project").click()
        confirm = page.locator("#project .confirm")
        expect(confirm).to_contain_text(
            "Delete the project Build a bridge? This cannot be undone: its groups, evaluations, "
            "peer ratings and evidence go with it (now 1 group, no evaluations, no peer ratings "
            "and no pieces of evidence)."
        )
        no_sideways_scroll(page)
        confirm.get_by_role("button", name="Delete the project").click()
        _status(page, "Project deleted: Build a bridge.")
        assert focused(page).startswith("h2#projects-title"), focused(page)
        expect(page.locator("#project")).to_be_hidden()
        expect(page.locator("#projects-none")).to_be_visible()
        assert api_get(client, world, "") == []


# -- peer ratings ------------------------------------------------------------------------------


def test_a_teacher_reads_each_groups_peer_ratings_one_by_one(client, tool, world):
    project = create_project(client, world, status="open", self_assessment=True)
    red = create_group(client, world, project, "Red", ["ada", "ben"])
    blue = create_group(client, world, project, "Blue", ["cal"])
    rate(client, world, project, "ada", "ben", GOOD, "Ben tested every joint.")
    rate(client, world, project, "ada", "ada", FAIR)
    ada, ben = STUDENTS["ada"], STUDENTS["ben"]

    with shown(tool, world.teacher) as view:
        page = view.page
        open_project(page)
        red_entry = page.locator(f'#group-list li[data-group="{red["id"]}"]')
        blue_entry = page.locator(f'#group-list li[data-group="{blue["id"]}"]')
        toggle = red_entry.get_by_role("button", name="Peer ratings")
        box = page.locator(f"#ratings-{red['id']}")
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(box).to_be_hidden()

        toggle.focus()
        page.keyboard.press("Enter")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(box.locator("ul.ratings > li")).to_have_count(2)
        expect(box.locator(".idle")).to_have_text(f"Rated nobody yet: {ben}.")
        page.keyboard.press("Enter")
        expect(box).to_be_hidden()

        # Ben rates Ada after the page loaded: opening again reads the ratings again.
        rate(client, world, project, "ben", "ada", FAIR)
        page.keyboard.press("Enter")
        expect(box.locator("p").first).to_have_text(
            "3 peer ratings in Red, one by one (students never see who rated them):"
        )
        entries = box.locator("ul.ratings > li")
        expect(entries.locator("strong")).to_have_text(
            [f"{ada} rated their own contribution", f"{ada} rated {ben}", f"{ben} rated {ada}"]
        )
        given = api_get(client, world, f"/{project['id']}/peer-ratings")
        scores = {(r["rater_id"], r["ratee_id"]): r["score"] for r in given}
        ada_on_ben = entries.nth(1)
        assert ada_on_ben.get_attribute("data-ratee") == str(world.id_of("ben"))
        score = scores[(world.id_of("ada"), world.id_of("ben"))]
        expect(ada_on_ben).to_contain_text(f": {score:g} of 100")
        expect(ada_on_ben.locator(".meta")).to_have_text(
            "Communication Exemplary (4), Collaboration Exemplary (4), "
            "Problem solving Exemplary (4)"
        )
        expect(ada_on_ben.locator(".feedback")).to_have_text("Ben tested every joint.")
        expect(entries.nth(0).locator(".feedback")).to_have_count(0)
        expect(box.locator(".idle")).to_have_count(0)
        assert focused(page) == "button#[button]:Peer ratings", focused(page)
        no_sideways_scroll(page)

        page.keyboard.press("Enter")
        expect(box).to_be_hidden()
        expect(toggle).to_have_attribute("aria-expanded", "false")

        blue_entry.get_by_role("button", name="Peer ratings").click()
        expect(page.locator(f"#ratings-{blue['id']}")).to_have_text(
            "Nobody in Blue has rated a teammate yet."
        )


# -- a placed project's link ------------------------------------------------------------------


def test_a_teachers_launch_of_a_placed_project_opens_it(client, lms, tool, world):
    other = create_project(client, world, title="Paper tower")
    project = create_project(client, world)
    create_group(client, world, project, "Red", ["ada", "ben"])

    placed = placed_launch(client, lms, "teacher", project)
    assert placed.session["project_id"] == project["id"]
    with shown(tool, placed) as view:
        page = view.page
        page.wait_for_selector(TEACHER_READY, timeout=20_000)
        expect(page.locator("#project")).to_be_visible()
        expect(page.locator("#project-name")).to_have_text("Build a bridge")
        assert focused(page) == "h3#project-name:Build a bridge", focused(page)
        expect(page.locator("#projects-status")).to_have_text(
            "Opened Build a bridge, the project of the LMS link you followed."
        )
        pick = page.locator(f'#project-list button[data-project="{project["id"]}"]')
        expect(pick).to_have_attribute("aria-current", "true")
        expect(page.locator("#group-list .group-line strong")).to_have_text(["Red"])
        expect(page.locator("#projects-placed-note")).to_be_hidden()
        no_sideways_scroll(page)

    # The link of a project deleted since: the panel says so and opens none.
    gone = client.delete(world.url(f"/{other['id']}"), headers=world.teacher.headers)
    assert gone.status_code == 204
    with shown(tool, placed_launch(client, lms, "teacher", other)) as view:
        page = view.page
        page.wait_for_selector(TEACHER_READY, timeout=20_000)
        expect(page.locator("#projects-placed-note")).to_contain_text(
            "places a project that is no longer in MasteryAI"
        )
        expect(page.locator("#project")).to_be_hidden()
