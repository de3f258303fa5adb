"""A teacher edits the course's topics and questions on the launch page, in real Chromium
on a 375 px phone: topics with prerequisites (a cycle refused with the API's detail beside
the field), multiple-choice and numeric questions added, edited and deleted, a file of
questions imported and the bank exported, a hostile prompt shown as text; a course on a
shared graph is told so and offered the copy; a student never sees the editor and the
API refuses them anyway. What the page says it saved is checked in the API afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import BROWSER_MARKS, landing_in_chromium
from tests.integration.lti.conftest import launch
from tests.integration.lti.test_placed_assignment import _session_of
from tests.integration.lti.test_teacher_topics_browser import _teacher

pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS

HOSTILE_PROMPT = '<img src=x onerror="window.injected=1">Which is half of 1?'
READY = "#topic-editor[data-state=ready]"


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"


def _focused(page) -> str:
    """The focused element's id, or its tag and data-item for a question."""
    return page.evaluate(
        "() => { const a = document.activeElement;"
        " return a.id || (a.dataset.item ? 'item-' + a.dataset.item : a.className || a.tagName); }"
    )


def _status(page) -> str:
    return page.locator("#editor-status").inner_text()


def _until_status(page, said: str, *, exact: bool = True) -> None:
    """Wait until the editor's live status says ``said`` (or, not ``exact``, begins so)."""
    page.wait_for_function(
        "([said, exact]) => { const text = document.getElementById('editor-status').textContent;"
        " return exact ? text === said : text.startsWith(said); }",
        arg=[said, exact],
    )


def _add_topic(page, name: str, needs: tuple[str, ...] = ()) -> None:
    """Add a topic from the keyboard alone: Enter opens the form, Space ticks, Enter saves."""
    page.focus("#editor-add-topic")
    page.keyboard.press("Enter")
    assert _focused(page) == "topic-name"
    page.keyboard.type(name)
    for key in needs:
        page.focus(f'#topic-prerequisites input[value="{key}"]')
        page.keyboard.press("Space")
    page.focus("#topic-name")
    page.keyboard.press("Enter")
    _until_status(page, f"Topic added: {name}.")


def _put_graph(client, base: str, graph: dict, headers: dict) -> None:
    reply = client.put(f"{base}/concept-graph", json={"document": graph}, headers=headers)
    assert reply.status_code == 200, reply.get_json()


def _graph(client, course_id: int, teacher: dict) -> dict[str, dict]:
    reply = client.get(f"/api/v1/courses/{course_id}/concept-graph", headers=teacher)
    assert reply.status_code == 200, reply.get_json()
    return {c["key"]: c for c in reply.get_json()["concepts"]}


def _items(client, course_id: int, teacher: dict) -> list[dict]:
    reply = client.get(f"/api/v1/courses/{course_id}/items", headers=teacher)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


@pytest.fixture
def teacher_launch(client, platform):
    landing, teacher = _teacher(client, platform)
    return landing, teacher, _session_of(landing)["course_id"]


