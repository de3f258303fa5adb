"""A class launched from a test LMS, for the PBL browser tests.

A teacher and three students (Ada, Ben, Cal) each open the tool from the same course of
the test platform; each launch's landing page is kept with the Content-Security-Policy
the tool answered it with (its script nonce is in the page). :func:`shown` puts such a
page in headless Chromium at the tool's origin, under that policy, and fails the test if
Chromium reports a policy violation or a script error. The setup a test does not drive
through the page goes through the same REST API with the launch's session token.

The fixtures ``lms``, ``tool`` and ``world`` are the browser test modules' own: each
module binds them to a module name (``lms, tool, world = browser_world.lms, ...``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO

import pytest

from tests.browser import CHROMIUM, served
from tests.integration.lti.conftest import launch
from tests.lti_platform import LTI, LTI_AGS, ROLE_LEARNER, PlatformUser, TestPlatform

STUDENTS = {"ada": "Ada Lovelace", "ben": "Ben Okafor", "cal": "Cal Rivera"}
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True}
# The default rubric's levels: 1 Beginning, 2 Developing, 3 Proficient, 4 Exemplary.
GOOD = {"communication": 4, "collaboration": 4, "problem_solving": 4}
FAIR = {"communication": 3, "collaboration": 3, "problem_solving": 3}


@dataclass(frozen=True)
class Landing:
    """A launch's landing page, the policy it was served with, and its session."""

    html: str
    policy: str
    session: dict

    @property
    def headers(self) -> dict:
        """The page's own API credentials."""
        return {"Authorization": "Bearer " + self.session["token"]}

    @property
    def user_id(self) -> int:
        return self.session["user_id"]


@dataclass(frozen=True)
class LaunchedClass:
    """The course every launch landed in, its teacher's page and each student's."""

    course_id: int
    teacher: Landing
    students: dict[str, Landing]

    def url(self, path: str = "") -> str:
        return f"/api/v1/courses/{self.course_id}/projects{path}"

    def id_of(self, key: str) -> int:
        return self.students[key].user_id


@pytest.fixture
def lms(app):
    """A test LMS registered in the tool."""
    with TestPlatform() as platform:
        platform.register_in(app)
        yield platform


