"""Install in one step: LTI Dynamic Registration 1.0, and the Canvas JSON configuration.

An LMS admin pastes ``/lti/register`` into the LMS; the LMS opens it with
``openid_configuration`` and ``registration_token`` (§3.3). The tool's server
fetches that configuration, posts its own client registration to the
platform's ``registration_endpoint`` with the token as bearer (§3.4), and
stores the platform as a new tenant. The wire format is in
:mod:`masteryai_lti.lti.registration_protocol`; this module does the I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from masteryai_lti.core.errors import Conflict, NotFound, ValidationFailed, field_error
from masteryai_lti.core.outbound_http import private_address_refusal
from masteryai_lti.extensions import db
from masteryai_lti.lti import registry
from masteryai_lti.lti.models import LtiRegistration
from masteryai_lti.lti.platform_tokens import platform_http
from masteryai_lti.lti.registration_protocol import (
    PLATFORM_CONFIGURATION,
    PlatformConfiguration,
    RegistrationNotAllowed,
    RegistrationRefused,
    ToolEndpoints,
    host_allowed,
    parse_platform_configuration,
    parse_registration_response,
    registration_request,
)
from masteryai_lti.lti.service_client import DEFAULT_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

# §3.6: the platform answers a successful registration with 200 or 201.
ACCEPTED_STATUSES = (200, 201)


class PlatformUnreachable(RuntimeError):
    """The platform could not be reached during registration (a 502 for the admin)."""


@dataclass(frozen=True)
class RegistrationOutcome:
    """A stored registration and whether it still waits for the tool admin's approval."""

    registration_id: int
    institution_id: int
    issuer: str
    client_id: str
    deployment_id: str | None
    pending_approval: bool


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _ensure_allowed(url: str, allowed_hosts: tuple[str, ...], what: str) -> None:
    if not host_allowed(url, allowed_hosts):
        host = urlsplit(url).hostname or url
        raise RegistrationNotAllowed(
            f"this tool takes registrations only from the LMSs its operator lists, and "
            f"the platform's {what} is on {host}; ask the tool's operator to add it "
            f"(LTI_REGISTRATION_ALLOWED_HOSTS)"
        )


def fetch_platform_configuration(
    url: str,
    registration_token: str | None,
    *,
    http: requests.Session,
    allow_insecure: bool = False,
    allowed_hosts: tuple[str, ...] = (),
) -> tuple[PlatformConfiguration, dict]:
    """GET the platform's openid-configuration (§3.4: the registration token as bearer;
    Moodle requires it there).

    With ``allowed_hosts`` the configuration's address, and then every address of the
    platform this server will call (registration, token, key set), must be among them:
    nothing else a stranger names is fetched.
    """
    _ensure_allowed(url, allowed_hosts, "configuration")
    parts = urlsplit(url)
    if parts.scheme != "https" and not (
        allow_insecure and parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"}
    ):
        raise RegistrationRefused("openid_configuration must be an https URL")
    try:
        response = http.get(
            url,
            headers={"Accept": "application/json", **_bearer(registration_token)},
            timeout=DEFAULT_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        reason = private_address_refusal(exc) or exc
        raise PlatformUnreachable(f"could not fetch the platform configuration: {reason}") from exc
    if not response.ok:
        raise RegistrationRefused(
            f"the platform configuration answered HTTP {response.status_code}"
        )
    try:
        document = response.json()
    except ValueError as exc:
        raise RegistrationRefused("the platform configuration is not JSON") from exc
    platform = parse_platform_configuration(document, url, allow_insecure=allow_insecure)
    for what, endpoint in (
        ("registration endpoint", platform.registration_endpoint),
        ("token endpoint", platform.token_endpoint),
        ("key set", platform.jwks_uri),
    ):
        _ensure_allowed(endpoint, allowed_hosts, what)
    return platform, document


def post_registration(
    platform: PlatformConfiguration,
    request_body: dict,
    registration_token: str | None,
    *,
    http: requests.Session,
) -> dict:
    """POST the client registration; returns the platform's JSON answer (200 or 201)."""
    try:
        response = http.post(
            platform.registration_endpoint,
            json=request_body,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                **_bearer(registration_token),
            },
            timeout=DEFAULT_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        reason = private_address_refusal(exc) or exc
        raise PlatformUnreachable(f"could not reach the registration endpoint: {reason}") from exc
    if response.status_code not in ACCEPTED_STATUSES:
        text = (response.text or "").strip()[:200]
        raise RegistrationRefused(
            f"the platform refused the registration (HTTP {response.status_code}) {text}".strip()
        )
    try:
        return response.json()
    except ValueError as exc:
        raise RegistrationRefused("the platform's registration answer is not JSON") from exc


def _institution_name(platform: PlatformConfiguration) -> str:
    host = urlsplit(platform.issuer).netloc
    product = (platform.product_family_code or "LMS").capitalize()
    return f"{product} at {host}"[:200]


def register_dynamically(
    openid_configuration_url: str,
    registration_token: str | None,
    tool: ToolEndpoints,
    *,
    requires_approval: bool = False,
    allow_insecure: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    http: requests.Session | None = None,
) -> RegistrationOutcome:
    """Run the whole dynamic registration and store the platform as a new tenant. Commits.

    Raises RegistrationRefused (the admin sees why; nothing stored; its
    RegistrationNotAllowed when the platform is not among ``allowed_hosts``) or
    PlatformUnreachable. With ``requires_approval`` the registration is stored
    ``pending`` and launches are refused until ``flask lti approve-platform``.
    """
    http = http or platform_http()
    platform, document = fetch_platform_configuration(
        openid_configuration_url,
        registration_token,
        http=http,
        allow_insecure=allow_insecure,
        allowed_hosts=allowed_hosts,
    )
    answer = post_registration(
        platform, registration_request(tool, platform), registration_token, http=http
    )
    client = parse_registration_response(answer)
    metadata = {
        "issuer": platform.issuer,
        PLATFORM_CONFIGURATION: document.get(PLATFORM_CONFIGURATION) or {},
        "openid_configuration": document,
        "registration_response": answer,
        "registered_via": "dynamic_registration",
    }
    try:
        registration = registry.register_platform(
            issuer=platform.issuer,
            client_id=client.client_id,
            auth_login_url=platform.authorization_endpoint,
            auth_token_url=platform.token_endpoint,
            key_set_url=platform.jwks_uri,
            auth_audience=platform.authorization_server,
            deployment_ids=[client.deployment_id] if client.deployment_id else [],
            institution_name=_institution_name(platform),
            status="pending" if requires_approval else "active",
            platform_metadata=metadata,
            deployment_source="registration",
            create_only=True,
        )
    except Conflict as exc:
        raise RegistrationRefused(str(exc)) from exc
    log.info(
        "dynamic registration of %s client %s stored (registration %s, %s)",
        platform.issuer,
        client.client_id,
        registration.id,
        registration.status,
    )
    return RegistrationOutcome(
        registration_id=registration.id,
        institution_id=registration.institution_id,
        issuer=registration.issuer,
        client_id=registration.client_id,
        deployment_id=client.deployment_id,
        pending_approval=registration.status == "pending",
    )


def set_registration_status(registration_id: int, status: str) -> LtiRegistration:
    """Approve (``active``) or hold (``pending``) a registration. Commits."""
    if status not in ("active", "pending"):
        raise ValidationFailed(
            "Unknown registration status.", errors=[field_error("status", "active or pending")]
        )
    registration = db.session.get(LtiRegistration, registration_id)
    if registration is None:
        raise NotFound("No such platform registration.")
    registration.status = status
    db.session.commit()
    return registration