def test_topics_with_prerequisites_a_refused_cycle_an_edit_and_a_delete(
    client, live_tool, teacher_launch
):
    landing, teacher, course_id = teacher_launch
    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_selector(READY, timeout=20_000)
        assert _status(page) == "0 topics, 0 questions."
        assert page.locator("#editor-topics-none").is_visible()
        # The Topics panel's empty state now points here, not at the API.
        page.wait_for_selector("#topics[data-state=ready]", timeout=20_000)
        link = page.locator("#topics-status a")
        assert link.get_attribute("href") == "#topic-editor"
        link.click()
        assert _focused(page) == "editor-title"

        page.click("#editor-add-topic")
        page.fill("#topic-name", "Équations à deux inconnues")
        # The key is made from the name, in the API's alphabet.
        assert page.input_value("#topic-key") == "equations-a-deux-inconnues"
        page.fill("#topic-key", "eq2")
        page.fill("#topic-description", "Systems of two linear equations.")
        _no_sideways_scroll(page)
        page.click("#editor-topic-form button[type=submit]")
        _until_status(page, "Topic added", exact=False)
        assert _focused(page) == "editor-topic-name", "focus moves to the saved topic"
        assert page.locator("#editor-topic-name").inner_text() == "Équations à deux inconnues"

        _add_topic(page, "Addition")
        # A second topic named alike gets a key of its own.
        page.click("#editor-add-topic")
        page.fill("#topic-name", "Addition")
        assert page.input_value("#topic-key") == "addition-2"
        page.click("#editor-topic-form .cancel")
        assert _focused(page) == "editor-add-topic"
        _add_topic(page, "Fractions", needs=("addition",))
        # The Topics panel above lists the new topics without a reload.
        page.wait_for_function(
            "document.getElementById('topics-status').textContent.startsWith('3 topics')"
        )
        assert page.locator("#topics-status").get_attribute("role") == "status"
        graph = _graph(client, course_id, teacher)
        assert graph["eq2"]["name"] == "Équations à deux inconnues"
        assert graph["eq2"]["description"] == "Systems of two linear equations."
        assert graph["fractions"]["prerequisites"] == ["addition"]
        needs = page.locator('#editor-topic-list li[data-key="fractions"] .meta').inner_text()
        assert "needs Addition" in needs

        # A co-teacher adds Geometry after this page loaded; adding it here too is
        # refused beside the key, and theirs stands.
        added = client.put(
            f"/api/v1/courses/{course_id}/concepts/geometry",
            json={"name": "Geometry (co-teacher)"},
            headers=teacher,
        )
        assert added.status_code == 200
        page.click("#editor-add-topic")
        page.fill("#topic-name", "Geometry")
        assert page.input_value("#topic-key") == "geometry"
        page.click("#editor-topic-form button[type=submit]")
        page.wait_for_selector("#topic-key-error:not([hidden])")
        assert "taken" in page.locator("#topic-key-error").inner_text()
        assert page.get_attribute("#topic-key", "aria-invalid") == "true"
        assert _graph(client, course_id, teacher)["geometry"]["name"] == "Geometry (co-teacher)"
        page.click("#editor-topic-form .cancel")
        removed = client.delete(f"/api/v1/courses/{course_id}/concepts/geometry", headers=teacher)
        assert removed.status_code == 204

        # Addition needing Fractions would close a cycle: refused, the API's detail shown
        # at the top of the form and beside the prerequisites, with the topics' names.
        page.click('#editor-topic-list button[data-key="addition"]')
        assert _focused(page) == "editor-topic-name"
        page.click("#editor-edit-topic")
        assert page.input_value("#topic-name") == "Addition"
        assert page.locator("#topic-key").get_attribute("readonly") is not None
        page.check('#topic-prerequisites input[value="fractions"]')
        page.click("#editor-topic-form button[type=submit]")
        problem = page.locator("#editor-topic-form .form-problem")
        problem.wait_for(state="visible")
        detail = "prerequisite cycle: fractions -> addition -> fractions"
        assert detail in problem.inner_text()
        beside = page.locator("#topic-prerequisites-error")
        assert beside.is_visible()
        assert beside.inner_text().startswith("prerequisites: " + detail)
        assert "Fractions → Addition → Fractions" in beside.inner_text()
        fieldset = page.locator("#topic-prerequisites")
        assert "topic-prerequisites-error" in fieldset.get_attribute("aria-describedby")
        assert "Not saved: " + detail in _status(page)
        assert _focused(page) == "form-problem"
        assert _graph(client, course_id, teacher)["addition"]["prerequisites"] == []
        _no_sideways_scroll(page)

        # The same form saves a rename once the cycle is undone; the problem clears.
        page.uncheck('#topic-prerequisites input[value="fractions"]')
        page.fill("#topic-name", "Addition and subtraction")
        page.click("#editor-topic-form button[type=submit]")
        _until_status(page, "Topic saved: Addition and subtraction.")
        assert _focused(page) == "editor-topic-name"
        assert page.locator("#editor-topic-form").is_hidden()
        assert _graph(client, course_id, teacher)["addition"]["name"] == "Addition and subtraction"

        # Deleting says first what is lost: mastery, and its place as a prerequisite.
        page.click("#editor-delete-topic")
        confirm = page.locator("#editor-topic-confirm")
        assert _focused(page) == "editor-topic-confirm-text"
        said = confirm.inner_text()
        assert "Delete the topic Addition and subtraction? This cannot be undone." in said
        assert "every student's mastery of it" in said
        assert "its place as a prerequisite of Fractions" in said
        confirm.locator(".cancel").click()
        assert confirm.is_hidden() and _focused(page) == "editor-delete-topic"
        assert "addition" in _graph(client, course_id, teacher)
        page.click("#editor-delete-topic")
        confirm.locator(".yes").click()
        _until_status(page, "Topic deleted: Addition and subtraction.")
        assert _focused(page) == "editor-topics-title"
        graph = _graph(client, course_id, teacher)
        assert sorted(graph) == ["eq2", "fractions"]
        assert graph["fractions"]["prerequisites"] == []
        assert page.locator('#editor-topic-list li[data-key="addition"]').count() == 0
        _no_sideways_scroll(page)


