"""LTI 1.3 login and launch on top of pylti1p3's Flask adapter.

pylti1p3 parses and checks most of a launch; this module adds what LTI 1.3 core
§5.1 and the 1EdTech Security Framework require and the library leaves out:

* the ``state`` is signed and bound to the browser by a cookie *or* by the
  platform's storage frame (see :mod:`masteryai_lti.lti.session`);
* the platform JWKS is cached in the shared cache and refetched once when a
  ``kid`` is unknown (platform key rotation, Security Framework §6.3);
* ``aud``, ``azp``, ``iss``, ``exp`` and ``iat`` are verified (pylti1p3 turns the
  audience check off);
* the nonce must be the one this login issued, and is accepted only once
  across every app process (Security Framework §5.1.3 step 9): Redis answers
  first, the ``lti_used_nonces`` table is the shared record;
* unseen deployments of a known registration are accepted and recorded unless
  ``LTI_REFUSE_UNKNOWN_DEPLOYMENTS`` is set.

Every refusal is an :class:`LtiLaunchError` with a reason code, raised before any
user, enrollment or session exists. :func:`complete_launch` does the writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from jwt.algorithms import RSAAlgorithm
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, OIDCException
from sqlalchemy import and_, delete, false, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import ApiError, Conflict
from masteryai_lti.core.outbound_http import private_address_refusal, public_session
from masteryai_lti.core.transactions import add_unless_taken
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.engagement import graded_items
from masteryai_lti.engagement import service as engagement
from masteryai_lti.extensions import cache, db
from masteryai_lti.identity import service as identity
from masteryai_lti.identity.models import User, UserIdentity
from masteryai_lti.lti import quirks, registry, roster
from masteryai_lti.lti.deep_linking import SETTINGS_CLAIM as DEEP_LINKING_SETTINGS
from masteryai_lti.lti.deep_linking import accepts_multiple
from masteryai_lti.lti.models import LaunchRecord, ResourceLink, UsedNonce, platform_user_key
from masteryai_lti.lti.registration_protocol import DUE_DATE_PARAMETER
from masteryai_lti.lti.roles import map_roles
from masteryai_lti.lti.session import (
    STATE_MAX_AGE_SECONDS,
    IframeCookieService,
    LoginState,
    StateError,
    issue_state,
    read_state,
    state_cookie_name,
)
from masteryai_lti.lti.tool_config import DatabaseToolConf, DbDeployment, DbRegistration

log = logging.getLogger(__name__)

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/"
LTI_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
SUPPORTED_MESSAGES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)
# Links whose completion the tool records as a submission (see placements): only
# for these is the LMS's due date a deadline the tool can see being met or missed.
DUE_DATE_TARGETS = frozenset({"adaptive_assignment"})

# Clock skew tolerated between platform and tool when checking exp/iat.
CLOCK_LEEWAY_SECONDS = 10
PLATFORM_JWKS_TTL_SECONDS = 3600
# At most one forced JWKS refetch per key set URL in this window, so forged kids
# cannot turn the tool into a request amplifier against the platform.
JWKS_REFETCH_GUARD_SECONDS = 5
# A nonce is remembered until its token can no longer pass the exp check.
MAX_NONCE_MEMORY_SECONDS = 86400
PENDING_LAUNCH_MAX_AGE_SECONDS = 300
HTTP_TIMEOUT_SECONDS = 5

# The key set URL is the platform's choice (dynamic registration is open to anyone).
_http = public_session()


class LtiLaunchError(ApiError):
    """A refused login or launch; rendered as a short HTML page by the ``lti`` blueprint."""

    status, title, slug = 400, "LTI launch refused", "lti-launch-refused"

    def __init__(self, reason: str, detail: str, status: int = 400) -> None:
        super().__init__(detail, status=status)
        self.reason = reason


# Status per failed step: 401 when the token cannot be authenticated, 403 when
# the platform or deployment is not allowed, 400 for malformed messages.
_STEP_STATUS = {
    "state": 400,
    "format": 400,
    "issuer": 403,
    "audience": 401,
    "signature": 401,
    "expired": 401,
    "nonce": 400,
    "replay": 400,
    "deployment": 403,
    "message": 400,
    "version": 400,
}


def tool_conf() -> DatabaseToolConf:
    """The DB-backed pylti1p3 tool configuration with this app's deployment policy."""
    return DatabaseToolConf(bool(current_app.config.get("LTI_REFUSE_UNKNOWN_DEPLOYMENTS")))


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


