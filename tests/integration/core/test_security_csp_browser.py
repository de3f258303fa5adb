"""The Content-Security-Policy breaks none of the pages it covers: Chromium reports no
script, style, font, worker or fetch it blocked on the API docs (Swagger UI, ReDoc).

ReDoc's bundle shows a logo from its makers' CDN; the policy blocks that image, which is
wanted (the docs make no request to a third party), and the page works without it."""

from __future__ import annotations

import pytest

from tests.browser import BROWSER_MARKS, CHROMIUM, served

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/api/docs", ".swagger-ui .info"), ("/api/redoc", ".redoc-wrap")],
)
def test_pages_run_under_their_policy_without_violations(app, path, ready):
    from playwright.sync_api import sync_playwright

    violations = []
    with served(app) as port, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text)
                    if "Content Security Policy" in message.text and "img-src" not in message.text
                    else None
                ),
            )
            response = page.goto(f"http://127.0.0.1:{port}{path}")
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            page.wait_for_selector(ready, timeout=20000)
        finally:
            browser.close()
    assert violations == []


def test_the_lms_pages_run_under_their_policy_without_violations(app):
    """Through the sandbox LMS: deep-linking picker, its answer, the student's player and
    the teacher's dashboard, each inside the LMS's frame."""
    from playwright.sync_api import sync_playwright

    from masteryai_lti.cli import demo_command
    from tests.integration.lti.test_sandbox_browser import _add_adaptive_practice

    assert app.test_cli_runner().invoke(demo_command).exit_code == 0
    violations = []
    with served(app) as port, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            tool, added = _add_adaptive_practice(page, f"http://127.0.0.1:{port}/lti/sandbox/")
            added.locator("[data-open=student]").click()
            tool.locator("#player form.item").wait_for(timeout=20_000)
            page.locator("#activities [data-open=teacher]").first.click()
            tool.locator("#engagement[data-ready=yes]").wait_for(timeout=20_000)
        finally:
            browser.close()
    assert violations == []
