"""Helpers shared by the AGS, NRPS and registration tests.

Each test module declares its own ``services_platform`` fixture as
``yield from started_services_platform(app)``, so the LTI core conftest stays
untouched.
"""

from __future__ import annotations

from sqlalchemy import select

from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
from masteryai_lti.identity.models import User
from masteryai_lti.lti import keys
from masteryai_lti.lti.models import ResourceLink
from tests.factories import bearer
from tests.integration.lti.conftest import launch
from tests.lti_platform_services import ServicesPlatform


def jwks_reader(app):
    """The tool's JWKS read from its database (no tool HTTP server in these tests)."""

    def read() -> dict:
        with app.app_context():
            return keys.public_jwks()

    return read


def started_services_platform(app):
    """A started platform with AGS/NRPS/token services, registered in the tool."""
    with ServicesPlatform() as started:
        started.tool_jwks_provider = jwks_reader(app)
        started.register_in(app)
        yield started


def lti_user(app, platform, who: str) -> User:
    """The tool's user for a platform user ("teacher", "student")."""
    with app.app_context():
        sub = platform.users[who].sub
        registration_institution = db.session.scalar(select(ResourceLink.institution_id).limit(1))
        user = identity.find_user_by_identity(
            registration_institution, "lti", f"{platform.issuer}|{sub}"
        )
        assert user is not None, f"{who} has launched"
        db.session.expunge(user)
        return user


def launched_course(app, client, platform, *who: str) -> tuple[int, int]:
    """Launch as each of ``who``; returns (course id, resource link pk)."""
    for person in who:
        response = launch(client, platform, person)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    with app.app_context():
        course = db.session.scalar(
            select(Course).where(Course.lti_context_id == platform.context_id)
        )
        link = db.session.scalar(select(ResourceLink).where(ResourceLink.course_id == course.id))
        return course.id, link.id


def auth_for(app, user: User) -> dict:
    """A bearer header for ``user``."""
    with app.app_context():
        return bearer(user)