# -- platform keys ---------------------------------------------------------------------


def _jwks_cache_key(url: str) -> str:
    return "lti:jwks:" + hashlib.sha256(url.encode()).hexdigest()[:32]


# Key sets this process read from the shared cache lately, by URL: most launches
# find their kid here and skip a cache round trip. A kid missing here is looked up
# in the shared cache (and refetched) as before, so a rotation is seen at once; a
# key the platform withdrew stays usable here at most this long after the shared
# cache let it go.
LOCAL_JWKS_SECONDS = 60
_local_key_sets: dict[str, tuple[float, dict]] = {}


def _remember_key_set(url: str, key_set: dict) -> None:
    if len(_local_key_sets) > 256:
        _local_key_sets.clear()
    _local_key_sets[url] = (time.monotonic() + LOCAL_JWKS_SECONDS, key_set)


def _recent_key(url: str, kid: str) -> dict | None:
    entry = _local_key_sets.get(url)
    if entry is None or entry[0] <= time.monotonic():
        return None
    return _find_key(entry[1], kid)


def platform_key_set(url: str, *, force: bool = False) -> dict:
    """The platform's JWK Set from the shared cache, fetched when absent or ``force``d."""
    key = _jwks_cache_key(url)
    if not force:
        cached = cache.get(key)
        if cached:
            _remember_key_set(url, cached)
            return cached
    elif not cache.set_if_absent(key + ":refetch", 1, JWKS_REFETCH_GUARD_SECONDS):
        # Another request refetched moments ago; use what it stored.
        cached = cache.get(key)
        if cached:
            _remember_key_set(url, cached)
            return cached
    try:
        response = _http.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        key_set = response.json()
    except (requests.RequestException, ValueError) as exc:
        # A private address is the operator's setting to change: say so on the page.
        refusal = private_address_refusal(exc)
        raise LtiLaunchError(
            "platform_keys",
            f"The platform's public keys could not be fetched from {url}"
            + (f": {refusal}." if refusal else "."),
            status=502,
        ) from exc
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise LtiLaunchError("platform_keys", f"{url} did not return a JWK Set.", status=502)
    cache.set(key, key_set, PLATFORM_JWKS_TTL_SECONDS)
    _remember_key_set(url, key_set)
    return key_set


def _find_key(key_set: dict | None, kid: str) -> dict | None:
    for candidate in (key_set or {}).get("keys", []):
        if candidate.get("kid") == kid:
            return candidate
    return None


# -- once-only nonces ------------------------------------------------------------------

_UPSERT_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


def claim_nonce(issuer: str, nonce: str, expires_in_seconds: int) -> bool:
    """Accept ``nonce`` of ``issuer`` once; False when it was seen before.

    Redis rejects most replays without touching the database; the unique row in
    ``lti_used_nonces`` is what guarantees once-only across processes, including
    while Redis is down or after it lost its data. The row is written in the
    caller's transaction (no savepoint: on a clash the whole launch is rolled back
    anyway), so the nonce is spent exactly when the launch commits.
    """
    ttl = max(60, min(expires_in_seconds + CLOCK_LEEWAY_SECONDS, MAX_NONCE_MEMORY_SECONDS))
    redis_key = "lti:nonce:" + hashlib.sha256(f"{issuer}|{nonce}".encode()).hexdigest()[:40]
    if not cache.set_if_absent(redis_key, 1, ttl) and cache.get(redis_key) is not None:
        return False
    row = {
        "issuer": issuer[:255],
        "nonce": nonce[:255],
        "expires_at": utcnow() + timedelta(seconds=ttl),
    }
    dialect_insert = _UPSERT_INSERTS.get(db.session.get_bind().dialect.name)
    if dialect_insert is not None:
        # INSERT ... ON CONFLICT DO NOTHING: one statement, no exception on a replay.
        table = UsedNonce.__table__
        statement = (
            dialect_insert(table)
            .values(**row)
            .on_conflict_do_nothing(index_elements=[table.c.issuer, table.c.nonce])
            .returning(table.c.id)
        )
        if db.session.execute(statement).first() is None:
            return False
    else:
        db.session.add(UsedNonce(**row))
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return False
    if secrets.randbelow(200) == 0:
        # Occasional clean-up keeps the table at about a day of launches.
        db.session.execute(delete(UsedNonce).where(UsedNonce.expires_at < utcnow()))
    return True


