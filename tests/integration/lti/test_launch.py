"""Login → launch → landing page, for Instructor and Learner, with what a launch records."""

from __future__ import annotations

import json

from flask_jwt_extended import decode_token
from sqlalchemy import select

from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import User, UserIdentity
from masteryai_lti.lti.models import LaunchRecord, LtiDeployment, ResourceLink
from tests.integration.lti.conftest import counts, launch, login
from tests.lti_platform import ROLE_ADMIN, PlatformUser


def _session_of(html: str) -> dict:
    import json
    import re

    match = re.search(r'id="masteryai-session" type="application/json">(.*?)</script>', html)
    assert match, "the landing page carries the session"
    return json.loads(match.group(1))


def test_instructor_lands_on_teacher_page_and_is_recorded(app, client, platform):
    response = launch(client, platform, "teacher")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-page="teacher"' in html
    assert "Algebra I" in html and "Tess Teacher" in html
    with app.app_context():
        identity = db.session.scalar(select(UserIdentity).where(UserIdentity.kind == "lti"))
        assert identity.value == f"{platform.issuer}|teacher-sub-1"
        user = db.session.get(User, identity.user_id)
        assert user.role == "teacher" and user.full_name == "Tess Teacher"
        course = db.session.scalar(select(Course))
        assert course.lti_context_id == platform.context_id
        assert course.institution_id == user.institution_id
        enrollment = db.session.scalar(select(Enrollment))
        assert (enrollment.user_id, enrollment.course_id, enrollment.role, enrollment.source) == (
            user.id,
            course.id,
            "teacher",
            "lti",
        )
        link = db.session.scalar(select(ResourceLink))
        assert link.resource_link_id == platform.resource_link_id
        assert link.course_id == course.id
        assert link.ags_lineitem_url.endswith("/lineitems/1")
        assert link.ags_lineitems_url.endswith("/lineitems")
        assert "score" in " ".join(link.ags_endpoint["scope"])
        assert link.nrps_context_memberships_url == platform.base_url + "/nrps/course-ctx-1"
        record = db.session.scalar(select(LaunchRecord))
        assert record.user_id == user.id and record.role == "teacher"
        assert record.state_binding == "cookie"


def test_learner_lands_on_student_page_with_a_session_token(app, client, platform):
    response = launch(client, platform, "student")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-page="student"' in html
    session = _session_of(html)
    assert session["role"] == "student"
    with app.app_context():
        enrollment = db.session.scalar(select(Enrollment))
        assert enrollment.role == "student"
        claims = decode_token(session["token"])
        assert claims["sub"] == str(enrollment.user_id)
        assert claims["lti_launch"] == session["launch_id"]
        assert claims["course_id"] == enrollment.course_id
    # No session cookie: the session travels in the page.
    assert not [c for c in response.headers.getlist("Set-Cookie") if "session=" in c]


def test_session_token_reaches_the_rest_api_for_own_course(client, platform):
    html = launch(client, platform, "teacher").get_data(as_text=True)
    session = _session_of(html)

    response = client.get(
        f"/api/v1/courses/{session['course_id']}",
        headers={"Authorization": f"Bearer {session['token']}"},
    )

    assert response.status_code == 200
    assert response.get_json()["title"] == "Algebra I"


def test_second_launch_reuses_user_course_and_enrollment(app, client, platform):
    launch(client, platform, "student")
    before = counts(app)

    response = launch(client, platform, "student")

    after = counts(app)
    assert response.status_code == 200
    assert (after.users, after.enrollments, after.courses) == (
        before.users,
        before.enrollments,
        before.courses,
    )
    assert after.launches == before.launches + 1


def test_each_learner_launch_is_one_engagement_signal(app, client, platform):
    from masteryai_lti.engagement.models import EngagementEvent

    launch(client, platform, "teacher")
    launch(client, platform, "student")
    launch(client, platform, "student")

    with app.app_context():
        events = db.session.scalars(select(EngagementEvent)).all()
        records = db.session.scalars(
            select(LaunchRecord).where(LaunchRecord.role == "student")
        ).all()
        assert sorted(e.source_id for e in events) == sorted(r.launch_id for r in records)
        assert {(e.kind, e.source, e.user_id, e.course_id) for e in events} == {
            ("launch", "lti", records[0].user_id, records[0].course_id)
        }
        assert len(events) == 2


