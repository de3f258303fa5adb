"""Domain exceptions and the one place that turns any error into a response.

API clients get RFC 9457 ``application/problem+json`` bodies (type, title,
status, detail, and ``errors`` with a field path for validation failures);
browsers asking for HTML outside the APIs get a short HTML page instead.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, render_template_string, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://masteryai.example/problems/"


class ApiError(Exception):
    """An error a client can act on; rendered as problem+json with ``status``."""

    status = 500
    title = "Internal Server Error"
    slug = "internal-error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        title: str | None = None,
        status: int | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title or self.title)
        self.detail = detail
        self.errors = errors
        if title:
            self.title = title
        if status:
            self.status = status
        self.type = type_ or PROBLEM_TYPE_BASE + self.slug
        self.headers = headers or {}


class BadRequest(ApiError):
    status, title, slug = 400, "Bad Request", "bad-request"


class Unauthorized(ApiError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(ApiError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ApiError):
    status, title, slug = 404, "Not Found", "not-found"


class Conflict(ApiError):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(ApiError):
    status, title, slug = 412, "Precondition Failed", "precondition-failed"


class ValidationFailed(ApiError):
    status, title, slug = 422, "Validation Failed", "validation-failed"


class TooManyRequests(ApiError):
    status, title, slug = 429, "Too Many Requests", "rate-limited"


def field_error(path: str, message: str, location: str = "json") -> dict[str, str]:
    """One entry of a problem's ``errors`` list."""
    return {"path": path, "location": location, "message": message}


def flatten_messages(messages: Any, location: str, prefix: str = "") -> list[dict[str, str]]:
    """Turn marshmallow's nested message dict into a flat list with dotted paths."""
    found: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            found.extend(flatten_messages(value, location, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        found.extend(field_error(prefix or "$", message, location) for message in messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            found.extend(flatten_messages(value, location, f"{prefix}[{index}]"))
    else:
        found.append(field_error(prefix or "$", str(messages), location))
    return found


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Build an ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": type_ or "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_HTML_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;
color:#1f2937}h1{font-size:1.4rem}p{line-height:1.5}code{background:#f3f4f6;padding:0 .2rem}</style>
</head><body><h1>{{ title }}</h1><p>{{ detail }}</p>
{% if errors %}<ul>{% for e in errors %}<li><code>{{ e.path }}</code>: {{ e.message }}</li>
{% endfor %}</ul>{% endif %}<p><small>Error {{ status }}</small></p></body></html>"""


def _wants_html() -> bool:
    path = request.path
    if path.startswith(("/api", "/xapi")) or path in {"/healthz", "/readyz"}:
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > 0


def render_error(
    status: int,
    title: str,
    detail: str | None,
    *,
    type_: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render an error as problem+json, or as HTML for a browser outside the APIs."""
    if _wants_html():
        html = render_template_string(
            _HTML_PAGE, title=title, detail=detail or title, errors=errors, status=status
        )
        response = Response(html, status=status, mimetype="text/html")
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response
    return problem_response(status, title, detail, type_=type_, errors=errors, headers=headers)


def _http_exception_errors(exc: HTTPException) -> list[dict[str, str]] | None:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if not messages:
        return None
    found: list[dict[str, str]] = []
    for location, location_messages in messages.items():
        found.extend(flatten_messages(location_messages, location))
    return found


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; call after every extension that registers its own."""
    from masteryai_lti.extensions import db

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        return render_error(
            exc.status,
            exc.title,
            exc.detail,
            type_=exc.type,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException):
        errors = _http_exception_errors(exc)
        status = exc.code or 500
        headers = dict(exc.get_headers()) if exc.response is None else {}
        headers.pop("Content-Type", None)
        if status == 429:
            headers.update(_retry_after_headers(exc))
        title = exc.name
        detail = exc.description
        if errors:
            title = "Validation Failed"
            detail = "The request has invalid fields; see errors."
        return render_error(
            status,
            title,
            detail,
            type_=PROBLEM_TYPE_BASE + title.lower().replace(" ", "-"),
            errors=errors,
            headers=headers,
        )

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        try:
            db.session.rollback()
        except Exception:  # the connection the rollback needs may be the one that died
            log.debug("rollback after an error failed", exc_info=True)
        if database_unavailable(exc):
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
            return render_error(
                503,
                "Service Unavailable",
                "The database is unavailable for a moment; nothing of this request was "
                "stored. Try again shortly.",
                type_=PROBLEM_TYPE_BASE + "database-unavailable",
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
            )
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(
            500, "Internal Server Error", "The server could not complete the request."
        )


# A database restart or failover takes seconds; clients (an LRS forwarding statements,
# an LMS posting a launch, a load balancer) retry a 503 after this long.
DATABASE_RETRY_AFTER_SECONDS = 5
# PostgreSQL SQLSTATE classes that mean "try again": connection exception (08),
# transaction rollback — serialization failure, deadlock (40), insufficient resources —
# too many connections (53), operator intervention — shutdown, query cancelled (57).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")
# SQLite's equivalents: another process holds the file.
_TRANSIENT_SQLITE_MESSAGES = ("database is locked", "database is busy", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database could not be reached or asked to be retried,
    rather than a mistake in a query: the request failed as a whole (its transaction
    is rolled back) and the same request later is expected to succeed.

    A connection that died mid-request (a restart, a failover, a proxy reaping idle
    connections), a server refusing connections, an exhausted connection pool, a
    serialization failure or deadlock all qualify; a missing table or a constraint
    violation do not.
    """
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # the pool had no connection to give within its timeout
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return False
    code = getattr(exc.orig, "pgcode", None)
    if code:
        return code[:2] in _TRANSIENT_SQLSTATE_CLASSES
    if type(exc.orig).__module__.startswith("sqlite3"):
        message = str(exc.orig).lower()
        return any(text in message for text in _TRANSIENT_SQLITE_MESSAGES)
    # psycopg2 gives no SQLSTATE when it never reached the server or lost it mid-way
    # ("connection refused", "server closed the connection unexpectedly").
    return True


def _retry_after_headers(exc: HTTPException) -> dict[str, str]:
    from masteryai_lti.extensions import limiter

    limit = getattr(exc, "limit", None)
    retry_after = 60
    try:
        window = limiter.current_limit
        if window is not None:
            import time

            retry_after = max(1, int(window.reset_at - time.time()))
        elif limit is not None:
            retry_after = int(limit.limit.get_expiry())
    except Exception:  # the limiter's storage may be the thing that failed
        log.debug("could not compute Retry-After", exc_info=True)
    return {"Retry-After": str(retry_after)}