def _unlabelled_controls(page) -> list[str]:
    """The editor's visible form controls a screen reader would have no name for."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
              '#topic-editor input, #topic-editor select, #topic-editor textarea'))
            .filter(c => c.offsetParent !== null)
            .filter(c => !c.labels.length && !c.getAttribute('aria-label'))
            .map(c => c.name || c.id || c.outerHTML)"""
    )


def _open_topic(page, key: str) -> None:
    page.click(f'#editor-topic-list button[data-key="{key}"]')
    page.wait_for_selector("#editor-topic:not([hidden])")


def _fill_choices(page, texts: list[str], correct: set[int]) -> None:
    rows = page.locator("#question-choices ol.choices li")
    while rows.count() < len(texts):
        page.click("#question-add-choice")
    for n, text in enumerate(texts):
        rows.nth(n).locator("input[type=text]").fill(text)
        if n in correct:
            rows.nth(n).locator("input[type=checkbox]").check()


def _save_question(page, said: str) -> None:
    """Submit the question form; back once the form closed and the status says ``said``."""
    page.click("#editor-question-form button[type=submit]")
    page.wait_for_function(
        "said => document.getElementById('editor-question-form').hidden &&"
        " document.getElementById('editor-status').textContent.startsWith(said)",
        arg=said,
    )


