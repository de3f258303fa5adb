"""What the browser tests share: Debian's Chromium, their marks, and the app on loopback.

Under CI=true a missing Chromium fails the run (.ci/run installs it); elsewhere the
browser tests are skipped with the reason.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and os.environ.get("CI", "").lower() != "true",
        reason=f"no Chromium at {CHROMIUM}",
    ),
]


@contextmanager
def served(app) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 from a thread; yields the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def landing_in_chromium(tool_url: str, landing_html: str, **context_options) -> Iterator:
    """The page a launch produced, shown in Chromium at the tool's origin (so its script
    talks to the real tool over HTTP); a phone's viewport unless ``context_options``
    say otherwise. Yields the Playwright page."""
    from playwright.sync_api import sync_playwright

    options = {"viewport": {"width": 375, "height": 720}, "is_mobile": True, **context_options}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context(**options).new_page()
            page.route(
                f"{tool_url}/lti/launch",
                lambda route: route.fulfill(body=landing_html, content_type="text/html"),
            )
            page.goto(f"{tool_url}/lti/launch")
            yield page
        finally:
            browser.close()
