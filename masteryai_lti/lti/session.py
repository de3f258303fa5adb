"""Working inside an LMS iframe, with or without third-party cookies.

* The OIDC ``state`` is a signed, short-lived token carrying the login's nonce
  and registration, so any app process can check it without shared storage.
  It is bound to the browser either by a cookie (``SameSite=None; Secure`` behind
  HTTPS) or, when the browser refuses third-party cookies, by the platform's
  storage frame (1EdTech "OIDC Login with LTI Client Side postMessages"): the
  login page stores the state and nonce with ``lti.put_data``; the launch page
  reads them back with ``lti.get_data`` before the launch is completed.
  The check of the platform storage runs in the tool's page in the browser that
  received the launch; like every client-side check it cannot stop someone who
  posts their *own* pending launch into a victim's browser (login CSRF), so the
  session it yields lives only in that page, never in a cookie.
* After a launch the user's session is a short-lived signed bearer token carried
  in the page (never a cookie), usable against the REST API.
* :func:`configure_app` sets iframe-friendly cookie flags. Behind a TLS-terminating
  proxy ``request.is_secure`` comes from the app's ProxyFix (``TRUSTED_PROXY_COUNT``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, request
from flask_jwt_extended import create_access_token
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pylti1p3.contrib.flask import FlaskCookieService

# How long a login may take at the platform before the launch must arrive.
STATE_MAX_AGE_SECONDS = 600
STATE_COOKIE_PREFIX = "lti1p3"
DEFAULT_SESSION_TOKEN_MINUTES = 20


class StateError(Exception):
    """The state parameter is missing, tampered with, or too old."""


@dataclass(frozen=True)
class LoginState:
    """What the login bound into ``state``."""

    sid: str  # random id: cookie name suffix and platform-storage key
    nonce: str
    registration_id: int
    storage_target: str  # lti_storage_target of the login, "" when none
    storage_origin: str  # postMessage origin of the platform storage frame


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="masteryai-lti-state")


def issue_state(
    secret_key: str,
    *,
    nonce: str,
    registration_id: int,
    storage_target: str = "",
    storage_origin: str = "",
) -> tuple[str, LoginState]:
    """A new signed state for a login; returns ``(state, LoginState)``."""
    login = LoginState(
        sid=secrets.token_urlsafe(12),
        nonce=nonce,
        registration_id=registration_id,
        storage_target=storage_target,
        storage_origin=storage_origin,
    )
    token = _serializer(secret_key).dumps(
        [login.sid, login.nonce, login.registration_id, login.storage_target, login.storage_origin]
    )
    return token, login


def read_state(
    secret_key: str, state: str | None, max_age: int = STATE_MAX_AGE_SECONDS
) -> LoginState:
    """Check and decode ``state``; raises :class:`StateError` when it is not ours."""
    if not state:
        raise StateError("The launch has no state parameter.")
    try:
        sid, nonce, registration_id, target, origin = _serializer(secret_key).loads(
            state, max_age=max_age
        )
    except SignatureExpired as exc:
        raise StateError("The login took too long; start again from the LMS.") from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise StateError("The state parameter was not issued by this tool.") from exc
    return LoginState(sid, nonce, int(registration_id), target, origin)


def state_cookie_name(sid: str) -> str:
    """The cookie that binds one login to the browser (one per login, so parallel
    launches in two frames of the same page do not overwrite each other)."""
    return f"{STATE_COOKIE_PREFIX}-state-{sid}"


def cookies_can_be_secure() -> bool:
    """Whether the current request's browser accepts ``Secure`` cookies from us.

    Behind HTTPS, of course; browsers also treat ``http://localhost`` as a secure
    context (Chrome, Firefox), which lets a developer run the iframe flow there.
    """
    return request.is_secure or request.host.rsplit(":", 1)[0] == "localhost"


class IframeCookieService(FlaskCookieService):
    """pylti1p3's Flask cookie service with iframe-safe flags.

    Where cookies can be ``Secure`` they are ``SameSite=None; Secure; Partitioned``:
    SameSite=None so the browser sends them in the LMS iframe, and Partitioned
    (CHIPS) so browsers that refuse third-party cookies still keep them for that
    LMS's frames (Chrome, Edge, Firefox). Elsewhere (plain-http development hosts)
    browsers refuse that combination, so they fall back to ``Lax`` and platform
    storage or a new window takes over.
    """

    def _get_key(self, key: str) -> str:
        # Names are already complete (see state_cookie_name).
        return key

    def update_response(self, response):
        secure = cookies_can_be_secure()
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(
                key,
                data["value"],
                max_age=data["exp"],
                secure=secure,
                httponly=True,
                path="/",
                samesite="None" if secure else "Lax",
                partitioned=secure,
            )
        return response


def issue_session_token(
    app: Flask,
    *,
    user_id: int,
    institution_id: int,
    role: str,
    course_id: int | None,
    launch_id: str,
) -> tuple[str, int]:
    """A short-lived bearer token for the launched user; returns ``(token, seconds)``.

    It is a normal API access token (identity = user id) with the launch's course
    and role as extra claims, so the page's scripts can call the REST API.
    """
    minutes = int(app.config.get("LTI_SESSION_TOKEN_MINUTES", DEFAULT_SESSION_TOKEN_MINUTES))
    token = create_access_token(
        identity=str(user_id),
        additional_claims={
            "inst": institution_id,
            "lti_launch": launch_id,
            "course_id": course_id,
            "course_role": role,
        },
        expires_delta=timedelta(minutes=minutes),
    )
    return token, minutes * 60


def configure_app(app: Flask) -> None:
    """Cookie flags for the LMS iframe; idempotent. (ProxyFix is the app's, see
    ``create_app``: the LTI URLs follow the forwarded scheme, host, port and prefix.)

    Called when the ``lti`` blueprint is registered.
    """
    if not app.config.get("ALLOW_INSECURE_HTTP"):
        # Third-party context: only SameSite=None cookies reach the iframe, and
        # browsers accept those only when Secure.
        app.config.setdefault("SESSION_COOKIE_SAMESITE", "None")
        app.config["SESSION_COOKIE_SAMESITE"] = app.config["SESSION_COOKIE_SAMESITE"] or "None"
        app.config["SESSION_COOKIE_SECURE"] = True
