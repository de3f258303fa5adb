"""Platform key rotation mid-day, and several platforms (tenants) side by side."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.identity.models import User
from masteryai_lti.lti.models import LtiRegistration
from tests.integration.lti.conftest import launch
from tests.lti_platform import TestPlatform


def _session(response) -> dict:
    match = re.search(
        r'id="masteryai-session" type="application/json">(.*?)</script>',
        response.get_data(as_text=True),
    )
    assert match, response.get_data(as_text=True)
    return json.loads(match.group(1))


def test_platform_rotating_its_key_mid_day_needs_no_restart(app, client, platform):
    assert launch(client, platform, "student").status_code == 200
    assert platform.jwks_requests == 1  # cached from now on

    assert launch(client, platform, "teacher").status_code == 200
    assert platform.jwks_requests == 1  # served from the cache

    platform.rotate_key()  # the old key leaves the platform's JWKS at once
    response = launch(client, platform, "student")

    assert response.status_code == 200
    assert 'data-page="student"' in response.get_data(as_text=True)
    assert platform.jwks_requests == 2  # refetched once for the new kid


def test_two_platforms_keep_their_users_apart(app, platform):
    with TestPlatform(context_id="other-course", context_title="Biology") as other:
        other.register_in(app)
        alice = _session(launch(app.test_client(), platform, "teacher"))
        bob = _session(launch(app.test_client(), other, "teacher"))
        client = app.test_client()

        own = client.get(
            f"/api/v1/courses/{alice['course_id']}",
            headers={"Authorization": f"Bearer {alice['token']}"},
        )
        foreign = client.get(
            f"/api/v1/courses/{bob['course_id']}",
            headers={"Authorization": f"Bearer {alice['token']}"},
        )
        listed = client.get(
            "/api/v1/courses", headers={"Authorization": f"Bearer {alice['token']}"}
        )

    assert own.status_code == 200
    assert foreign.status_code == 404
    assert [c["title"] for c in listed.get_json()] == ["Algebra I"]
    with app.app_context():
        institutions = {u.institution_id for u in db.session.scalars(select(User))}
        assert len(institutions) == 2


def test_same_sub_on_two_platforms_is_two_people(app, platform):
    # Same sub and same context id on another platform: still another person, another course.
    with TestPlatform() as other:
        other.register_in(app)
        first = _session(launch(app.test_client(), platform, "student"))
        second = _session(launch(app.test_client(), other, "student"))

    assert first["course_id"] != second["course_id"]
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 2


def test_one_issuer_with_two_client_ids_is_two_tenants(app, platform):
    # Hosted Canvas: one issuer, one client_id (developer key) per institution.
    twin = TestPlatform(client_id="tool-client-2", keys=platform.keys)
    twin.port = platform.port  # same issuer URL, same keys; only the client_id differs
    twin.register_in(app)

    first = _session(launch(app.test_client(), platform, "teacher"))
    second = _session(launch(app.test_client(), twin, "teacher"))

    with app.app_context():
        registrations = db.session.scalars(select(LtiRegistration)).all()
        assert {r.issuer for r in registrations} == {platform.issuer}
        assert len({r.institution_id for r in registrations}) == 2
    assert first["course_id"] != second["course_id"]


def test_a_token_for_one_client_cannot_complete_the_others_login(app, platform):
    twin = TestPlatform(client_id="tool-client-2", keys=platform.keys)
    twin.port = platform.port
    twin.register_in(app)
    client = app.test_client()
    from tests.integration.lti.conftest import login

    auth_url = login(client, platform, "teacher")
    _, form = twin.authorize(auth_url, "teacher")  # signed for tool-client-2

    response = client.post("/lti/launch", data=form)

    assert response.status_code == 401
    assert 'data-reason="audience"' in response.get_data(as_text=True)
