"""The API docs render in a real headless Chromium, with no outside network."""

from __future__ import annotations

import pytest

from tests.browser import BROWSER_MARKS, CHROMIUM, served

pytestmark = BROWSER_MARKS

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(app):
    with served(app) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        # A script, style or data request off this machine would mean the docs
        # depend on a CDN; ReDoc's footer badge image is cosmetic and allowed.
        outside: list[str] = []

        def watch(request):
            local = request.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            cosmetic = request.url.endswith((".svg", ".png", ".ico"))
            if not local and not cosmetic:
                outside.append(request.url)

        context.on("request", watch)
        page = context.new_page()
        page.outside_requests = outside
        yield page
        browser.close()


def test_swagger_ui_lists_the_auth_endpoints(live_server, page):
    page.goto(f"{live_server}/api/docs")
    page.get_by_text("/api/v1/auth/login").first.wait_for(timeout=20_000)
    assert page.locator(".opblock").count() >= 10
    assert page.outside_requests == []


def test_redoc_renders_the_api(live_server, page):
    page.goto(f"{live_server}/api/redoc")
    page.get_by_text("Exchange e-mail and password").first.wait_for(
        state="attached", timeout=20_000
    )
    assert "MasteryAI-LTI" in page.locator("h1").first.inner_text()
    assert page.outside_requests == []
