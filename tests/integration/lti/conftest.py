"""Fixtures for LTI integration tests: a test platform on loopback and launch helpers."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.lti_platform import TestPlatform


@pytest.fixture
def platform(app):
    """A started platform registered in the tool (tool URLs: Flask's test client host)."""
    with TestPlatform() as started:
        started.register_in(app)
        yield started


@pytest.fixture
def services_platform(app):
    """A started platform with AGS, NRPS and token services, registered in the tool."""
    from tests.integration.lti.services_support import started_services_platform

    yield from started_services_platform(app)


@pytest.fixture
def live_tool(app):
    """The tool served over real HTTP on loopback (for platform→tool calls and browsers)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def login(client, platform: TestPlatform, user: str = "student", **extra) -> str:
    """Run the third-party initiated login; returns the platform auth URL it redirects to."""
    response = client.get("/lti/login", query_string=platform.login_params(user, **extra))
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def launch(client, platform: TestPlatform, user: str = "student", **authorize_kwargs):
    """login → platform auth → launch POST; returns the launch response."""
    auth_url = login(client, platform, user)
    redirect_uri, form = platform.authorize(auth_url, user, **authorize_kwargs)
    assert redirect_uri == "http://localhost/lti/launch"
    return client.post("/lti/launch", data=form)


@dataclass(frozen=True)
class Counts:
    users: int
    enrollments: int
    launches: int
    courses: int


def counts(app) -> Counts:
    """How many users, enrollments, launches and courses exist (refusals must add none)."""
    from masteryai_lti.courses.models import Course, Enrollment
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.models import User
    from masteryai_lti.lti.models import LaunchRecord

    with app.app_context():
        return Counts(
            *(
                db.session.scalar(select(func.count()).select_from(model))
                for model in (User, Enrollment, LaunchRecord, Course)
            )
        )
