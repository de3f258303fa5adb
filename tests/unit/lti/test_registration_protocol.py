"""Dynamic registration and Canvas configuration documents (pure)."""

from __future__ import annotations

import pytest

from masteryai_lti.lti.registration_protocol import (
    PLATFORM_CONFIGURATION,
    TOOL_CONFIGURATION,
    TOOL_SCOPES,
    RegistrationRefused,
    ToolEndpoints,
    canvas_developer_key,
    host_allowed,
    issuer_matches_configuration_url,
    parse_platform_configuration,
    parse_registration_response,
    registration_request,
)

TOOL = ToolEndpoints(
    login_url="https://tool.example/lti/login",
    launch_url="https://tool.example/lti/launch",
    jwks_url="https://tool.example/lti/jwks",
    deep_linking_url="https://tool.example/lti/launch",
    logo_url="https://tool.example/logo.png",
)
CONFIG_URL = "https://moodle.school.edu/mod/lti/openid-configuration.php"


def _document(**changes) -> dict:
    document = {
        "issuer": "https://moodle.school.edu",
        "authorization_endpoint": "https://moodle.school.edu/mod/lti/auth.php",
        "token_endpoint": "https://moodle.school.edu/mod/lti/token.php",
        "jwks_uri": "https://moodle.school.edu/mod/lti/certs.php",
        "registration_endpoint": "https://moodle.school.edu/mod/lti/openid-registration.php",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "id_token_signing_alg_values_supported": ["RS256"],
        PLATFORM_CONFIGURATION: {
            "product_family_code": "moodle",
            "version": "4.4",
            "messages_supported": [{"type": "LtiResourceLinkRequest"}],
        },
    }
    document.update(changes)
    return document


def test_parses_a_moodle_configuration():
    platform = parse_platform_configuration(_document(), CONFIG_URL)

    assert platform.issuer == "https://moodle.school.edu"
    assert platform.product_family_code == "moodle"
    assert platform.authorization_server is None
    # Moodle lists only resource links: the tool believes it.
    assert platform.deep_linking_supported is False


def test_empty_message_list_means_both_messages():
    document = _document()
    document[PLATFORM_CONFIGURATION]["messages_supported"] = []

    assert parse_platform_configuration(document, CONFIG_URL).deep_linking_supported


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"registration_endpoint": None}, "lacks registration_endpoint"),
        ({"token_endpoint": "http://moodle.school.edu/token"}, "https"),
        ({"issuer": "https://evil.example"}, "issuer"),
        ({"token_endpoint_auth_methods_supported": ["client_secret_basic"]}, "private_key_jwt"),
        ({"id_token_signing_alg_values_supported": ["HS256"]}, "RS256"),
    ],
)
def test_unusable_configurations_are_refused(changes, message):
    with pytest.raises(RegistrationRefused, match=message):
        parse_platform_configuration(_document(**changes), CONFIG_URL)


def test_not_an_object_is_refused():
    with pytest.raises(RegistrationRefused):
        parse_platform_configuration(["x"], CONFIG_URL)


def test_loopback_http_only_when_allowed():
    base = "http://127.0.0.1:5000"
    document = {
        name: base + "/" + name
        for name in (
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "registration_endpoint",
        )
    }
    document["issuer"] = base
    with pytest.raises(RegistrationRefused):
        parse_platform_configuration(document, base + "/.well-known/openid-configuration")
    assert (
        parse_platform_configuration(
            document, base + "/.well-known/openid-configuration", allow_insecure=True
        ).issuer
        == base
    )


