"""A real browser with third-party cookies refused still lands on the right page.

The LMS course page (the test platform, at 127.0.0.1) frames the tool (served
at ``localhost``: another site). Chromium runs with third-party cookies blocked.
Where the browser keeps no cookie of the tool's in the frame at all (Safari; a
content rule imitates it here), the launch goes through LTI client-side OIDC with
platform storage (postMessage ``lti.put_data`` / ``lti.get_data``) when the LMS
offers it, and otherwise (Moodle) through a new window the frame offers. Where it
keeps partitioned cookies (Chromium), the login cookie does.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time

import pytest

from tests.browser import BROWSER_MARKS, CHROMIUM, served
from tests.integration.lti.conftest import counts
from tests.lti_platform import TestPlatform

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS


@pytest.fixture
def tool_on_localhost(app):
    with served(app) as port:
        yield f"http://localhost:{port}"


def _profile(*, frames_keep_no_cookies: bool) -> str:
    # Chromium's own setting "Block third-party cookies", set in a fresh profile. It
    # still keeps partitioned (CHIPS) cookies in frames; Safari keeps none, which a
    # rule blocking the tool's cookies under the LMS's pages (and only there) imitates.
    directory = tempfile.mkdtemp(prefix="masteryai-chromium-")
    os.makedirs(os.path.join(directory, "Default"))
    profile: dict = {"block_third_party_cookies": True, "cookie_controls_mode": 1}
    if frames_keep_no_cookies:
        profile["content_settings"] = {
            "exceptions": {"cookies": {"http://localhost:*,http://127.0.0.1:*": {"setting": 2}}}
        }
    with open(os.path.join(directory, "Default", "Preferences"), "w") as prefs:
        json.dump({"profile": profile}, prefs)
    return directory


@pytest.fixture
def browser_profile():
    """A browser that keeps no cookie of the tool's in the LMS's frames (Safari)."""
    directory = _profile(frames_keep_no_cookies=True)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def chrome_profile():
    """Chromium blocking third-party cookies, partitioned ones excepted."""
    directory = _profile(frames_keep_no_cookies=False)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("person, page_name", [("student", "student"), ("teacher", "teacher")])
def test_launch_lands_right_with_third_party_cookies_refused(
    app, tool_on_localhost, browser_profile, person, page_name
):
    with TestPlatform() as platform:
        platform.register_in(app, tool_base_url=tool_on_localhost)
        launch_posts: list[dict] = []
        with playwright_api.sync_playwright() as pw:
            context = _browser(pw, browser_profile)
            try:
                page = context.new_page()
                page.on(
                    "request",
                    lambda r: (
                        launch_posts.append(r.headers)
                        if r.method == "POST" and r.url.endswith("/lti/launch")
                        else None
                    ),
                )
                page.goto(f"{platform.base_url}/course?user={person}")
                frame = page.frame_locator("#tool")
                landing = frame.locator(f'main[data-page="{page_name}"]')
                _wait_for(landing, page)
                # The landing's dashboard reads the API as it loads; let it finish, so
                # that no request is in flight when the browser closes.
                frame.locator("[data-ready=yes]").wait_for(timeout=30000)
                text = landing.inner_text()
                token_ok = landing.evaluate(
                    "() => typeof window.masteryai.token === 'string' "
                    "&& window.masteryai.token.length > 20"
                )
                tool_cookies = [c for c in context.cookies() if c["domain"] == "localhost"]
            finally:
                context.close()

    assert "Algebra I" in text
    assert token_ok
    assert len(launch_posts) == 1
    assert "cookie" not in {k.lower() for k in launch_posts[0]}  # the launch came cookie-less
    assert tool_cookies == []
    assert counts(app).launches == 1
    with app.app_context():
        from sqlalchemy import select

        from masteryai_lti.extensions import db
        from masteryai_lti.lti.models import LaunchRecord

        record = db.session.scalar(select(LaunchRecord))
        assert record.state_binding == "platform_storage"
        assert record.role == page_name


def _wait_for(locator, page, seconds: float = 45) -> None:
    """Wait for ``locator`` while the tool frame moves between processes on its way
    (platform → tool login → platform auth → tool launch → confirm): a wait that began
    in a frame being replaced can end early, so wait again until the deadline. Only
    calls with their own time limit: Frame.content() on a frame being replaced was
    seen to wait forever."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            locator.wait_for(timeout=5000)
            return
        except playwright_api.Error:
            if time.monotonic() > deadline:
                frames = ", ".join(f.url for f in page.frames)
                pytest.fail(f"nothing within {seconds} s; frames at: {frames}")


def _browser(pw, profile):
    # The tool frame in the page's own process: with site isolation each hop of the
    # launch (platform, tool, platform, tool) swaps the frame's process, and Playwright
    # was seen to lose the frame on the last hop (the landing loaded, the frame tree
    # still showed /lti/launch). The cookie policy under test does not depend on it.
    return pw.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=["--disable-site-isolation-trials"],
    )


def _binding_of_the_launch(app) -> tuple[str, str]:
    with app.app_context():
        from sqlalchemy import select

        from masteryai_lti.extensions import db
        from masteryai_lti.lti.models import LaunchRecord

        record = db.session.scalar(select(LaunchRecord))
        return record.state_binding, record.role


def test_without_platform_storage_chromium_keeps_the_partitioned_login_cookie(
    app, tool_on_localhost, chrome_profile
):
    """Moodle offers no platform storage: in Chromium blocking third-party cookies the
    partitioned login cookie still ties the launch to its login, inside the frame."""
    with TestPlatform() as platform:
        platform.register_in(app, tool_base_url=tool_on_localhost)
        with playwright_api.sync_playwright() as pw:
            context = _browser(pw, chrome_profile)
            try:
                page = context.new_page()
                page.goto(f"{platform.base_url}/course?user=student&storage=none")
                frame = page.frame_locator("#tool")
                _wait_for(frame.locator('main[data-page="student"]'), page)
                frame.locator("[data-ready=yes]").wait_for(timeout=30000)
                # The page asked the LMS to fit the frame to it (lti.frameResize).
                page.wait_for_function("window.frameResized > 0", timeout=10000)
                resized = page.evaluate("window.frameResized")
                content = frame.locator("html").evaluate("e => e.scrollHeight")
            finally:
                context.close()

    assert _binding_of_the_launch(app) == ("cookie", "student")
    assert resized == content


def test_without_platform_storage_a_browser_keeping_no_cookie_launches_in_a_new_window(
    app, tool_on_localhost, browser_profile
):
    """Moodle offers no platform storage and Safari keeps no cookie in the frame: the
    frame offers a new window, where the launch completes as a first-party page."""
    with TestPlatform() as platform:
        platform.register_in(app, tool_base_url=tool_on_localhost)
        with playwright_api.sync_playwright() as pw:
            context = _browser(pw, browser_profile)
            try:
                page = context.new_page()
                page.goto(f"{platform.base_url}/course?user=student&storage=none")
                frame = page.frame_locator("#tool")
                button = frame.locator("#open-new-window")
                _wait_for(button, page)
                explanation = frame.locator("#new-window").inner_text()
                with context.expect_page() as opened:
                    button.click()
                window = opened.value
                landing = window.locator('main[data-page="student"]')
                _wait_for(landing, window)
                window.locator("[data-ready=yes]").wait_for(timeout=30000)
                text = landing.inner_text()
            finally:
                context.close()

    assert "blocks cookies" in explanation
    assert "Algebra I" in text
    assert counts(app).launches == 1
    assert _binding_of_the_launch(app) == ("cookie", "student")
