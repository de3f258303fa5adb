"""OAuth2 access tokens for calling a platform's LTI Advantage services.

1EdTech Security Framework 1.0 §4.1: the tool obtains a token with the
``client_credentials`` grant, authenticating with a JWT client assertion
(RFC 7523) signed by its own key — here the newest active tool key, so the
platform verifies it against our JWKS. Tokens are cached per (registration,
scope set) until shortly before they expire, in the shared cache (Redis) so
every app process and worker reuses them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import jwt
import requests

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.outbound_http import private_address_refusal, public_session
from masteryai_lti.extensions import cache
from masteryai_lti.lti import keys, quirks
from masteryai_lti.lti.keys import SigningKey
from masteryai_lti.lti.models import LtiRegistration
from masteryai_lti.lti.service_client import (
    DEFAULT_TIMEOUT_SECONDS,
    RETRYABLE_STATUSES,
    PlatformServiceClient,
    PlatformServiceError,
)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# The assertion is used once, immediately; a short life limits replay.
ASSERTION_LIFETIME_SECONDS = 300
# Drop a cached token this long before the platform says it expires, so a token
# never expires between being read from the cache and reaching the platform.
EXPIRY_MARGIN_SECONDS = 30
# Platforms that omit expires_in (allowed by RFC 6749 §5.1) get this assumption.
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600


class TokenCache(Protocol):
    """The subset of ``extensions.cache`` this module uses."""

    def get(self, key: str) -> object: ...

    def set(self, key: str, value: object, ttl: int | None = None) -> object: ...

    def delete(self, *keys: str) -> object: ...


@dataclass(frozen=True)
class PlatformAccess:
    """What the token endpoint needs to know about one platform registration.

    ``audience`` is the platform's ``authorization_server`` / token audience when it
    differs from the token URL and the platform accepts it (Canvas publishes one it
    does not accept: ``quirks``); by default the assertion is addressed to the token
    URL itself (Security Framework §4.1.1).
    """

    registration_id: int
    client_id: str
    token_url: str
    audience: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A token as the platform granted it."""

    access_token: str
    expires_in: int
    scope: str


def client_assertion_claims(access: PlatformAccess, now: datetime, jti: str) -> dict:
    """The claims of the client assertion JWT (RFC 7523 §3).

    ``iss`` and ``sub`` are the client_id; ``aud`` the token endpoint (or the
    platform's declared audience); ``jti`` unique so the platform can refuse replays.
    """
    issued_at = int(now.timestamp())
    return {
        "iss": access.client_id,
        "sub": access.client_id,
        "aud": access.audience or access.token_url,
        "iat": issued_at,
        "exp": issued_at + ASSERTION_LIFETIME_SECONDS,
        "jti": jti,
    }


def sign_client_assertion(claims: dict, key: SigningKey) -> str:
    """Sign ``claims`` with RS256 under the key's ``kid``."""
    return jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.kid})


def token_cache_key(registration_id: int, scopes: Sequence[str]) -> str:
    """Cache key for a token granted to one registration for one set of scopes."""
    canonical = " ".join(sorted(set(scopes)))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return f"lti:platform-token:{registration_id}:{digest}"


def cache_ttl(expires_in: int) -> int:
    """Seconds to keep a token granted for ``expires_in`` seconds (at least 1)."""
    return max(1, expires_in - EXPIRY_MARGIN_SECONDS)


def request_token(
    access: PlatformAccess,
    scopes: Sequence[str],
    key: SigningKey,
    *,
    http: requests.Session,
    now: datetime,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> IssuedToken:
    """Ask the platform's token endpoint for a token covering ``scopes``."""
    assertion = sign_client_assertion(
        client_assertion_claims(access, now, f"lti-service-token-{uuid.uuid4()}"), key
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": " ".join(sorted(set(scopes))),
    }
    try:
        response = http.post(
            access.token_url, data=form, headers={"Accept": "application/json"}, timeout=timeout
        )
    except requests.RequestException as exc:
        refusal = private_address_refusal(exc)
        if refusal is not None:
            raise PlatformServiceError(f"token endpoint: {refusal}", retryable=False) from exc
        raise PlatformServiceError(
            f"token endpoint unreachable: {type(exc).__name__}", retryable=True
        ) from exc
    if not response.ok:
        text = (response.text or "").strip()[:200]
        raise PlatformServiceError(
            f"token endpoint refused: HTTP {response.status_code} {text}".strip(),
            status=response.status_code,
            retryable=response.status_code in RETRYABLE_STATUSES,
        )
    try:
        body = response.json()
        token = str(body["access_token"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PlatformServiceError(
            "token endpoint answered without an access_token",
            status=response.status_code,
            retryable=False,
        ) from exc
    try:
        expires_in = int(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME_SECONDS)
    except (TypeError, ValueError):
        expires_in = DEFAULT_TOKEN_LIFETIME_SECONDS
    return IssuedToken(
        access_token=token, expires_in=expires_in, scope=str(body.get("scope") or form["scope"])
    )


class PlatformTokens:
    """Tokens for one registration, shared through the cache across processes.

    ``signing_key()`` returns the newest active tool key at the moment a token is
    requested, so a key rotation takes effect on the next token without a restart.
    """

    def __init__(
        self,
        access: PlatformAccess,
        *,
        cache: TokenCache,
        http: requests.Session,
        signing_key: Callable[[], SigningKey],
        clock: Callable[[], datetime],
    ) -> None:
        self._access = access
        self._cache = cache
        self._http = http
        self._signing_key = signing_key
        self._clock = clock

    def token_for(self, scopes: Sequence[str]) -> str:
        """A bearer token for ``scopes``: from the cache, else freshly requested."""
        key = token_cache_key(self._access.registration_id, scopes)
        cached = self._cache.get(key)
        if isinstance(cached, str) and cached:
            return cached
        issued = request_token(
            self._access, scopes, self._signing_key(), http=self._http, now=self._clock()
        )
        self._cache.set(key, issued.access_token, ttl=cache_ttl(issued.expires_in))
        return issued.access_token

    def forget(self, scopes: Sequence[str]) -> None:
        """Drop the cached token for ``scopes`` (the platform refused it)."""
        self._cache.delete(token_cache_key(self._access.registration_id, scopes))


_shared_http: requests.Session | None = None


def platform_http() -> requests.Session:
    """The process's HTTP session for platform calls (keeps connections alive).

    Platforms choose these URLs (service URLs come in launch claims; dynamic
    registration is open to anyone), so it reaches public addresses only.
    """
    global _shared_http
    if _shared_http is None:
        _shared_http = public_session()
    return _shared_http


def service_client_for(
    registration: LtiRegistration,
    *,
    http: requests.Session | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> PlatformServiceClient:
    """A service client for one registration, with tokens cached in ``extensions.cache``."""
    if not registration.auth_token_url:
        raise PlatformServiceError(
            "the platform registration has no token URL; services cannot be called",
            retryable=False,
        )
    http = http or platform_http()
    access = PlatformAccess(
        registration_id=registration.id,
        client_id=registration.client_id,
        token_url=registration.auth_token_url,
        audience=quirks.for_family(registration.platform_family).token_audience(
            registration.auth_token_url, registration.auth_audience or None
        ),
    )
    tokens = PlatformTokens(
        access, cache=cache, http=http, signing_key=keys.signing_key, clock=clock
    )
    return PlatformServiceClient(http, tokens.token_for, tokens.forget)
