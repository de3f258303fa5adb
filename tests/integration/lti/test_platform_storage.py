"""Launches without third-party cookies: LTI client-side OIDC with platform storage.

These drive the HTTP side the way a browser would when it drops the tool's
cookies; the browser test (test_browser_cookies_blocked.py) runs the real
postMessage exchange in Chromium.
"""

from __future__ import annotations

import json
import re

from tests.integration.lti.conftest import Counts, counts


def _json_in(html: str, element_id: str) -> dict:
    match = re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html)
    assert match, html
    return json.loads(match.group(1))


def _login_with_storage(app, platform):
    """Login with lti_storage_target in a browser that keeps no cookies."""
    browser = app.test_client(use_cookies=False)
    params = platform.login_params("student", lti_storage_target="_parent")
    response = browser.get("/lti/login", query_string=params)
    return browser, response


def _launch_page(app, platform):
    browser, login = _login_with_storage(app, platform)
    html = login.get_data(as_text=True)
    auth_url = re.search(r"var authUrl = (\".*?\");", html).group(1)
    redirect_uri, form = platform.authorize(json.loads(auth_url), "student")
    return browser, form, browser.post("/lti/launch", data=form)


def test_login_stores_state_and_nonce_in_the_platform_frame(app, platform):
    _, response = _login_with_storage(app, platform)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-page="lti-login-storage"' in html
    config = _json_in(html, "lti-storage-config")
    assert config == {"origin": platform.base_url, "frame": "_parent"}
    assert "lti.put_data" in html
    assert "state_" in html and "nonce_" in html


def test_launch_without_cookie_waits_for_the_platform_storage_check(app, platform):
    _, _, response = _launch_page(app, platform)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-page="lti-launch-storage"' in html
    assert "lti.get_data" in html
    # Nothing is created until the browser proves it holds the login's state.
    assert counts(app) == Counts(0, 0, 0, 0)


def test_confirmed_launch_lands_on_the_right_page(app, platform):
    browser, form, response = _launch_page(app, platform)
    pending = re.search(r'name="pending" value="([^"]+)"', response.get_data(as_text=True))

    landing = browser.post(
        "/lti/launch/confirm", data={"pending": pending.group(1), "state": form["state"]}
    )

    html = landing.get_data(as_text=True)
    assert landing.status_code == 200
    assert 'data-page="student"' in html
    assert _json_in(html, "masteryai-session")["role"] == "student"
    assert counts(app).launches == 1


def test_confirmation_with_a_state_not_in_platform_storage_is_refused(app, platform):
    browser, _, response = _launch_page(app, platform)
    pending = re.search(r'name="pending" value="([^"]+)"', response.get_data(as_text=True))

    refused = browser.post(
        "/lti/launch/confirm", data={"pending": pending.group(1), "state": "someone-elses"}
    )

    assert refused.status_code == 400
    assert counts(app) == Counts(0, 0, 0, 0)


def test_a_confirmation_is_used_once(app, platform):
    browser, form, response = _launch_page(app, platform)
    pending = re.search(r'name="pending" value="([^"]+)"', response.get_data(as_text=True))
    data = {"pending": pending.group(1), "state": form["state"]}
    assert browser.post("/lti/launch/confirm", data=data).status_code == 200

    again = browser.post("/lti/launch/confirm", data=data)

    assert again.status_code == 400
    assert 'data-reason="replay"' in again.get_data(as_text=True)
    assert counts(app).launches == 1


def test_forged_confirmation_is_refused(app, platform):
    refused = app.test_client().post(
        "/lti/launch/confirm", data={"pending": "forged.token", "state": "x"}
    )

    assert refused.status_code == 400
    assert counts(app) == Counts(0, 0, 0, 0)
