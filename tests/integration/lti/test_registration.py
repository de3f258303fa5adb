"""Install in one step: dynamic registration against the platform's openid-configuration,
then a launch with the registered client; Canvas JSON; `flask lti add-platform`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from masteryai_lti.extensions import db
from masteryai_lti.identity.models import Institution
from masteryai_lti.lti.models import LaunchRecord, LtiDeployment, LtiRegistration
from tests.integration.lti.conftest import counts, launch
from tests.integration.lti.services_support import jwks_reader
from tests.lti_platform_services import (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT,
    SCOPE_SCORE,
    ServicesPlatform,
)


@pytest.fixture
def lms(app):
    """A platform that knows nothing of the tool yet (not registered in it)."""
    with ServicesPlatform() as started:
        started.tool_jwks_provider = jwks_reader(app)
        yield started


def _register(client, platform, **extra):
    params = {
        "openid_configuration": platform.openid_configuration_url,
        "registration_token": platform.registration_token,
        **extra,
    }
    return client.get("/lti/register", query_string=params)


def _roster_synced_after_registration(app, client, platform):
    """Register, launch as the teacher, then sync the roster: the tool's first call to
    the platform's services with the client dynamic registration gave it."""
    from masteryai_lti.lti import roster
    from masteryai_lti.lti.models import ResourceLink

    assert _register(client, platform).status_code == 200
    assert launch(client, platform, "teacher").status_code == 200
    with app.app_context():
        course_id = db.session.scalar(select(ResourceLink.course_id))
        return roster.sync_course(course_id)


def _registrations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(LtiRegistration))


@pytest.mark.parametrize("answer_status", [201, 200])
def test_dynamic_registration_then_launch_with_the_registered_client(
    app, client, lms, answer_status
):
    lms.registration_status = answer_status

    response = _register(client, lms)

    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert 'data-page="lti-registration-complete"' in html
    assert "org.imsglobal.lti.close" in html and "postMessage" in html
    # The platform saw its own token on both calls and a complete client registration.
    assert lms.config_requests[0]["Authorization"] == f"Bearer {lms.registration_token}"
    [sent] = lms.registrations
    assert set(sent["scope"].split()) == {
        SCOPE_LINEITEM,
        SCOPE_LINEITEM_READONLY,
        SCOPE_SCORE,
        SCOPE_RESULT,
        SCOPE_NRPS,
    }
    tool_config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert [m["type"] for m in tool_config["messages"]] == [
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    ]
    assert sent["initiate_login_uri"] == "http://localhost/lti/login"
    assert sent["jwks_uri"] == "http://localhost/lti/jwks"
    assert sent["redirect_uris"] == ["http://localhost/lti/launch"]
    assert sent["token_endpoint_auth_method"] == "private_key_jwt"
    assert sent["grant_types"] == ["implicit", "client_credentials"]
    assert tool_config["domain"] == "localhost"
    with app.app_context():
        registration = db.session.scalar(select(LtiRegistration))
        assert (registration.issuer, registration.client_id) == (lms.issuer, "dyn-client-1")
        assert registration.status == "active"
        assert registration.platform_family == "moodle"
        assert registration.auth_login_url == lms.auth_url
        assert registration.auth_token_url == lms.token_url
        assert registration.key_set_url == lms.jwks_url
        deployment = db.session.scalar(select(LtiDeployment))
        assert deployment.deployment_id == "dyn-deployment-1"
        assert deployment.source == "registration"
        institution = db.session.get(Institution, registration.institution_id)
        assert institution.name.startswith("Moodle at 127.0.0.1")
        registration_id = registration.id

    launched = launch(client, lms, "teacher")

    assert launched.status_code == 200, launched.get_data(as_text=True)[:400]
    assert 'data-page="teacher"' in launched.get_data(as_text=True)
    with app.app_context():
        record = db.session.scalar(select(LaunchRecord))
        assert record.registration_id == registration_id
        assert record.claims["aud"] == "dyn-client-1"


def test_registered_platform_services_work_with_the_registered_client(app, client, lms):
    """After dynamic registration the platform's token endpoint accepts the tool's assertion."""
    report = _roster_synced_after_registration(app, client, lms)

    assert report.members == 2
    assert lms.token_requests[-1]["scope"] == SCOPE_NRPS


@pytest.mark.parametrize(
    "family, authorization_server, accepted_audience",
    [
        # Canvas publishes a bare host but accepts only its token URL as aud.
        ("canvas", "sso.canvas.example", None),
        # Elsewhere the declared authorization server is the audience (DR §3.4.1).
        ("moodle", "https://auth.lms.example/token", "https://auth.lms.example/token"),
    ],
)
def test_token_requests_use_the_audience_the_platform_accepts(
    app, client, lms, family, authorization_server, accepted_audience
):
    lms.product_family_code = family
    lms.authorization_server = authorization_server
    lms.token_audience = accepted_audience

    report = _roster_synced_after_registration(app, client, lms)

    assert report.members == 2
    assert lms.issued_tokens