# -- login -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginRedirect:
    """Where the login sends the browser, and how the state is bound to it."""

    auth_url: str
    state: str
    login: LoginState
    storage_frame: str  # postMessage target frame; "" when cookies alone bind the state
    cookie_service: IframeCookieService


class ToolOIDCLogin(FlaskOIDCLogin):
    """pylti1p3's OIDC login with a signed state and optional platform storage."""

    def __init__(self, request, tool_config, cookie_service, storage_target: str = ""):
        super().__init__(request, tool_config, cookie_service=cookie_service)
        self._storage_target = storage_target
        self.login_state: LoginState | None = None
        self.state = ""

    def _prepare_redirect_url(self, launch_url: str) -> str:
        # LTI 1.3 core §5.1.1.2: the authentication request. Same parameters as
        # pylti1p3, but the state carries the nonce, signed, instead of living in
        # a server-side session the iframe may not be able to keep.
        registration: DbRegistration = self.validate_oidc_login()
        self._registration = registration
        quirk = quirks.for_family(registration.platform_family)
        auth_login_url = registration.get_auth_login_url()
        origin = quirk.storage_origin(auth_login_url) if self._storage_target else ""
        nonce = self._generate_nonce()
        state, login = issue_state(
            _secret(),
            nonce=nonce,
            registration_id=registration.row_id,
            storage_target=self._storage_target,
            storage_origin=origin,
        )
        self.login_state = login
        self.state = state
        self._cookie_service.set_cookie(
            state_cookie_name(login.sid), login.sid, STATE_MAX_AGE_SECONDS
        )
        params = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": registration.get_client_id(),
            "redirect_uri": launch_url,
            "state": state,
            "nonce": nonce,
            "login_hint": self._get_request_param("login_hint"),
        }
        hint = self._get_request_param("lti_message_hint")
        if hint:
            params["lti_message_hint"] = hint
        separator = "&" if "?" in auth_login_url else "?"
        return auth_login_url + separator + urlencode(params)


def _unusable_registration(issuer: str, client_id: str | None) -> LtiLaunchError:
    """What the LMS admin must know when a login names no usable registration."""
    row = registry.registration_view(issuer, client_id)
    if row is not None and row.status == "pending":
        return LtiLaunchError(
            "pending",
            f"This LMS's registration with MasteryAI (registration {row.id}) is waiting for "
            "the MasteryAI administrator's approval: they run "
            f"`flask lti approve-platform {row.id}`.",
            status=403,
        )
    return LtiLaunchError(
        "issuer",
        f"This LMS (issuer {issuer or 'missing'}, client id {client_id or 'not sent'}) is not "
        "registered with MasteryAI: register the tool again from the LMS, or send these "
        "values to the MasteryAI administrator.",
        status=403,
    )


def begin_login(launch_url: str) -> LoginRedirect:
    """Handle a third-party initiated login (GET or POST) of the current request."""
    request = FlaskRequest()
    cookie_service = IframeCookieService(request)
    storage_target = request.get_param("lti_storage_target") or ""
    oidc = ToolOIDCLogin(request, tool_conf(), cookie_service, storage_target)
    if not request.get_param("target_link_uri") and not request.get_param("login_hint"):
        raise LtiLaunchError("login", "This is not an LTI login request (no login_hint).")
    try:
        redirect = oidc.get_redirect_object(launch_url)
    except OIDCException as exc:
        message = str(exc)
        if "registration" in message.lower():
            raise _unusable_registration(
                request.get_param("iss") or "", request.get_param("client_id") or None
            ) from exc
        raise LtiLaunchError("login", f"Invalid login request: {message}.") from exc
    login = oidc.login_state
    frame = ""
    if storage_target:
        frame = quirks.for_family(oidc._registration.platform_family).storage_frame(storage_target)
    return LoginRedirect(redirect.get_redirect_url(), oidc.state, login, frame, cookie_service)


# -- launch ----------------------------------------------------------------------------


@dataclass
class ValidatedLaunch:
    """A launch every check accepted, ready to be completed."""

    claims: dict
    registration_id: int
    institution_id: int
    platform_family: str
    deployment_id: str
    deployment_known: bool
    state_binding: str  # cookie or platform_storage
    state: str
    sid: str
    storage_target: str = ""
    storage_origin: str = ""
    launch_id: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    @property
    def message_type(self) -> str:
        return self.claims.get(LTI + "message_type", "")