@pytest.fixture
def tool(app):
    """The tool on loopback, for Chromium."""
    with served(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def world(client, lms):
    """The teacher and Ada, Ben and Cal, launched from the test LMS's course."""
    return launched_class(client, lms)


def _landing(response) -> Landing:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    match = re.search(r'id="masteryai-session" type="application/json">(.*?)</script>', html)
    assert match, "the landing page carries the session"
    return Landing(html, response.headers["Content-Security-Policy"], json.loads(match.group(1)))


def launched_class(client, platform: TestPlatform) -> LaunchedClass:
    """The teacher, then Ada, Ben and Cal, launch from the platform's course."""
    for key, name in STUDENTS.items():
        platform.users[key] = PlatformUser(
            f"{key}-sub", [ROLE_LEARNER], name, f"{key}@school.example"
        )
    teacher = _landing(launch(client, platform, "teacher"))
    students = {key: _landing(launch(client, platform, key)) for key in STUDENTS}
    course_id = teacher.session["course_id"]
    assert course_id and all(s.session["course_id"] == course_id for s in students.values())
    return LaunchedClass(course_id, teacher, students)


def placed_launch(client, platform: TestPlatform, who: str, project: dict) -> Landing:
    """``who``'s launch (a student's or the teacher's) of the LMS link that places
    ``project`` (the resource link a deep-linked project becomes; the platform grants no
    grade service for it)."""
    claims = {
        LTI + "custom": {"masteryai_target": "project", "masteryai_id": str(project["id"])},
        LTI + "resource_link": {"id": f"project-link-{project['id']}", "title": "Bridge project"},
    }
    return _landing(
        launch(client, platform, who, extra_claims=claims, drop_claims=(LTI_AGS + "endpoint",))
    )


# -- setup through the API -----------------------------------------------------------------


def create_project(client, world: LaunchedClass, **fields) -> dict:
    reply = client.post(
        world.url(), json={"title": "Build a bridge", **fields}, headers=world.teacher.headers
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def create_group(client, world: LaunchedClass, project: dict, name: str, keys: list[str]) -> dict:
    reply = client.post(
        world.url(f"/{project['id']}/groups"),
        json={"name": name, "member_ids": [world.id_of(k) for k in keys]},
        headers=world.teacher.headers,
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def rate(
    client,
    world: LaunchedClass,
    project: dict,
    rater: str,
    ratee: str,
    ratings: dict,
    comment: str = "",
):
    reply = client.put(
        world.url(f"/{project['id']}/peer-ratings/{world.id_of(ratee)}"),
        json={"ratings": ratings, "comment": comment},
        headers=world.students[rater].headers,
    )
    assert reply.status_code == 200, reply.get_json()


def evaluate(
    client, world: LaunchedClass, project: dict, group: dict, ratings: dict, comment: str = ""
) -> dict:
    reply = client.put(
        world.url(f"/{project['id']}/groups/{group['id']}/evaluation"),
        json={"ratings": ratings, "comment": comment},
        headers=world.teacher.headers,
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def set_status(client, world: LaunchedClass, project: dict, status: str) -> dict:
    reply = client.patch(
        world.url(f"/{project['id']}"), json={"status": status}, headers=world.teacher.headers
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def upload(client, world: LaunchedClass, project: dict, student: str, name: str, content: bytes):
    reply = client.post(
        world.url(f"/{project['id']}/evidence/files"),
        data={"file": (BytesIO(content), name), "title": f"File {name}"},
        headers=world.students[student].headers,
        content_type="multipart/form-data",
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def api_get(client, world: LaunchedClass, path: str, who: Landing | None = None):
    reply = client.get(world.url(path), headers=(who or world.teacher).headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


# -- the page in Chromium ------------------------------------------------------------------


@dataclass
class Shown:
    """A page in Chromium and what it reported: policy violations and script errors."""

    page: object
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def shown(tool_url: str, landing: Landing, **context_options) -> Iterator[Shown]:
    """``landing`` in Chromium at ``tool_url`` (a phone's viewport unless ``context_options``
    say otherwise), served with its Content-Security-Policy; its scripts talk to the real
    tool over HTTP. On leaving, asserts that Chromium reported no policy violation and no
    uncaught script error."""
    from playwright.sync_api import sync_playwright

    options = {**PHONE, **context_options}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context(**options).new_page()
            view = Shown(page)
            page.on(
                "console",
                lambda message: (
                    view.violations.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            page.on("pageerror", lambda error: view.errors.append(str(error)))
            page.route(
                f"{tool_url}/lti/launch",
                lambda route: route.fulfill(
                    body=landing.html,
                    content_type="text/html",
                    headers={"Content-Security-Policy": landing.policy},
                ),
            )
            page.goto(f"{tool_url}/lti/launch")
            yield view
        finally:
            browser.close()
    assert view.violations == [], view.violations
    assert view.errors == [], view.errors


# The projects panels' states, set by their scripts once loaded.
TEACHER_READY = "#projects[data-state=ready]"
STUDENT_READY = "#my-projects[data-state=ready]"
PROJECT_LOADED = "#project[data-state=ready]:not([aria-busy])"


def open_project(page, title: str = "Build a bridge") -> None:
    """Pick the project on the teacher's panel and wait until it is loaded: its heading
    shows at once, but its groups, evaluations and scores come later and redraw it (a
    test that types in the meantime races with that)."""
    page.wait_for_selector(TEACHER_READY, timeout=20_000)
    page.get_by_role("button", name=title).click()
    until_said(page, "#project-name", title)
    page.wait_for_selector(PROJECT_LOADED, timeout=15_000)


def until_said(page, selector: str, said: str) -> None:
    """Wait until the element's text starts with ``said`` (a status, a heading)."""
    page.wait_for_function(
        "([selector, said]) => { const n = document.querySelector(selector);"
        " return n !== null && n.textContent.trim().startsWith(said); }",
        arg=[selector, said],
        timeout=15_000,
    )


def no_sideways_scroll(page) -> None:
    """The page is no wider than its viewport (a phone never scrolls it sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"


def focused(page) -> str:
    """The focused element as ``tag#id[type]:text`` (for assertions and their messages)."""
    return page.evaluate(
        "(() => { const e = document.activeElement;"
        " return e.tagName.toLowerCase() + '#' + e.id + (e.type ? '[' + e.type + ']' : '') +"
        " ':' + (e.textContent || '').trim().slice(0, 60); })()"
    )
