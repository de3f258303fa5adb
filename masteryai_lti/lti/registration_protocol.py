"""The wire format of LTI Dynamic Registration 1.0 and of Canvas's JSON configuration.

Pure: dictionaries in and out, no HTTP and no database, so every rule is unit
tested alone. :mod:`masteryai_lti.lti.registration` does the I/O.
Section numbers refer to 1EdTech "LTI Dynamic Registration 1.0".
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from masteryai_lti.lti.grading import ALL_SCOPES as AGS_SCOPES
from masteryai_lti.lti.quirks.canvas import CANVAS_ISSUERS

SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
TOOL_SCOPES = (*AGS_SCOPES, SCOPE_NRPS)

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
# Asks the platform for a link's due date at every launch: an LTI 1.3 core
# substitution variable (Canvas gives the assignment's due date; a platform without
# one sends nothing usable, and then teachers declare it: engagement.graded_items).
DUE_DATE_PARAMETER = "due_at"
CUSTOM_PARAMETERS = {DUE_DATE_PARAMETER: "$ResourceLink.submission.endDateTime"}

MESSAGE_RESOURCE_LINK = "LtiResourceLinkRequest"
MESSAGE_DEEP_LINKING = "LtiDeepLinkingRequest"

# Where the platform shows each message (the message's optional ``placements``,
# §3.3.3). Canvas needs them: it turns a message without placements into a single
# link_selection entry, so the deep-linking picker (graded assignments) and the
# course navigation link would be missing. Moodle ignores the member.
RESOURCE_LINK_PLACEMENTS = ("course_navigation",)
DEEP_LINKING_PLACEMENTS = ("assignment_selection", "link_selection")

# Claims the tool asks the platform to include in launches (§3.3.1).
REQUESTED_CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")

# §3.5.1 lists the openid-configuration members a tool relies on.
_REQUIRED_CONFIGURATION = (
    "issuer",
    "authorization_endpoint",
    "registration_endpoint",
    "jwks_uri",
    "token_endpoint",
)


class RegistrationRefused(ValueError):
    """The platform's configuration or answer cannot be used; the message says why."""


class RegistrationNotAllowed(RegistrationRefused):
    """The platform's address is not among the hosts this tool's operator serves."""


def host_allowed(url: str, allowed: tuple[str, ...] | list[str]) -> bool:
    """Whether ``url``'s host is one of ``allowed`` (none given: any host).

    An entry is a host name (``moodle.school.example``) or ``*.`` and a domain, which
    admits its subdomains but not the domain itself (``*.instructure.com``). Case
    does not matter; the port is not compared.
    """
    if not allowed:
        return True
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for entry in allowed:
        entry = entry.strip().lower().rstrip(".")
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return True
        elif entry and host == entry:
            return True
    return False


@dataclass(frozen=True)
class ToolEndpoints:
    """Absolute URLs of this tool, as the platform must call them."""

    login_url: str
    launch_url: str
    jwks_url: str
    deep_linking_url: str
    logo_url: str | None = None
    name: str = "MasteryAI"
    description: str = "Adaptive mastery practice and engagement insights"

    @property
    def domain(self) -> str:
        """The tool's host name (with port when not the default)."""
        return urlsplit(self.launch_url).netloc


@dataclass(frozen=True)
class PlatformConfiguration:
    """What the tool keeps from a platform's openid-configuration (§3.5.1)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    authorization_server: str | None
    product_family_code: str | None
    product_version: str | None
    deep_linking_supported: bool


@dataclass(frozen=True)
class PlatformClient:
    """The platform's answer to the registration request (§3.6): our client_id there."""

    client_id: str
    deployment_id: str | None
    scopes: tuple[str, ...]


def _https_or_loopback(url: str, allow_insecure: bool) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return True
    return (
        allow_insecure
        and parts.scheme == "http"
        and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    )


def _host_and_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return "", None
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return (parts.hostname or "").lower(), port if port is not None else default


def issuer_matches_configuration_url(issuer: str, configuration_url: str) -> bool:
    """§3.5.1: the issuer must belong to the host that served the configuration.

    Equal hosts on the same port pass. The one exception is hosted Canvas, whose
    issuer (``https://canvas.instructure.com``) is shared by every school while
    the configuration comes from the school's own subdomain
    (``school.instructure.com``): a subdomain of the issuer's parent domain passes
    for those issuers only. A general sibling rule would let any host of a school's
    domain (``people.school.edu``) speak for its LMS (``moodle.school.edu``); and
    another port on the LMS's host is another service, not the LMS.
    """
    issuer_host, issuer_port = _host_and_port(issuer)
    config_host, config_port = _host_and_port(configuration_url)
    if not issuer_host or not config_host or issuer_port != config_port:
        return False
    if issuer_host == config_host:
        return True
    if issuer.rstrip("/") not in CANVAS_ISSUERS:
        return False
    parent = issuer_host.split(".", 1)[1]
    return config_host.endswith("." + parent)