@pytest.mark.parametrize(
    "issuer, config_url, ok",
    [
        ("https://moodle.school.edu", "https://moodle.school.edu/x", True),
        ("https://canvas.instructure.com", "https://school.instructure.com/api/x", True),
        ("https://canvas.instructure.com", "https://instructure.com.evil.io/x", False),
        ("https://lms.example", "https://evil.example/x", False),
        ("https://lms.example", "https://sub.lms.example/x", False),
        # Any host of a school's domain is not its LMS; another port is another service.
        ("https://moodle.school.edu", "https://people.school.edu/~x/cfg.json", False),
        ("https://moodle.school.edu", "https://moodle.school.edu:8443/cfg.json", False),
        ("https://moodle.school.edu", "https://moodle.school.edu:443/cfg.json", True),
        ("http://127.0.0.1:5001", "http://127.0.0.1:5002/cfg.json", False),
        ("not a url", "https://lms.example/x", False),
    ],
)
def test_issuer_host_rule(issuer, config_url, ok):
    assert issuer_matches_configuration_url(issuer, config_url) is ok


def test_registration_request_asks_for_every_scope_and_both_messages():
    platform = parse_platform_configuration(
        _document(**{PLATFORM_CONFIGURATION: {"messages_supported": []}}), CONFIG_URL
    )

    request = registration_request(TOOL, platform)

    assert request["scope"].split() == list(TOOL_SCOPES)
    assert len(TOOL_SCOPES) == 5
    assert request["token_endpoint_auth_method"] == "private_key_jwt"
    assert request["initiate_login_uri"] == TOOL.login_url
    assert request["redirect_uris"] == [TOOL.launch_url]
    assert request["logo_uri"] == TOOL.logo_url
    config = request[TOOL_CONFIGURATION]
    assert config["domain"] == "tool.example"
    # Canvas turns a message without placements into one link_selection entry, which
    # would leave no course navigation link and no assignment picker.
    assert [(m["type"], m["placements"]) for m in config["messages"]] == [
        ("LtiResourceLinkRequest", ["course_navigation"]),
        ("LtiDeepLinkingRequest", ["assignment_selection", "link_selection"]),
    ]
    # Every launch asks for the link's due date (LTI 1.3 core substitution variable).
    assert config["custom_parameters"] == {"due_at": "$ResourceLink.submission.endDateTime"}


def test_registration_response_with_and_without_deployment():
    answer = parse_registration_response(
        {"client_id": 42, "scope": "a b", TOOL_CONFIGURATION: {"deployment_id": 7}}
    )

    assert (answer.client_id, answer.deployment_id, answer.scopes) == ("42", "7", ("a", "b"))
    assert parse_registration_response({"client_id": "c"}).deployment_id is None
    with pytest.raises(RegistrationRefused):
        parse_registration_response({"error": "x"})


def test_canvas_developer_key_document():
    key = canvas_developer_key(TOOL)

    assert key["oidc_initiation_url"] == TOOL.login_url
    assert key["public_jwk_url"] == TOOL.jwks_url
    assert key["scopes"] == list(TOOL_SCOPES)
    assert key["extensions"][0]["domain"] == "tool.example"
    assert key["custom_fields"]["due_at"] == "$ResourceLink.submission.endDateTime"


@pytest.mark.parametrize(
    ("url", "allowed", "expected"),
    [
        ("https://evil.example/x", [], True),  # no list: any host
        ("https://moodle.school.example/x", ["moodle.school.example"], True),
        ("https://MOODLE.school.example:8443/x", ["moodle.school.example"], True),
        ("https://moodle.school.example./x", ["Moodle.School.Example"], True),
        ("https://other.school.example/x", ["moodle.school.example"], False),
        ("https://a.b.instructure.com/x", ["*.instructure.com"], True),
        # A wildcard admits subdomains only: not the domain, not a look-alike.
        ("https://instructure.com/x", ["*.instructure.com"], False),
        ("https://evilinstructure.com/x", ["*.instructure.com"], False),
        ("https://instructure.com.evil.example/x", ["*.instructure.com"], False),
        ("https://sso.canvaslms.com/x", ["*.instructure.com", "sso.canvaslms.com"], True),
        ("not a url", ["moodle.school.example"], False),
    ],
)
def test_host_allowed(url, allowed, expected):
    assert host_allowed(url, allowed) is expected