def test_each_platform_registration_is_a_new_institution(app, client, lms):
    with ServicesPlatform() as second:
        second.tool_jwks_provider = jwks_reader(app)
        assert _register(client, lms).status_code == 200
        assert _register(client, second).status_code == 200
    with app.app_context():
        institutions = db.session.scalars(select(LtiRegistration.institution_id)).all()
    assert len(institutions) == 2 and len(set(institutions)) == 2


def test_registration_held_for_approval_until_the_admin_approves(make_app, lms):
    held_app = make_app(LTI_REGISTRATION_REQUIRES_APPROVAL=True)
    client = held_app.test_client()

    response = _register(client, lms)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-pending="true"' in page
    with held_app.app_context():
        registration_id = db.session.scalar(select(LtiRegistration.id))
    assert f"flask lti approve-platform {registration_id}" in page
    # The login tells the LMS admin the registration waits, and what to ask for.
    refused = client.get("/lti/login", query_string=lms.login_params("teacher"))
    assert refused.status_code == 403
    assert 'data-reason="pending"' in refused.get_data(as_text=True)
    assert f"flask lti approve-platform {registration_id}" in refused.get_data(as_text=True)

    result = held_app.test_cli_runner().invoke(
        args=["lti", "approve-platform", str(registration_id)]
    )

    assert result.exit_code == 0, result.output
    assert launch(client, lms, "teacher").status_code == 200


@pytest.mark.parametrize("allowed", ["lms.school.example", "*.school.example"])
def test_a_platform_outside_the_allowed_hosts_is_not_even_asked(make_app, lms, allowed):
    """A hosted tool's operator names the LMSs it serves; the tool's server then fetches
    no other address a stranger hands it, and no tenant is created for one."""
    guarded = make_app(LTI_REGISTRATION_ALLOWED_HOSTS=[allowed])

    response = _register(guarded.test_client(), lms)

    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert 'data-page="lti-registration-refused"' in page and "127.0.0.1" in page
    assert lms.config_requests == [] and lms.registrations == []
    assert _registrations(guarded) == 0


@pytest.mark.parametrize("allowed", [["127.0.0.1"], ["lms.school.example", "127.0.0.1"]])
def test_a_platform_among_the_allowed_hosts_registers(make_app, lms, allowed):
    guarded = make_app(LTI_REGISTRATION_ALLOWED_HOSTS=allowed)

    response = _register(guarded.test_client(), lms)

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert _registrations(guarded) == 1


def test_a_platform_naming_an_endpoint_outside_the_allowed_hosts_is_refused(make_app, lms):
    """The configuration's own host is allowed, but it points this server's next calls
    elsewhere: the registration is refused before any of them is made."""
    guarded = make_app(LTI_REGISTRATION_ALLOWED_HOSTS=["127.0.0.1"])
    original = lms.openid_configuration
    lms.openid_configuration = lambda: {
        **original(),
        "registration_endpoint": "https://internal.service.example/register",
    }

    response = _register(guarded.test_client(), lms)

    assert response.status_code == 403
    assert "internal.service.example" in response.get_data(as_text=True)
    assert lms.registrations == [] and _registrations(guarded) == 0


def test_registration_without_openid_configuration_explains_itself(app, client):
    response = client.get("/lti/register")

    assert response.status_code == 400
    assert "paste it into the LMS" in response.get_data(as_text=True)
    assert _registrations(app) == 0


def test_wrong_registration_token_is_refused_and_stores_nothing(app, client, lms):
    before = counts(app)

    response = _register(client, lms, registration_token="forged")

    assert response.status_code == 400
    assert 'data-page="lti-registration-refused"' in response.get_data(as_text=True)
    assert lms.registrations == []
    assert _registrations(app) == 0
    assert counts(app) == before


def test_issuer_on_another_host_is_refused(app, client, lms):
    original = lms.openid_configuration

    def spoofed():
        return {**original(), "issuer": "https://canvas.instructure.com"}

    lms.openid_configuration = spoofed

    response = _register(client, lms)

    assert response.status_code == 400
    assert "issuer" in response.get_data(as_text=True)
    assert lms.registrations == [] and _registrations(app) == 0


def test_issuer_on_another_port_of_the_same_host_is_refused(app, client, lms):
    with ServicesPlatform() as impostor:
        # Another service on the LMS's host claims the LMS's issuer.
        impostor.openid_configuration = lambda: {
            **ServicesPlatform.openid_configuration(impostor),
            "issuer": lms.issuer,
        }

        response = _register(client, impostor)

    assert response.status_code == 400
    assert "issuer" in response.get_data(as_text=True)
    assert impostor.registrations == [] and _registrations(app) == 0