def parse_platform_configuration(
    document: object, configuration_url: str, *, allow_insecure: bool = False
) -> PlatformConfiguration:
    """Validate an openid-configuration document and keep what registration needs."""
    if not isinstance(document, dict):
        raise RegistrationRefused("the platform configuration is not a JSON object")
    missing = [name for name in _REQUIRED_CONFIGURATION if not document.get(name)]
    if missing:
        raise RegistrationRefused("the platform configuration lacks " + ", ".join(sorted(missing)))
    for name in _REQUIRED_CONFIGURATION:
        if not _https_or_loopback(str(document[name]), allow_insecure):
            raise RegistrationRefused(f"the platform's {name} must be an https URL")
    issuer = str(document["issuer"])
    if not issuer_matches_configuration_url(issuer, configuration_url):
        raise RegistrationRefused(
            "the platform's issuer does not belong to the host that served its configuration"
        )
    auth_methods = document.get("token_endpoint_auth_methods_supported")
    if auth_methods is not None and "private_key_jwt" not in auth_methods:
        raise RegistrationRefused("the platform does not accept private_key_jwt client auth")
    signing_algs = document.get("id_token_signing_alg_values_supported")
    if signing_algs is not None and "RS256" not in signing_algs:
        raise RegistrationRefused("the platform does not sign id_tokens with RS256")
    lti = document.get(PLATFORM_CONFIGURATION) or {}
    if not isinstance(lti, dict):
        lti = {}
    messages = lti.get("messages_supported") or []
    message_types = {m.get("type") for m in messages if isinstance(m, dict)}
    return PlatformConfiguration(
        issuer=issuer,
        authorization_endpoint=str(document["authorization_endpoint"]),
        token_endpoint=str(document["token_endpoint"]),
        jwks_uri=str(document["jwks_uri"]),
        registration_endpoint=str(document["registration_endpoint"]),
        authorization_server=document.get("authorization_server") or None,
        product_family_code=lti.get("product_family_code") or None,
        product_version=lti.get("version") or None,
        # A platform that lists no messages is assumed to support both (Moodle 3.10
        # sends an empty list); one that lists some without deep linking is believed.
        deep_linking_supported=not message_types or MESSAGE_DEEP_LINKING in message_types,
    )


def registration_request(tool: ToolEndpoints, platform: PlatformConfiguration) -> dict:
    """The client registration the tool posts to the platform (§3.3).

    Asks for every scope the tool uses (AGS line items, read-only line items,
    scores, results; NRPS) and declares both the resource-link launch and, when the
    platform offers it, the deep-linking message.
    """
    messages: list[dict] = [
        {
            "type": MESSAGE_RESOURCE_LINK,
            "target_link_uri": tool.launch_url,
            "label": tool.name,
            "placements": list(RESOURCE_LINK_PLACEMENTS),
        }
    ]
    if platform.deep_linking_supported:
        messages.append(
            {
                "type": MESSAGE_DEEP_LINKING,
                "target_link_uri": tool.deep_linking_url,
                "label": f"Add {tool.name} activity",
                "placements": list(DEEP_LINKING_PLACEMENTS),
            }
        )
    request = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": tool.login_url,
        "redirect_uris": sorted({tool.launch_url, tool.deep_linking_url}),
        "client_name": tool.name,
        "jwks_uri": tool.jwks_url,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(TOOL_SCOPES),
        TOOL_CONFIGURATION: {
            "domain": tool.domain,
            "description": tool.description,
            "target_link_uri": tool.launch_url,
            "claims": list(REQUESTED_CLAIMS),
            "messages": messages,
            "custom_parameters": dict(CUSTOM_PARAMETERS),
        },
    }
    if tool.logo_url:
        request["logo_uri"] = tool.logo_url
    return request


def parse_registration_response(document: object) -> PlatformClient:
    """Read the platform's answer (§3.6): client_id, and deployment_id when given."""
    if not isinstance(document, dict) or not document.get("client_id"):
        raise RegistrationRefused("the platform's registration answer has no client_id")
    tool_config = document.get(TOOL_CONFIGURATION) or {}
    deployment_id = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    granted = str(document.get("scope") or "").split()
    return PlatformClient(
        client_id=str(document["client_id"]),
        deployment_id=str(deployment_id) if deployment_id else None,
        scopes=tuple(granted),
    )


def canvas_developer_key(tool: ToolEndpoints) -> dict:
    """Canvas's "Enter URL" / "Paste JSON" developer key configuration.

    Canvas reads this shape (``oidc_initiation_url``, ``target_link_uri``,
    ``public_jwk_url``, ``scopes``, ``extensions[].settings.placements``) rather than
    the dynamic-registration one. Placements: a course navigation link
    (resource link) and the assignment/link pickers (deep linking).
    """
    deep_link_placement = {
        "message_type": MESSAGE_DEEP_LINKING,
        "target_link_uri": tool.deep_linking_url,
        "text": f"Add {tool.name} activity",
    }
    return {
        "title": tool.name,
        "description": tool.description,
        "oidc_initiation_url": tool.login_url,
        "target_link_uri": tool.launch_url,
        "public_jwk_url": tool.jwks_url,
        "scopes": list(TOOL_SCOPES),
        "extensions": [
            {
                "domain": tool.domain,
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {
                    "text": tool.name,
                    "placements": [
                        *(
                            {
                                "placement": placement,
                                "message_type": MESSAGE_RESOURCE_LINK,
                                "target_link_uri": tool.launch_url,
                                "text": tool.name,
                            }
                            for placement in RESOURCE_LINK_PLACEMENTS
                        ),
                        *(
                            {**deep_link_placement, "placement": placement}
                            for placement in DEEP_LINKING_PLACEMENTS
                        ),
                    ],
                },
            }
        ],
        "custom_fields": {"canvas_course_id": "$Canvas.course.id", **CUSTOM_PARAMETERS},
    }
