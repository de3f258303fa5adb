"""Server-side request forgery: the URLs a platform chooses reach public addresses only.

Dynamic registration is open to anyone (unless the operator lists hosts), and a
registered platform names the service URLs of every launch. With
``OUTBOUND_ALLOW_PRIVATE_ADDRESSES`` off (production's default) none of them may make
this server call an internal address. The test platforms run on loopback, which is
exactly such an address: each test checks that the platform received nothing.
"""

from __future__ import annotations

import gzip
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from sqlalchemy import func, select

from masteryai_lti.core.outbound_http import (
    MAX_RESPONSE_BYTES,
    SETTING,
    ResponseTooLarge,
    is_public_address,
    public_session,
)
from masteryai_lti.extensions import db
from masteryai_lti.lti.models import LtiRegistration
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import auth_for, launched_course, lti_user
from tests.lti_platform_services import ServicesPlatform


@contextmanager
def private_addresses_refused(app):
    before = app.config[SETTING]
    app.config[SETTING] = False
    try:
        yield
    finally:
        app.config[SETTING] = before


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_internal_addresses_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_internet_addresses_are_public(address):
    assert is_public_address(address)


def test_dynamic_registration_does_not_fetch_an_internal_address(app, client):
    with ServicesPlatform() as lms, private_addresses_refused(app):
        response = client.get(
            "/lti/register",
            query_string={
                "openid_configuration": lms.openid_configuration_url,
                "registration_token": lms.registration_token,
            },
        )
        assert response.status_code == 502
        page = response.get_data(as_text=True)
        assert "not a public address" in page and SETTING in page
        assert "Connection aborted" not in page, "the reason, not urllib3's wrapping"
        assert lms.config_requests == [] and lms.registrations == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LtiRegistration)) == 0


def test_a_launch_does_not_fetch_a_key_set_on_an_internal_address(app, client, platform):
    with private_addresses_refused(app):
        response = launch(client, platform, "student")

    assert response.status_code == 502
    # The admin reads why, and which setting an LMS on a private network needs.
    assert SETTING in response.get_data(as_text=True)
    assert platform.jwks_requests == 0


def test_a_grade_is_not_posted_to_a_service_url_on_an_internal_address(
    app, client, services_platform
):
    """The launch's AGS claim names the line item URL: a platform could name any address."""
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher, student = lti_user(app, platform, "teacher"), lti_user(app, platform, "student")
    calls_before = (len(platform.token_requests), len(platform.service_requests))

    with private_addresses_refused(app):
        response = client.post(
            f"/api/v1/courses/{course_id}/grade-posts",
            json={
                "resource_link_pk": link_pk,
                "user_id": student.id,
                "score_given": 1.0,
                "score_maximum": 1.0,
            },
            headers=auth_for(app, teacher),
        )

    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] != "sent"
    assert "not a public address" in response.get_json()["last_error"]
    assert platform.scores == []
    assert (len(platform.token_requests), len(platform.service_requests)) == calls_before


def test_a_host_name_resolving_to_an_internal_address_is_refused(app):
    """The address is checked where the socket connected, not on the URL's text, so a
    name (or a redirect, or a DNS answer that changes) cannot smuggle one in."""
    with ServicesPlatform() as inner, app.app_context(), private_addresses_refused(app):
        url = inner.openid_configuration_url.replace("127.0.0.1", "localhost")
        with pytest.raises(requests.ConnectionError, match="not a public address"):
            public_session().get(url, timeout=5)
        assert inner.config_requests == []


class _Oversized(BaseHTTPRequestHandler):
    """Answers as a hostile platform could: too long, declared or not, or a gzip bomb."""

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        size = MAX_RESPONSE_BYTES + 1
        if self.path == "/declared":
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.write(b"{" + b" " * 1024)  # the client must not wait for the rest
        elif self.path == "/gzip":
            body = gzip.compress(b" " * size)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:  # undeclared: read until the connection closes
            self.send_response(200)
            self.end_headers()
            chunk = b" " * 65536
            for _ in range(size // len(chunk) + 1):
                self.wfile.write(chunk)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def oversized():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Oversized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("path", ["/declared", "/undeclared", "/gzip"])
def test_an_answer_too_large_fails_the_call_not_the_worker(app, oversized, path):
    with app.app_context(), public_session() as session:
        with pytest.raises(ResponseTooLarge):
            session.get(oversized + path, timeout=10)