def test_login_by_post_is_accepted(client, platform):
    response = client.post("/lti/login", data=platform.login_params("student"))

    assert response.status_code == 302
    assert response.headers["Location"].startswith(platform.auth_url + "?")


def test_state_cookie_is_samesite_none_secure_behind_https(client, platform):
    response = client.get(
        "/lti/login",
        query_string=platform.login_params("student"),
        base_url="https://localhost",
    )

    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "lti1p3-state-" in c)
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie
    # Partitioned (CHIPS): kept in the LMS's frame by browsers blocking third-party cookies.
    assert "Partitioned" in cookie


def test_a_login_in_a_frame_checks_the_cookie_before_going_to_the_lms(client, platform):
    params = platform.login_params("student")

    response = client.get(
        "/lti/login",
        query_string=params,
        base_url="https://localhost",
        headers={"Sec-Fetch-Dest": "iframe"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-page="lti-login-cookie-check"' in html
    assert any("lti1p3-state-" in c for c in response.headers.getlist("Set-Cookie"))
    # The way on to the LMS, and a new window restarting the same login.
    assert json.dumps(platform.auth_url)[:-1] in html
    assert 'target="_blank"' in html
    for name, value in params.items():
        assert f'name="{name}" value="{value}"' in html
    # A top-level login (a new window, or no frame) goes straight to the LMS.
    top_level = client.get(
        "/lti/login", query_string=params, headers={"Sec-Fetch-Dest": "document"}
    )
    assert top_level.status_code == 302


def test_proxy_headers_make_the_cookie_secure(make_app, platform):
    app = make_app(TRUSTED_PROXY_COUNT=1)
    client = app.test_client()

    response = client.get(
        "/lti/login",
        query_string=platform.login_params("student"),
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"},
    )

    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "lti1p3-state-" in c)
    assert "Secure" in cookie and "SameSite=None" in cookie
    assert response.headers["Location"].count("redirect_uri=https%3A%2F%2F") == 1


def test_unseen_deployment_is_accepted_and_recorded_by_default(app, client, platform):
    response = launch(
        client,
        platform,
        "student",
        extra_claims={"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "copy-42"},
    )

    assert response.status_code == 200
    with app.app_context():
        deployment = db.session.scalar(
            select(LtiDeployment).where(LtiDeployment.deployment_id == "copy-42")
        )
        assert deployment is not None and deployment.source == "launch"


def test_administrator_becomes_institution_admin_and_course_teacher(app, client, platform):
    platform.users["admin"] = PlatformUser("admin-sub", [ROLE_ADMIN], "Ada Admin")

    response = launch(client, platform, "admin")

    assert 'data-page="teacher"' in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.full_name == "Ada Admin"))
        assert user.role == "admin"
        assert db.session.scalar(select(Enrollment.role)) == "teacher"


def test_email_claim_links_an_xapi_mbox_identity(app, client, platform):
    platform.users["student"].email = "Sam@School.example"

    launch(client, platform, "student")

    with app.app_context():
        values = set(db.session.scalars(select(UserIdentity.value)))
        assert "mailto:sam@school.example" in values


def test_login_redirect_carries_the_oidc_parameters(client, platform):
    auth_url = login(client, platform, "teacher")

    from urllib.parse import parse_qs, urlsplit

    query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
    assert query["scope"] == "openid"
    assert query["response_type"] == "id_token"
    assert query["response_mode"] == "form_post"
    assert query["prompt"] == "none"
    assert query["client_id"] == platform.client_id
    assert query["login_hint"] == "teacher-sub-1"
    assert query["lti_message_hint"] == "teacher"
    assert query["redirect_uri"] == "http://localhost/lti/launch"
    assert len(query["nonce"]) >= 32 and query["state"]


def test_a_parent_or_mentor_is_told_there_is_no_view_and_nothing_is_recorded(app, client, platform):
    platform.users["parent"] = PlatformUser(
        "parent-sub", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"], "Pat Parent"
    )
    before = counts(app)

    response = launch(client, platform, "parent")

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert 'data-reason="role"' in html and "parents and mentors" in html
    assert counts(app) == before