def test_questions_added_edited_deleted_and_a_hostile_prompt_shown_as_text(
    client, live_tool, teacher_launch
):
    landing, teacher, course_id = teacher_launch
    base = f"/api/v1/courses/{course_id}"
    graph = {
        "concepts": [
            {"key": "frac", "name": "Fractions", "prerequisites": []},
            {"key": "dec", "name": "Decimals", "prerequisites": []},
            {"key": "pct", "name": "Percent", "prerequisites": []},
        ]
    }
    _put_graph(client, base, graph, teacher)
    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_selector(READY, timeout=20_000)
        _open_topic(page, "frac")
        assert page.locator("#editor-questions-none").is_visible()

        # A multiple-choice question, its prompt an attempt at markup.
        page.click("#editor-add-question")
        assert _focused(page) == "editor-question-form-title"
        assert page.input_value("#question-kind") == "multiple_choice"
        # The topic the question is added from is ticked already.
        assert page.is_checked('#question-concepts input[value="frac"]')
        page.fill("#question-prompt", HOSTILE_PROMPT)
        _fill_choices(page, ["1/2", "1/3", "2/4"], correct={0, 2})
        page.check('#question-concepts input[value="dec"]')
        page.get_by_label("Difficulty").select_option("easy")
        page.get_by_label("Explanation (optional)").fill("Two quarters are a half too: 2/4 = 1/2.")
        assert page.get_by_role("textbox", name="Choice 3", exact=True).input_value() == "2/4"
        assert _unlabelled_controls(page) == []
        _no_sideways_scroll(page)
        _save_question(page, "Question added")
        items = _items(client, course_id, teacher)
        [choice] = items
        assert _focused(page) == f"item-{choice['id']}", "focus on the saved question"
        assert choice["kind"] == "multiple_choice" and choice["prompt"] == HOSTILE_PROMPT
        assert [c["text"] for c in choice["choices"]] == ["1/2", "1/3", "2/4"]
        assert choice["answer"] == {"correct": ["a", "c"]}
        assert choice["concepts"] == ["dec", "frac"] and choice["difficulty_label"] == "easy"
        assert choice["explanation"] == "Two quarters are a half too: 2/4 = 1/2."
        entry = page.locator(f'#editor-question-list li[data-item="{choice["id"]}"]')
        assert entry.locator(".prompt").inner_text() == HOSTILE_PROMPT
        assert page.locator("#topic-editor img").count() == 0
        assert page.evaluate("window.injected") is None
        meta = entry.inner_text()
        assert "Multiple choice · easy · not answered yet · also Decimals" in meta
        assert "correct: 1/2 / 2/4" in meta

        # A numeric one, the value written with a decimal comma.
        page.click("#editor-add-question")
        page.select_option("#question-kind", "numeric")
        assert page.locator("#question-choices").is_hidden()
        page.fill("#question-prompt", "Write 1/2 as a decimal.")
        page.get_by_label("Correct value").fill("0,5")
        page.get_by_label("Accepted within ± (tolerance)").fill("0.01")
        assert _unlabelled_controls(page) == []
        page.select_option("#question-difficulty", "hard")
        _save_question(page, "Question added")
        numeric = next(i for i in _items(client, course_id, teacher) if i["kind"] == "numeric")
        assert numeric["answer"] == {"value": 0.5, "tolerance": 0.01}
        assert numeric["concepts"] == ["frac"] and numeric["choices"] is None
        assert page.locator("#editor-question-list li").count() == 2
        assert "answer 0.5 ± 0.01" in page.locator(f'li[data-item="{numeric["id"]}"]').inner_text()
        assert "2 questions" in page.locator('#editor-topic-list li[data-key="frac"]').inner_text()

        # A form left incomplete is said beside each field before anything is sent.
        page.click("#editor-add-question")
        page.select_option("#question-kind", "numeric")
        page.fill("#question-prompt", "How much?")
        page.fill("#question-value", "about two")
        page.click("#editor-question-form button[type=submit]")
        assert page.locator("#question-answer-value-error").is_visible()
        assert page.get_attribute("#question-value", "aria-invalid") == "true"
        assert "question-answer-value-error" in page.get_attribute(
            "#question-value", "aria-describedby"
        )
        assert len(_items(client, course_id, teacher)) == 2
        page.press("#question-value", "Escape")
        assert page.locator("#editor-question-form").is_hidden()
        assert _focused(page) == "editor-add-question"

        # Edit: the numeric answer changes, and the API has it.
        page.locator(f'li[data-item="{numeric["id"]}"] button.edit').click()
        assert page.input_value("#question-value") == "0.5"
        page.fill("#question-value", "0.25")
        page.fill("#question-prompt", "Write 1/4 as a decimal.")
        _save_question(page, "Question saved")
        assert _focused(page) == f"item-{numeric['id']}"
        changed = client.get(f"{base}/items/{numeric['id']}", headers=teacher).get_json()
        assert changed["answer"]["value"] == 0.25 and changed["prompt"] == "Write 1/4 as a decimal."

        # Refused by the API: a topic ticked in the form was deleted meanwhile (by another
        # teacher); the problem's detail and the field path show beside the topics.
        page.locator(f'li[data-item="{numeric["id"]}"] button.edit').click()
        page.check('#question-concepts input[value="pct"]')
        assert client.delete(f"{base}/concepts/pct", headers=teacher).status_code == 204
        page.click("#editor-question-form button[type=submit]")
        page.locator("#editor-question-form .form-problem").wait_for(state="visible")
        assert (
            "The item is not valid."
            in page.locator("#editor-question-form .form-problem").inner_text()
        )
        beside = page.locator("#question-concepts-error")
        assert beside.is_visible()
        assert "concepts[1]: unknown concept 'pct'" in beside.inner_text()
        assert client.get(f"{base}/items/{numeric['id']}", headers=teacher).get_json()[
            "concepts"
        ] == ["frac"]
        _no_sideways_scroll(page)
        page.click("#editor-question-form .cancel")

        # Delete, confirmed first; focus moves on to the next question.
        page.locator(f'li[data-item="{choice["id"]}"] button.delete').click()
        confirm = page.locator(f'li[data-item="{choice["id"]}"] .confirm')
        assert "Delete this question? This cannot be undone." in confirm.inner_text()
        confirm.locator(".yes").click()
        _until_status(page, "Question deleted.")
        assert _focused(page) == f"item-{numeric['id']}"
        assert [i["id"] for i in _items(client, course_id, teacher)] == [numeric["id"]]
        assert page.locator(f'li[data-item="{choice["id"]}"]').count() == 0
        _no_sideways_scroll(page)


