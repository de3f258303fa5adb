"""Dynamic registration in a real browser: the LMS frames /lti/register, the tool
registers itself, and its page closes the LMS's registration frame with
``org.imsglobal.lti.close`` (LTI Dynamic Registration 1.0 §3.7)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.lti.models import LtiRegistration
from tests.browser import BROWSER_MARKS, CHROMIUM, served
from tests.integration.lti.services_support import jwks_reader
from tests.lti_platform_services import ServicesPlatform

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = BROWSER_MARKS


@pytest.fixture
def tool_on_localhost(app):
    with served(app) as port:
        yield f"http://localhost:{port}"


def test_registration_frame_is_closed_by_the_tool(app, tool_on_localhost):
    with ServicesPlatform() as lms:
        lms.tool_jwks_provider = jwks_reader(app)
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page()
                page.goto(
                    f"{lms.base_url}/admin/register-tool?url={tool_on_localhost}/lti/register"
                )
                page.wait_for_function(
                    "document.getElementById('status').textContent.startsWith('closed')",
                    timeout=20000,
                )
                status = page.text_content("#status")
            finally:
                browser.close()

    assert status == f"closed by {tool_on_localhost}"
    assert lms.registrations[0]["initiate_login_uri"] == f"{tool_on_localhost}/lti/login"
    with app.app_context():
        registration = db.session.scalar(select(LtiRegistration))
        assert (registration.issuer, registration.client_id) == (lms.issuer, "dyn-client-1")


def test_a_registration_held_for_approval_stays_open_until_the_admin_closes_it(app, make_app):
    held = make_app(LTI_REGISTRATION_REQUIRES_APPROVAL=True)
    with served(held) as port, ServicesPlatform() as lms:
        tool = f"http://localhost:{port}"
        lms.tool_jwks_provider = jwks_reader(held)
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page()
                page.goto(f"{lms.base_url}/admin/register-tool?url={tool}/lti/register")
                frame = page.frame_locator("#registration")
                frame.locator("main[data-pending='true']").wait_for(timeout=20000)
                page.wait_for_timeout(500)
                # Still open: the admin can read the number to pass on.
                still_open = page.text_content("#status")
                text = frame.locator("main").inner_text()
                frame.locator("#close").click()
                page.wait_for_function(
                    "document.getElementById('status').textContent.startsWith('closed')",
                    timeout=10000,
                )
            finally:
                browser.close()

    assert still_open == "registering"
    assert "approve-platform" in text