class ToolMessageLaunch(FlaskMessageLaunch):
    """pylti1p3's message launch with the checks listed in the module docstring."""

    def __init__(self, request, tool_config, cookie_service):
        super().__init__(
            request, tool_config, cookie_service=cookie_service, requests_session=_http
        )
        self.login_state: LoginState | None = None
        self.state_binding = "cookie"
        self.deployment: DbDeployment | None = None

    # pylti1p3 checks the nonce before the signature; here a nonce is only spent
    # by a token that is authentic and addressed to us.
    def validate(self):
        self._validated = True
        steps = (
            ("state", self.validate_state),
            ("format", self.validate_jwt_format),
            ("issuer", self.validate_registration),
            ("signature", self.validate_jwt_signature),
            ("nonce", self.validate_nonce),
            ("deployment", self.validate_deployment),
            ("message", self.validate_message),
        )
        try:
            for reason, step in steps:
                try:
                    step()
                except LtiException as exc:
                    raise LtiLaunchError(reason, str(exc), _STEP_STATUS[reason]) from exc
        except Exception:
            self._validated = False
            raise
        return self

    def validate_state(self):
        try:
            self.login_state = read_state(_secret(), self._get_request_param("state"))
        except StateError as exc:
            raise LtiLaunchError("state", str(exc)) from exc
        sid = self.login_state.sid
        if self._cookie_service.get_cookie(state_cookie_name(sid)) == sid:
            self.state_binding = "cookie"
        elif self.login_state.storage_target:
            # No cookie came back (third-party cookies refused); the launch page
            # checks the platform storage before the launch is completed.
            self.state_binding = "platform_storage"
        else:
            raise LtiLaunchError(
                "state",
                "The browser did not send back the login cookie, so this launch cannot be "
                "tied to the login that started it: the page was reloaded (a launch is used "
                "once) or the browser blocks cookies in this frame. Open the activity again "
                "from the course; if this keeps happening, open it in a new window or allow "
                "cookies for this site.",
            )
        return self

    def validate_registration(self):
        body = self._jwt.get("body", {})
        row = registry.registration_view_by_id(self.login_state.registration_id)
        if row is None or row.status != "active":
            raise LtiLaunchError(
                "issuer", "The LMS that started this login is not registered.", 403
            )
        if body.get("iss") != row.issuer:
            raise LtiLaunchError(
                "issuer",
                "The id_token comes from an issuer that is not the LMS that started this "
                "login (unknown issuer).",
                403,
            )
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if row.client_id not in audiences:
            raise LtiLaunchError(
                "audience", "The id_token is not addressed to this tool (aud).", 401
            )
        # LTI 1.3 core §5.1.2: with several audiences, azp names the tool.
        azp = body.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != row.client_id:
            raise LtiLaunchError("audience", "The id_token's azp is not this tool.", 401)
        self._registration = self._tool_config.adopt(row)
        return self

    def get_client_id(self) -> str:
        # With several audiences pylti1p3 would take the first; ours is the checked one.
        if self._registration is not None:
            return self._registration.get_client_id()
        return super().get_client_id()

    def get_public_key(self):
        registration: DbRegistration = self._registration
        header = self._jwt.get("header", {})
        kid, alg = header.get("kid"), header.get("alg")
        # Security Framework §5.1.3: RS256 only; never let the header pick "none"/HS*.
        if alg != "RS256":
            raise LtiLaunchError("signature", f"Unsupported JWT algorithm {alg!r}.", 401)
        if not kid:
            raise LtiLaunchError("signature", "The id_token header has no kid.", 401)
        static = registration.get_key_set()
        url = registration.get_key_set_url()
        jwk = _find_key(static, kid)
        if jwk is None and url:
            jwk = _recent_key(url, kid) or _find_key(platform_key_set(url), kid)
            if jwk is None:
                # The platform may have rotated its key since we cached its JWKS.
                jwk = _find_key(platform_key_set(url, force=True), kid)
        if jwk is None:
            raise LtiLaunchError(
                "signature",
                f"The platform's key {kid!r} is not in its published key set, even after "
                "fetching it again.",
                401,
            )
        return _public_key_for(json.dumps(jwk, sort_keys=True)), "RS256"

    def validate_jwt_signature(self):
        public_key, alg = self.get_public_key()
        registration = self._registration
        try:
            jwt.decode(
                self._get_id_token(),
                public_key,
                algorithms=[alg],
                audience=registration.get_client_id(),
                issuer=registration.get_issuer(),
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise LtiLaunchError("expired", "The id_token has expired.", 401) from exc
        except jwt.InvalidAudienceError as exc:
            raise LtiLaunchError(
                "audience", "The id_token is not addressed to this tool.", 401
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise LtiLaunchError("expired", "The id_token is issued in the future.", 401) from exc
        except jwt.InvalidSignatureError as exc:
            raise LtiLaunchError("signature", "The id_token's signature is invalid.", 401) from exc
        except jwt.InvalidTokenError as exc:
            raise LtiLaunchError("signature", f"The id_token is invalid: {exc}.", 401) from exc
        return self

    def validate_nonce(self):
        body = self._jwt["body"]
        nonce = body.get("nonce")
        if not nonce or nonce != self.login_state.nonce:
            raise LtiLaunchError("nonce", "The id_token's nonce does not answer this login.")
        lifetime = int(body.get("exp", 0)) - int(utcnow().timestamp())
        if not claim_nonce(body["iss"], nonce, lifetime):
            raise LtiLaunchError("replay", "This id_token was already used: a replayed launch.")
        return self

    def validate_deployment(self):
        deployment_id = self._jwt["body"].get(LTI + "deployment_id")
        if not deployment_id:
            raise LtiLaunchError("deployment", "The id_token has no deployment_id.", 400)
        self.deployment = self._tool_config.find_deployment_by_params(
            self._registration.get_issuer(), deployment_id, self._registration.get_client_id()
        )
        if self.deployment is None:
            raise LtiLaunchError(
                "deployment",
                f"The deployment {deployment_id!r} is not registered with this tool, which "
                "refuses unknown deployments.",
                403,
            )
        return self

    def validate_message(self):
        body = self._jwt["body"]
        if body.get(LTI + "version") != "1.3.0":
            raise LtiLaunchError("version", "The id_token must carry LTI version 1.3.0.")
        message_type = body.get(LTI + "message_type")
        if message_type not in SUPPORTED_MESSAGES:
            raise LtiLaunchError(
                "message",
                f"This tool does not handle {message_type or 'untyped'} messages.",
            )
        return super().validate_message()

    def save_launch_data(self):
        # Launches are recorded by complete_launch, in the database.
        return self

    def validated_launch(self) -> ValidatedLaunch:
        """Validate the request and return the result (raises LtiLaunchError)."""
        self.validate()
        registration: DbRegistration = self._registration
        return ValidatedLaunch(
            claims=dict(self._jwt["body"]),
            registration_id=registration.row_id,
            institution_id=registration.institution_id,
            platform_family=registration.platform_family,
            deployment_id=self.deployment.get_deployment_id(),
            deployment_known=self.deployment.known,
            state_binding=self.state_binding,
            state=self._get_request_param("state"),
            sid=self.login_state.sid,
            storage_target=self.login_state.storage_target,
            storage_origin=self.login_state.storage_origin,
        )


_public_keys: dict[str, RSAPublicKey] = {}


def _public_key_for(jwk_json: str) -> RSAPublicKey:
    # Parsing a JWK (or a PEM, which PyJWT would do on every decode) costs ~0.2-0.5 ms;
    # the key a JWK describes never changes, so the parsed key is kept by its JSON.
    public_key = _public_keys.get(jwk_json)
    if public_key is None:
        try:
            public_key = RSAAlgorithm.from_jwk(jwk_json)
        except (jwt.InvalidKeyError, ValueError, KeyError) as exc:
            raise LtiLaunchError(
                "signature", "The platform's key is not a usable RSA key.", 401
            ) from exc
        if isinstance(public_key, RSAPrivateKey):
            public_key = public_key.public_key()
        if len(_public_keys) > 256:
            _public_keys.clear()
        _public_keys[jwk_json] = public_key
    return public_key


def validate_launch() -> tuple[ValidatedLaunch, IframeCookieService]:
    """Validate the launch POST of the current request.

    The spent nonce is flushed, not committed: the caller commits it together
    with the launch (:func:`complete_launch`) or alone (:func:`hold_launch`).
    """
    request = FlaskRequest()
    cookie_service = IframeCookieService(request)
    launch = ToolMessageLaunch(request, tool_conf(), cookie_service)
    error = request.get_param("error")
    if error and not request.get_param("id_token"):
        # OIDC Core §3.1.2.6: the platform answers the authentication request with
        # an error (login_required, invalid_request...) instead of an id_token.
        description = request.get_param("error_description") or error
        raise LtiLaunchError("platform", f"The LMS did not complete the login: {description}.")
    if not request.get_param("id_token"):
        raise LtiLaunchError("format", "The launch has no id_token.")
    try:
        validated = launch.validated_launch()
    except LtiLaunchError:
        # Keep nothing from a refused launch (the spent nonce included: the
        # same token fails the same check again anyway).
        db.session.rollback()
        raise
    return validated, cookie_service


# -- launches completed in the browser (platform storage) -------------------------------


def _pending_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(), salt="masteryai-lti-pending-launch")


def seal_pending(validated: ValidatedLaunch) -> str:
    """Commit the spent nonce and return a signed, short-lived token holding the
    validated launch until the page has checked the platform storage."""
    db.session.commit()
    return _pending_serializer().dumps(asdict(validated))


def open_pending(token: str, state: str) -> ValidatedLaunch:
    """The launch sealed by :func:`seal_pending`, if ``state`` is the one its login stored."""
    try:
        data = _pending_serializer().loads(token, max_age=PENDING_LAUNCH_MAX_AGE_SECONDS)
    except SignatureExpired as exc:
        raise LtiLaunchError("state", "The launch took too long to confirm.") from exc
    except BadSignature as exc:
        raise LtiLaunchError(
            "state", "The launch confirmation was not issued by this tool."
        ) from exc
    validated = ValidatedLaunch(**data)
    if not state or not secrets.compare_digest(state, validated.state):
        raise LtiLaunchError("state", "The platform storage does not hold this login's state.")
    return validated


# -- completing a launch -----------------------------------------------------------------


@dataclass(frozen=True)
class LaunchOutcome:
    """What the landing page needs after a completed launch."""

    launch_id: str
    user_id: int
    institution_id: int
    course_id: int | None
    course_title: str
    course_role: str  # teacher or student
    is_admin: bool
    display_name: str
    message_type: str
    resource_link_pk: int | None
    target: dict | None
    resource_link_id: str | None = None
    resource_link_title: str = ""
    accepts_multiple: bool = True  # deep linking: the platform takes several items

    @property
    def landing(self) -> str:
        """teacher or student: the page this person lands on."""
        return "teacher" if self.course_role == "teacher" else "student"


@dataclass
class _Known:
    """What a launch finds already recorded, read in one round trip (:func:`_known_rows`)."""

    user: User | None
    course: Course | None
    enrollment: Enrollment | None
    link: ResourceLink | None


def _lti_identity(claims: dict) -> str:
    return platform_user_key(claims["iss"], claims["sub"])


def _known_rows(validated: ValidatedLaunch, context_id: str | None, link_id: str | None) -> _Known:
    """The launch's user (by iss+sub), course (by context), enrollment and resource link.

    A repeat launch finds them all; one statement instead of four lookups. Every
    join matches at most one row (unique constraints), so there is one result row.
    """
    institution_id = validated.institution_id
    anchor = select(literal(1).label("one")).subquery()
    course_on = (
        and_(Course.institution_id == institution_id, Course.lti_context_id == context_id)
        if context_id
        else false()
    )
    link_on = (
        and_(
            ResourceLink.registration_id == validated.registration_id,
            ResourceLink.resource_link_id == link_id,
        )
        if link_id
        else false()
    )
    statement = (
        select(User, Course, Enrollment, ResourceLink)
        .select_from(anchor)
        .outerjoin(
            UserIdentity,
            and_(
                UserIdentity.institution_id == institution_id,
                UserIdentity.kind == "lti",
                UserIdentity.value == _lti_identity(validated.claims),
            ),
        )
        .outerjoin(User, User.id == UserIdentity.user_id)
        .outerjoin(Course, course_on)
        .outerjoin(
            Enrollment, and_(Enrollment.course_id == Course.id, Enrollment.user_id == User.id)
        )
        .outerjoin(ResourceLink, link_on)
    )
    row = db.session.execute(statement).first()
    return _Known(*row) if row is not None else _Known(None, None, None, None)


def _upsert_user(
    validated: ValidatedLaunch,
    display_name: str,
    email: str | None,
    user_role: str,
    user: User | None,
) -> User:
    """The launch's user: ``user`` (found by :func:`_known_rows`) updated, or a new one."""
    value = _lti_identity(validated.claims)
    created = user is None
    if user is None:
        user = User(
            institution_id=validated.institution_id,
            full_name=display_name[:200],
            role=user_role,
        )
        db.session.add(user)
        db.session.flush()
        try:
            identity.link_identity(validated.institution_id, user.id, "lti", value)
        except Conflict:
            # A parallel first launch of the same person linked theirs first.
            db.session.delete(user)
            db.session.flush()
            user = identity.find_user_by_identity(validated.institution_id, "lti", value)
            created = False
    else:
        if display_name and user.full_name != display_name:
            user.full_name = display_name[:200]
        # Global role only grows: a teacher of one course may be a learner in another.
        rank = {"student": 0, "teacher": 1, "admin": 2}
        if rank.get(user_role, 0) > rank.get(user.role, 0):
            user.role = user_role
    if email and created:
        # An LMS e-mail is how xAPI statements usually name the person (DESIGN.md §4).
        # Linked when the person is first seen, which keeps repeat launches cheap.
        try:
            identity.link_identity(validated.institution_id, user.id, "mbox", f"mailto:{email}")
        except Conflict:
            log.info("mbox of launch user %s already belongs to another user", user.id)
    return user


def _upsert_resource_link(
    validated: ValidatedLaunch, course_id: int | None, link: ResourceLink | None
) -> ResourceLink | None:
    """The launch's resource link: ``link`` (found by :func:`_known_rows`) or a new one."""
    claims = validated.claims
    link_claim = claims.get(LTI + "resource_link") or {}
    link_id = link_claim.get("id")
    if not link_id:
        return None
    if link is None:
        link = ResourceLink(
            institution_id=validated.institution_id,
            registration_id=validated.registration_id,
            resource_link_id=link_id,
            deployment_id=validated.deployment_id,
        )
        if not add_unless_taken(link):
            link = db.session.scalar(
                select(ResourceLink).where(
                    ResourceLink.registration_id == validated.registration_id,
                    ResourceLink.resource_link_id == link_id,
                )
            )
    custom = claims.get(LTI + "custom") or {}
    ags = claims.get(LTI_AGS + "endpoint")
    nrps = claims.get(LTI_NRPS + "namesroleservice")
    link.deployment_id = validated.deployment_id
    link.course_id = course_id
    link.title = (link_claim.get("title") or link.title or "")[:255]
    link.custom = custom or link.custom
    if custom.get("masteryai_target"):
        link.target = {"kind": custom["masteryai_target"], "id": custom.get("masteryai_id")}
    if ags:
        link.ags_endpoint = ags
        link.ags_lineitem_url = ags.get("lineitem") or link.ags_lineitem_url
        link.ags_lineitems_url = ags.get("lineitems") or link.ags_lineitems_url
    if nrps:
        link.nrps_claim = nrps
        link.nrps_context_memberships_url = nrps.get("context_memberships_url")
    return link


def complete_launch(validated: ValidatedLaunch) -> LaunchOutcome:
    """Record a validated launch: user (iss+sub), course, enrollment, link, launch. Commits.

    Raises LtiLaunchError (nothing written) when a learner opens a teacher-only message.
    """
    claims = validated.claims
    quirk = quirks.for_family(validated.platform_family)
    mapped = map_roles(claims.get(LTI + "roles"))
    if mapped.course_role == "observer":
        raise LtiLaunchError(
            "role",
            "MasteryAI has no view for parents and mentors yet. The students you follow "
            "see their own progress when they open it from the course.",
            403,
        )
    if validated.message_type == DEEP_LINKING_REQUEST and mapped.course_role != "teacher":
        raise LtiLaunchError("role", "Only teachers can add this tool's content to a course.", 403)
    if not validated.deployment_known:
        registration = registry.registration_view_by_id(validated.registration_id)
        if registration is None:
            raise LtiLaunchError("issuer", "The LMS of this launch is no longer registered.", 403)
        registry.record_deployment(registration, validated.deployment_id, source="launch")
    display_name = quirk.display_name(claims)
    context = claims.get(LTI + "context") or {}
    known = _known_rows(
        validated, context.get("id"), (claims.get(LTI + "resource_link") or {}).get("id")
    )
    user = _upsert_user(validated, display_name, quirk.email(claims), mapped.user_role, known.user)
    course = None
    if context.get("id"):
        title = quirk.context_title(claims)
        course = known.course
        if course is None or (title and course.title != title):
            course = courses.upsert_lms_course(
                validated.institution_id, context["id"], title, quirk.context_code(claims)
            )
            db.session.flush()
        enrollment = known.enrollment if known.user is not None else None
        if (
            enrollment is None
            or enrollment.course_id != course.id
            or enrollment.role != mapped.course_role
            or enrollment.status != "active"
            or enrollment.test_user != mapped.is_test_user
        ):
            courses.enroll(
                validated.institution_id,
                course.id,
                user.id,
                mapped.course_role,
                "lti",
                test_user=mapped.is_test_user,
            )
    link = _upsert_resource_link(validated, course.id if course else None, known.link)
    db.session.flush()
    try:
        db.session.execute(
            insert(LaunchRecord.__table__).values(
                launch_id=validated.launch_id,
                institution_id=validated.institution_id,
                registration_id=validated.registration_id,
                deployment_id=validated.deployment_id,
                user_id=user.id,
                course_id=course.id if course else None,
                resource_link_pk=link.id if link else None,
                message_type=validated.message_type,
                role=mapped.course_role,
                state_binding=validated.state_binding,
                claims=claims,
            )
        )
    except IntegrityError as exc:
        # Only a second confirmation of the same pending launch reuses its launch_id.
        db.session.rollback()
        raise LtiLaunchError("replay", "This launch was already completed.") from exc
    outcome = LaunchOutcome(
        launch_id=validated.launch_id,
        user_id=user.id,
        institution_id=validated.institution_id,
        course_id=course.id if course else None,
        course_title=course.title if course else "",
        course_role=mapped.course_role,
        is_admin=mapped.is_admin,
        display_name=user.full_name,
        message_type=validated.message_type,
        resource_link_pk=link.id if link else None,
        target=link.target if link else None,
        resource_link_id=link.resource_link_id if link else None,
        resource_link_title=link.title if link else "",
        accepts_multiple=accepts_multiple(claims.get(DEEP_LINKING_SETTINGS) or {}),
    )
    custom = claims.get(LTI + "custom") or {}
    if (
        DUE_DATE_PARAMETER in custom
        and course is not None
        and link is not None
        and (link.target or {}).get("kind") in DUE_DATE_TARGETS
    ):
        # The assignment's due date, as the LMS has it now (the teacher may move it).
        due = custom[DUE_DATE_PARAMETER]
        graded_items.declare_from_lms(
            course, link.resource_link_id, None if due is None else str(due), link.title
        )
    if course is not None and mapped.course_role == "student":
        # A learner opening the tool is an engagement signal; it joins this transaction
        # so a refused (replayed) launch records nothing.
        engagement.record_events(
            validated.institution_id,
            [
                {
                    "user_id": user.id,
                    "course_id": course.id,
                    "kind": "launch",
                    "occurred_at": utcnow(),
                    "source": "lti",
                    "source_id": validated.launch_id,
                    "object_id": link.resource_link_id if link else None,
                }
            ],
            commit=False,
        )
    try:
        db.session.commit()
    except IntegrityError as exc:
        # A clash that surfaces only at commit: nothing of this launch is kept.
        db.session.rollback()
        raise LtiLaunchError("replay", "This launch was already completed.") from exc
    if course is not None and mapped.course_role == "teacher":
        _refresh_roster(course.id, link)
    return outcome


def _refresh_roster(course_id: int, link: ResourceLink | None) -> None:
    """Students who never launch must still be visible to the engines, so a teacher's
    launch refreshes the course roster (at most hourly, on the worker). The launch has
    committed by now: a failing sync is logged and never turns it into an error page.
    """
    if not (link and link.nrps_context_memberships_url):
        return
    if not current_app.config.get("LTI_SYNC_ROSTER_ON_LAUNCH", True):
        return
    try:
        roster.request_sync(course_id)
    except Exception:  # noqa: BLE001 - the launch already succeeded
        db.session.rollback()
        log.exception("roster sync after the launch into course %s failed", course_id)


def launch_record(launch_id: str) -> LaunchRecord | None:
    """The recorded launch with public id ``launch_id``, or None."""
    return db.session.scalar(select(LaunchRecord).where(LaunchRecord.launch_id == launch_id))