def test_questions_imported_from_a_file_and_exported(client, live_tool, teacher_launch):
    landing, teacher, course_id = teacher_launch
    base = f"/api/v1/courses/{course_id}"
    graph = {"concepts": [{"key": "frac", "name": "Fractions", "prerequisites": []}]}
    _put_graph(client, base, graph, teacher)
    csv_text = (
        "key,kind,prompt,concepts,difficulty,choices,answer\n"
        'half,numeric,What is 1/2 as a decimal?,frac,easy,,"{""value"": 0.5}"\n'
        "name,short_text,Name the top of a fraction.,frac,medium,,"
        '"{""accepted"": [""numerator""]}"\n'
    )
    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_selector(READY, timeout=20_000)
        # A file with a problem imports nothing and says where.
        essay = {"key": "x", "kind": "essay", "prompt": "?", "concepts": ["frac"], "answer": {}}
        bad = json.dumps({"items": [essay]}).encode()
        page.set_input_files(
            "#editor-import-form input[type=file]",
            {"name": "bad.json", "mimeType": "application/json", "buffer": bad},
        )
        page.click("#editor-import-form button[type=submit]")
        result = page.locator("#editor-import-result")
        result.locator(".problem").wait_for()
        assert "Nothing was imported from bad.json" in result.inner_text()
        assert "items[0].kind: must be one of" in result.inner_text()
        assert _items(client, course_id, teacher) == []

        page.set_input_files(
            "#editor-import-form input[type=file]",
            {"name": "bank.csv", "mimeType": "text/csv", "buffer": csv_text.encode()},
        )
        page.click("#editor-import-form button[type=submit]")
        _until_status(page, "Imported from bank.csv: 2 new questions, 0 questions updated.")
        assert sorted(i["key"] for i in _items(client, course_id, teacher)) == ["half", "name"]
        _open_topic(page, "frac")
        prompts = page.locator("#editor-question-list .prompt").all_inner_texts()
        assert prompts == ["What is 1/2 as a decimal?", "Name the top of a fraction."]

        for fmt in ("json", "csv"):
            with page.expect_download() as download:
                page.click(f'#editor-transfer button.export[data-format="{fmt}"]')
            assert download.value.suggested_filename == f"questions-course-{course_id}.{fmt}"
            text = Path(download.value.path()).read_text(encoding="utf-8")
            if fmt == "json":
                assert [i["key"] for i in json.loads(text)["items"]] == ["half", "name"]
            else:
                header = "key,kind,prompt,concepts,difficulty,choices,answer"
                assert text.splitlines()[0].startswith(header)
        _no_sideways_scroll(page)


def test_a_shared_graph_is_said_and_the_copy_offered(app, client, live_tool, teacher_launch):
    from masteryai_lti.courses.models import Course
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.models import Institution
    from tests.factories import bearer, make_course, make_user

    landing, teacher, course_id = teacher_launch
    with app.app_context():
        school = db.session.get(Institution, db.session.get(Course, course_id).institution_id)
        owner = make_user(school, role="teacher")
        owning_course = make_course(school, teacher=owner)
        owners = bearer(owner)
        owning_id = owning_course.id
    graph = {"concepts": [{"key": "frac", "name": "Fractions", "prerequisites": []}]}
    owning = f"/api/v1/courses/{owning_id}"
    _put_graph(client, owning, graph, owners)
    shared_id = client.get(f"{owning}/concept-graph", headers=owners).get_json()["concept_map_id"]
    base = f"/api/v1/courses/{course_id}"
    use = client.post(
        f"{base}/concept-graph/use", json={"concept_map_id": shared_id}, headers=teacher
    )
    assert use.status_code == 200, use.get_json()

    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_selector(READY, timeout=20_000)
        notice = page.locator("#editor-shared")
        assert notice.is_visible()
        assert "shared by its owning course" in notice.inner_text()
        # The topics read, but nothing offers a change that would fail on save.
        assert page.locator('#editor-topic-list button[data-key="frac"]').is_visible()
        assert page.locator("#editor-add-topic").is_hidden()
        assert page.locator("#editor-transfer").is_hidden()
        _open_topic(page, "frac")
        assert page.locator("#editor-edit-topic").is_hidden()
        assert page.locator("#editor-add-question").is_hidden()
        _no_sideways_scroll(page)

        page.fill("#editor-copy-form input[name=name]", "Our fractions")
        page.click("#editor-copy-form button[type=submit]")
        _until_status(page, "This course now has its own copy", exact=False)
        assert "1 topic" in _status(page)
        assert _focused(page) == "editor-title"
        assert notice.is_hidden() and page.locator("#editor-add-topic").is_visible()
        _add_topic(page, "Percent")
    own = client.get(f"{base}/concept-graph", headers=teacher).get_json()
    assert own["concept_map_id"] != shared_id
    assert sorted(c["key"] for c in own["concepts"]) == ["frac", "percent"]
    # The shared graph is untouched.
    shared = client.get(f"{owning}/concept-graph", headers=owners).get_json()
    assert [c["key"] for c in shared["concepts"]] == ["frac"]


