"""A real browser with third-party cookies refused still lands on the right page.

The LMS course page (the test platform, at 127.0.0.1) frames the tool (served
at ``localhost``: another site). Chromium runs with third-party cookies blocked;
besides, over plain http the tool's cookies are ``SameSite=Lax``, which browsers
refuse to set or send inside a cross-site frame. The launch must therefore go
through LTI client-side OIDC with platform storage (postMessage
``lti.put_data`` / ``lti.get_data``). The test checks that the launch POST really
carried no cookie, and that the learner lands on the student page.
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


@pytest.fixture
def browser_profile():
    # Chromium's own setting "Block third-party cookies", set in a fresh profile.
    directory = tempfile.mkdtemp(prefix="masteryai-chromium-")
    os.makedirs(os.path.join(directory, "Default"))
    with open(os.path.join(directory, "Default", "Preferences"), "w") as prefs:
        json.dump(
            {"profile": {"block_third_party_cookies": True, "cookie_controls_mode": 1}}, prefs
        )
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
            context = pw.chromium.launch_persistent_context(
                browser_profile,
                executable_path=CHROMIUM,
                headless=True,
                # The tool frame in the page's own process: with site isolation each
                # hop of the launch (platform, tool, platform, tool) swaps the frame's
                # process, and Playwright was seen to lose the frame on the last hop
                # (the landing loaded, the frame tree still showed /lti/launch). The
                # cookie policy under test does not depend on the process model.
                args=["--disable-site-isolation-trials"],
            )
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
                # The tool frame moves between processes on its way (platform → tool
                # login → platform auth → tool launch → confirm); a wait that began in
                # a frame being replaced can end early, so wait again until the deadline.
                # Only calls with their own time limit: Frame.content() on a frame
                # being replaced was seen to wait forever.
                deadline = time.monotonic() + 45
                while True:
                    try:
                        landing.wait_for(timeout=5000)
                        break
                    except playwright_api.Error:
                        if time.monotonic() > deadline:
                            frames = ", ".join(f.url for f in page.frames)
                            pytest.fail(f"no landing within 45 s; frames at: {frames}")
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