@pytest.mark.parametrize("held", [False, True])
def test_a_registration_answer_naming_a_registered_client_changes_nothing(make_app, lms, held):
    """The (issuer, client_id) pair is public (every login URL carries it): whoever
    answers a registration with it must not take over the tenant's endpoints, nor
    lock the real LMS out by setting it pending."""
    client = make_app(LTI_REGISTRATION_REQUIRES_APPROVAL=held).test_client()
    assert _register(client, lms).status_code == 200
    if held:
        with client.application.app_context():
            registration_id = db.session.scalar(select(LtiRegistration.id))
        runner = client.application.test_cli_runner()
        assert runner.invoke(args=["lti", "approve-platform", str(registration_id)]).exit_code == 0
    lms.registrations.clear()  # the next answer names dyn-client-1 again
    original = lms.openid_configuration
    lms.openid_configuration = lambda: {
        **original(),
        "authorization_endpoint": lms.base_url + "/elsewhere/auth",
        "jwks_uri": lms.base_url + "/elsewhere/jwks",
    }

    response = _register(client, lms)

    assert response.status_code == 400
    assert "already registered" in response.get_data(as_text=True)
    with client.application.app_context():
        [registration] = db.session.scalars(select(LtiRegistration)).all()
        assert registration.client_id == "dyn-client-1"
        assert registration.auth_login_url == lms.auth_url
        assert registration.key_set_url == lms.jwks_url
        assert registration.status == "active"
    assert launch(client, lms, "teacher").status_code == 200


def test_platform_refusing_the_registration_is_reported(app, client, lms):
    lms.registration_status = 400

    response = _register(client, lms)

    assert response.status_code == 400
    assert "refused the registration" in response.get_data(as_text=True)
    assert _registrations(app) == 0


def test_unreachable_platform_is_a_502(app, client, lms):
    url = lms.openid_configuration_url
    lms.stop()
    try:
        response = client.get(
            "/lti/register", query_string={"openid_configuration": url, "registration_token": "t"}
        )
    finally:
        lms.start()
    assert response.status_code == 502
    assert _registrations(app) == 0


def test_plain_http_platform_refused_when_insecure_http_is_off(make_app, lms):
    strict = make_app(ALLOW_INSECURE_HTTP=False).test_client()

    response = _register(strict, lms)

    assert response.status_code == 400
    assert "https" in response.get_data(as_text=True)
    assert lms.registrations == []


def test_canvas_developer_key_json(client):
    response = client.get("/lti/config.json")

    assert response.status_code == 200
    config = response.get_json()
    assert config["oidc_initiation_url"] == "http://localhost/lti/login"
    assert config["target_link_uri"] == "http://localhost/lti/launch"
    assert config["public_jwk_url"] == "http://localhost/lti/jwks"
    assert set(config["scopes"]) == {
        SCOPE_LINEITEM,
        SCOPE_LINEITEM_READONLY,
        SCOPE_SCORE,
        SCOPE_RESULT,
        SCOPE_NRPS,
    }
    [extension] = config["extensions"]
    assert extension["platform"] == "canvas.instructure.com"
    placements = {p["placement"]: p["message_type"] for p in extension["settings"]["placements"]}
    assert placements == {
        "course_navigation": "LtiResourceLinkRequest",
        "assignment_selection": "LtiDeepLinkingRequest",
        "link_selection": "LtiDeepLinkingRequest",
    }


def test_add_platform_command_then_launch(app, client, runner, lms):
    result = runner.invoke(
        args=[
            "lti",
            "add-platform",
            "--issuer",
            lms.issuer,
            "--client-id",
            lms.client_id,
            "--auth-login-url",
            lms.auth_url,
            "--token-url",
            lms.token_url,
            "--jwks-url",
            lms.jwks_url,
            "--deployment-id",
            lms.deployment_id,
            "--institution-name",
            "Springfield High",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "Platform registration" in result.output
    lms.tool_login_url = "http://localhost/lti/login"
    lms.tool_launch_url = "http://localhost/lti/launch"
    lms.tool_jwks_url = "http://localhost/lti/jwks"
    assert launch(client, lms, "student").status_code == 200
    with app.app_context():
        institution = db.session.scalar(
            select(Institution).where(Institution.name == "Springfield High")
        )
        registration = db.session.scalar(select(LtiRegistration))
        assert registration.institution_id == institution.id
    listed = runner.invoke(args=["lti", "list-platforms"])
    assert lms.issuer in listed.output and "active" in listed.output


def test_registration_attempts_are_rate_limited(make_app, lms):
    limited = make_app(LTI_REGISTRATION_RATE_LIMIT="2 per hour").test_client()

    statuses = [
        limited.get(
            "/lti/register", query_string={"openid_configuration": "https://127.0.0.1:9/c"}
        ).status_code
        for _ in range(3)
    ]

    assert statuses[2] == 429