def test_a_student_never_sees_the_editor_and_the_api_refuses_them(
    client, platform, live_tool, teacher_launch
):
    _, teacher, course_id = teacher_launch
    landing = launch(client, platform, "student").get_data(as_text=True)
    student = {"Authorization": "Bearer " + _session_of(landing)["token"]}
    assert _session_of(landing)["course_id"] == course_id
    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_load_state("load")
        assert page.locator("#topic-editor").count() == 0
        assert page.locator("script[src*=teacher_topic_editor]").count() == 0
    base = f"/api/v1/courses/{course_id}"
    refused = client.put(f"{base}/concepts/frac", json={"name": "Fractions"}, headers=student)
    assert refused.status_code == 403
    item = {"kind": "numeric", "prompt": "?", "concepts": ["frac"], "answer": {"value": 1}}
    assert client.post(f"{base}/items", json=item, headers=student).status_code == 403
    assert client.get(f"{base}/items", headers=student).status_code == 403
    assert client.get(f"{base}/items", headers=teacher).status_code == 404, "nothing was made"


def test_a_short_text_question_and_a_change_of_kind(client, live_tool, teacher_launch):
    landing, teacher, course_id = teacher_launch
    base = f"/api/v1/courses/{course_id}"
    _put_graph(client, base, {"concepts": [{"key": "geo", "name": "Geography"}]}, teacher)
    with landing_in_chromium(live_tool, landing) as page:
        page.wait_for_selector(READY, timeout=20_000)
        _open_topic(page, "geo")
        page.click("#editor-add-question")
        page.get_by_label("Kind").select_option("short_text")
        page.get_by_label("Question", exact=True).fill("Capital of France?")
        page.get_by_label("Accepted answers, one per line").fill("Paris\n\n  Lutetia \n")
        page.get_by_label("Case sensitive").check()
        assert _unlabelled_controls(page) == []
        _save_question(page, "Question added")
        [item] = _items(client, course_id, teacher)
        assert item["answer"] == {"accepted": ["Paris", "Lutetia"], "case_sensitive": True}
        assert item["choices"] is None
        assert (
            "accepts Paris / Lutetia (case sensitive)"
            in page.locator(f'li[data-item="{item["id"]}"]').inner_text()
        )

        # The same question made multiple choice: its answer and choices follow the kind.
        page.locator(f'li[data-item="{item["id"]}"] button.edit').click()
        assert page.get_by_label("Case sensitive").is_checked()
        page.get_by_label("Kind").select_option("multiple_choice")
        _fill_choices(page, ["Lyon", "Paris"], correct={1})
        _save_question(page, "Question saved")
        changed = client.get(f"{base}/items/{item['id']}", headers=teacher).get_json()
        assert changed["kind"] == "multiple_choice"
        assert changed["choices"] == [{"id": "a", "text": "Lyon"}, {"id": "b", "text": "Paris"}]
        assert changed["answer"] == {"correct": ["b"]}
        _no_sideways_scroll(page)
