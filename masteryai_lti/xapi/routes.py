"""The xAPI HTTP surface: ``/xapi/statements`` and ``/xapi/about`` (blueprint ``xapi``).

A plain Flask blueprint rather than flask-smorest: the xAPI specification fixes the
status codes (400, never 422), the headers and the body shapes itself. Each handler
parses the request, authenticates the LRS credential, calls one ``service`` function
and shapes the response. Sections cited are xAPI 1.0.3 (Communication) unless marked
2.0 (IEEE 9274.1.1).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from email.utils import format_datetime
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, g, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import ApiError, Unauthorized, problem_response
from masteryai_lti.extensions import limiter
from masteryai_lti.xapi import json_input, lookup, service
from masteryai_lti.xapi.credentials import CredentialInfo, authenticate
from masteryai_lti.xapi.indexing import accepted_languages
from masteryai_lti.xapi.multipart import (
    MultipartError,
    build_multipart,
    media_type,
    parse_multipart,
)
from masteryai_lti.xapi.service import Attachments, XapiBadRequest, bad_request
from masteryai_lti.xapi.validation import (
    VERSION_1_RE,
    VERSION_2_RE,
    is_iri,
    parse_statement_query,
    validate_agent_parameter,
    validate_post_parameters,
    validate_put_parameters,
)

bp = Blueprint("xapi", __name__, url_prefix="/xapi")


@limiter.request_filter
def _statement_writes_are_not_rate_limited() -> bool:
    # An LRS forwarder's writes are authenticated, bursty and carry no per-IP limit;
    # skipping the limiter's per-request bookkeeping saves ~5% of a single POST's CPU.
    return request.endpoint == "xapi.statements" and request.method in ("POST", "PUT")


SUPPORTED_VERSIONS = ("1.0.3", "2.0.0")
LATEST = "2.0.0"
# Form fields of the 1.0.3 alternate request syntax that stand for headers (1.3.s3.b4).
_ALTERNATE_HEADERS = {
    "authorization": "Authorization",
    "x-experience-api-version": "X-Experience-API-Version",
    "content-type": "Content-Type",
    "content-length": "Content-Length",
    "if-match": "If-Match",
    "if-none-match": "If-None-Match",
}


@dataclass
class XapiRequest:
    """The request after undoing the alternate syntax: method, parameters, headers, body."""

    method: str
    params: dict[str, str]
    headers: Headers
    body: bytes
    alternate: bool = False
    version: str = LATEST
    multi: list[str] = field(default_factory=list)


def negotiate_version(header: str | None) -> str:
    """Map ``X-Experience-API-Version`` to the rules we apply (Communication 3.3)."""
    if header is None or not header.strip():
        raise bad_request(
            "X-Experience-API-Version", "the X-Experience-API-Version header is required"
        )
    value = header.strip()
    # Communication 3.3: a version starting "1.0." is read as the latest 1.0 patch
    # (patch versions add no rules), and so is the bare "1.0"; likewise 2.0.x.
    if VERSION_1_RE.match(value):
        return "1.0.3"
    if VERSION_2_RE.match(value):
        return "2.0.0"
    raise bad_request(
        "X-Experience-API-Version",
        f"version {value!r} is not supported; use one of {', '.join(SUPPORTED_VERSIONS)}",
    )


# The version each credential key last spoke, so an error for a request that names
# none (Communication 3.3: 400) still answers in the client's version.
_last_version: dict[str, str] = {}


def _basic_key(headers) -> str | None:
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None


def _negotiate(xreq: XapiRequest) -> str:
    key = _basic_key(xreq.headers)
    header = xreq.headers.get("X-Experience-API-Version")
    if header is None and key in _last_version:
        g.xapi_version = _last_version[key]
    version = negotiate_version(header)
    g.xapi_version = version
    if key is not None and _last_version.get(key) != version:
        if len(_last_version) > 10_000:
            _last_version.clear()
        _last_version[key] = version
    return version


def _single_params(pairs) -> tuple[dict[str, str], list[str]]:
    params: dict[str, str] = {}
    repeated = []
    for name, value in pairs:
        if name in params:
            repeated.append(name)
        params[name] = value
    return params, repeated


def _refuse_nul(params: dict[str, str]) -> None:
    # A NUL (%00) reaches PostgreSQL as a text value it cannot hold; every parameter is
    # text compared with stored columns, so no parameter may carry one.
    for name, value in params.items():
        if "\x00" in name or "\x00" in value:
            raise bad_request(
                json_input.shown(name), "parameters must not contain the NUL character (%00)"
            )


def _read_request() -> XapiRequest:
    xreq = _undo_alternate_syntax()
    _refuse_nul(xreq.params)
    return xreq


def _undo_alternate_syntax() -> XapiRequest:
    params, repeated = _single_params(request.args.items(multi=True))
    if "method" not in params:
        # The request's own headers, read-only: nothing writes to them.
        return XapiRequest(
            request.method, params, request.headers, request.get_data(), multi=repeated
        )
    # Alternate request syntax (1.0.3 Communication 1.3): POST ?method=X with the
    # headers, parameters and content as form fields. Removed in 2.0.
    form_version = None
    if media_type(request.headers.get("Content-Type", "")) == "application/x-www-form-urlencoded":
        form = dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
        form_version = form.get("X-Experience-API-Version")
    version_header = request.headers.get("X-Experience-API-Version") or form_version
    version = negotiate_version(version_header)
    if version.startswith("2."):
        raise bad_request("method", "the alternate request syntax is not allowed in xAPI 2.0")
    if request.method != "POST":
        raise bad_request("method", "the alternate request syntax must be issued as a POST")
    method = params.pop("method").upper()
    if params:
        raise bad_request(
            sorted(params)[0], "an alternate-syntax request takes only 'method' in its query string"
        )
    if method not in ("GET", "PUT", "POST", "HEAD", "DELETE"):
        raise bad_request("method", f"unknown method {method!r}")
    if media_type(request.headers.get("Content-Type", "")) != "application/x-www-form-urlencoded":
        raise bad_request(
            "Content-Type", "an alternate-syntax request must be application/x-www-form-urlencoded"
        )
    form_pairs = parse_qsl(request.get_data(as_text=True), keep_blank_values=True)
    alt_headers = Headers()
    # Real headers count too; form fields named like headers override them (1.3.s3.b7).
    for name in ("Authorization", "X-Experience-API-Version", "Accept-Language"):
        if name in request.headers:
            alt_headers[name] = request.headers[name]
    alt_params: dict[str, str] = {}
    content = None
    for name, value in form_pairs:
        lowered = name.lower()
        if lowered in _ALTERNATE_HEADERS:
            alt_headers.set(_ALTERNATE_HEADERS[lowered], value)
        elif name == "content":
            content = value
        else:
            alt_params[name] = value
    if method in ("PUT", "POST") and content is None:
        raise bad_request("content", "an alternate-syntax PUT or POST needs a 'content' form field")
    alt_headers.setdefault("Content-Type", "application/json")
    return XapiRequest(
        method,
        alt_params,
        alt_headers,
        (content or "").encode("utf-8"),
        alternate=True,
    )


def _credential(xreq: XapiRequest) -> CredentialInfo:
    header = xreq.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        raise Unauthorized("HTTP Basic credentials are required.", headers=_challenge())
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("Malformed Basic credentials.", headers=_challenge()) from None
    key, sep, secret = decoded.partition(":")
    credential = authenticate(key, secret) if sep else None
    if credential is None:
        raise Unauthorized("Unknown, revoked or wrong xAPI credentials.", headers=_challenge())
    return credential


def authenticated_request() -> tuple[XapiRequest, CredentialInfo]:
    """The request read (alternate syntax undone), its version negotiated and its LRS
    credential checked: how every credentialed xAPI resource starts."""
    xreq = _read_request()
    xreq.version = _negotiate(xreq)
    return xreq, _credential(xreq)


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Basic realm="xAPI"'}


def _json_body(xreq: XapiRequest, raw: bytes | None = None) -> object:
    try:
        return json_input.loads(xreq.body if raw is None else raw)
    except json_input.JsonInputError as exc:
        # Nothing is stored: the body is refused before validation even starts.
        raise bad_request(exc.path, exc.message) from None


def _statements_and_attachments(xreq: XapiRequest) -> tuple[object, Attachments]:
    content_type = xreq.headers.get("Content-Type", "")
    kind = media_type(content_type)
    if kind in ("", "application/json"):
        return _json_body(xreq), Attachments()
    if kind != "multipart/mixed":
        raise bad_request(
            "Content-Type", "statements must be sent as application/json or multipart/mixed"
        )
    try:
        parts = parse_multipart(xreq.body, content_type)
    except MultipartError as exc:
        raise bad_request(exc.path, exc.message) from None
    first = parts[0]
    if first.content_type != "application/json":
        raise bad_request(
            "parts[0]", "the first part must be application/json and hold the statements"
        )
    attachments = Attachments(multipart=True)
    for index, part in enumerate(parts[1:], start=1):
        sha2 = part.headers.get("x-experience-api-hash", "").strip().lower()
        if not sha2:
            raise bad_request(f"parts[{index}]", "an attachment part needs X-Experience-API-Hash")
        encoding = part.headers.get("content-transfer-encoding")
        if encoding is not None and encoding.strip().lower() != "binary":
            raise bad_request(
                f"parts[{index}]", "Content-Transfer-Encoding of an attachment part must be binary"
            )
        algorithm = service.sha2_name(sha2)
        if algorithm is None:
            raise bad_request(
                f"parts[{index}]",
                "X-Experience-API-Hash must be a SHA-2 hex digest (SHA-256, SHA-384 or SHA-512)",
            )
        if not service.matches_sha2(part.body, sha2):
            raise bad_request(
                f"parts[{index}]", f"X-Experience-API-Hash is not the {algorithm} of the part"
            )
        attachments.parts[sha2] = (
            part.headers.get("content-type", "application/octet-stream"),
            part.body,
        )
    return _json_body(xreq, first.body), attachments


_home_pages: dict[tuple, str] = {}


def _home_page() -> str:
    configured = current_app.config.get("XAPI_AUTHORITY_HOMEPAGE")
    if configured:
        return configured
    # request.host_url rebuilds and IRI-decodes the URL on every call; a server has few.
    environ = request.environ
    key = (
        environ.get("wsgi.url_scheme", ""),
        environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}",
        environ.get("SCRIPT_NAME", ""),
    )
    home = _home_pages.get(key)
    if home is None:
        home = request.host_url.rstrip("/")
        if len(_home_pages) < 100:
            _home_pages[key] = home
    return home


def _json_response(payload: object, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )


def _problems(problems) -> XapiBadRequest:
    return XapiBadRequest(problems)


@bp.route("/statements", methods=["GET", "HEAD", "PUT", "POST"])
def statements():
    """Statement resource (Communication 2.1; 2.0 4.1.6.1)."""
    xreq, credential = authenticated_request()
    request.environ[_INSTITUTION] = credential.institution_id
    if xreq.multi:
        raise bad_request(xreq.multi[0], "a parameter may be given only once")
    if xreq.method in ("GET", "HEAD"):
        # Before the query: a write committing while it runs has left the in-flight
        # register, and a header taken afterwards could pass its statements.
        request.environ[_CONSISTENT_THROUGH] = service.consistent_through(credential.institution_id)
        response = _get(xreq, credential)
        if xreq.method == "HEAD" or request.method == "HEAD":
            response.set_data(b"")
        return response
    if xreq.method == "PUT":
        payload, attachments = _statements_and_attachments(xreq)
        problems = validate_put_parameters(xreq.params, payload)
        if problems:
            raise _problems(problems)
        if not isinstance(payload, dict):
            raise bad_request("body", "PUT /statements takes one statement object")
        service.store_statements(
            credential,
            payload,
            version=xreq.version,
            home_page=_home_page(),
            attachments=attachments,
            statement_id=xreq.params["statementId"],
        )
        return Response(status=204)
    if xreq.method == "POST":
        problems = validate_post_parameters(xreq.params)
        if problems:
            raise _problems(problems)
        payload, attachments = _statements_and_attachments(xreq)
        ids = service.store_statements(
            credential,
            payload,
            version=xreq.version,
            home_page=_home_page(),
            attachments=attachments,
        )
        return _json_response(ids)
    raise bad_request("method", f"{xreq.method} is not a method of the Statement resource")


def _get(xreq: XapiRequest, credential: CredentialInfo) -> Response:
    params = xreq.params
    languages = accepted_languages(xreq.headers.get("Accept-Language"))
    if "more" in params:
        if len(params) > 1:
            raise bad_request("more", "a more token replaces every other parameter")
        page, filters = service.query_statements(
            credential, more=params["more"], more_url=_statements_path()
        )
        return _result_response(credential, page, filters, languages, xreq.version)
    query, problems = parse_statement_query(params, xreq.version)
    if problems:
        raise _problems(problems)
    single = query.statement_id or query.voided_statement_id
    if single:
        statement = service.get_statement(
            credential, single, voided=query.voided_statement_id is not None
        )
        shaped = service.shape_statements(
            credential, [statement], query.format, languages, version=xreq.version
        )[0]
        response = _with_attachments(credential, shaped, [statement], query.attachments)
        if xreq.version.startswith("2."):
            response.headers["Last-Modified"] = _http_date(statement.get("stored"))
        return response
    page, filters = service.query_statements(credential, query, more_url=_statements_path())
    return _result_response(credential, page, filters, languages, xreq.version)


def _statements_path() -> str:
    # Behind a proxy that mounts us under a prefix (X-Forwarded-Prefix via ProxyFix),
    # request.path lacks it; the script root carries it, so the link stays followable.
    return request.script_root + request.path


def _http_date(stored: str | None) -> str:
    from masteryai_lti.xapi.timestamps import timestamp_instant

    instant = timestamp_instant(stored) if stored else utcnow()
    return format_datetime(instant, usegmt=True)


def _result_response(credential, page, filters, languages, version) -> Response:
    shaped = service.shape_statements(
        credential, page.statements, filters.get("format", "exact"), languages, version=version
    )
    result = {"statements": shaped, "more": page.more or ""}
    response = _with_attachments(
        credential, result, page.statements, bool(filters.get("attachments"))
    )
    if version.startswith("2."):
        instant = page.last_stored or utcnow()
        response.headers["Last-Modified"] = format_datetime(instant, usegmt=True)
    return response


def _with_attachments(credential, payload, statements, with_attachments: bool) -> Response:
    if not with_attachments:
        return _json_response(payload)
    parts = service.attachments_for(credential.institution_id, statements)
    body, content_type = build_multipart(
        json.dumps(payload, ensure_ascii=False).encode("utf-8"), parts
    )
    return Response(body, status=200, content_type=content_type)


@bp.route("/activities", methods=["GET", "HEAD"])
def activities():
    """Activities resource: the Activity object for ``activityId`` (Communication 2.5)."""
    xreq, credential = authenticated_request()
    _ensure_only(xreq.params, {"activityId"}, required="activityId")
    activity_id = xreq.params["activityId"]
    if not is_iri(activity_id):
        raise bad_request("activityId", "activityId must be an IRI")
    return _json_response(lookup.activity_object(credential, activity_id))


@bp.route("/agents", methods=["GET", "HEAD"])
def agents():
    """Agents resource: the Person object for ``agent`` (Communication 2.4)."""
    xreq, credential = authenticated_request()
    _ensure_only(xreq.params, {"agent"}, required="agent")
    agent, problems = validate_agent_parameter(xreq.params["agent"], xreq.version)
    if problems:
        raise _problems(problems)
    if agent.get("objectType") == "Group":
        raise bad_request("agent", "the Agents resource takes an Agent, not a Group")
    return _json_response(lookup.person_object(credential, agent))


def _ensure_only(params: dict, allowed: set[str], *, required: str) -> None:
    for name in params:
        if name not in allowed:
            raise bad_request(name, f"'{name}' is not a parameter of this resource")
    if required not in params:
        raise bad_request(required, f"the {required} parameter is required")


@bp.route("/about", methods=["GET", "HEAD"])
def about():
    """About resource: supported versions (Communication 2.8); no credentials needed."""
    return _json_response(
        {
            "version": list(SUPPORTED_VERSIONS),
            "extensions": {
                "https://masteryai.example/xapi/extensions/statement-paging": {
                    "more_valid_hours": 168
                }
            },
        }
    )


# Per request, in the WSGI environ: ``g`` lives as long as the app context, which a
# caller holding one shares between requests.
_INSTITUTION = "masteryai.xapi.institution_id"
_CONSISTENT_THROUGH = "masteryai.xapi.consistent_through"


@bp.after_request
def _xapi_headers(response: Response) -> Response:
    # Communication 3.3: every response names the version; 2.1.3.s2.b5: statement
    # responses carry Consistent-Through whatever their status.
    response.headers["X-Experience-API-Version"] = getattr(g, "xapi_version", None) or LATEST
    if request.path.endswith("/statements"):
        environ = request.environ
        through = environ.get(_CONSISTENT_THROUGH) or service.consistent_through(
            environ.get(_INSTITUTION), fresh=False
        )
        response.headers["X-Experience-API-Consistent-Through"] = through
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    # xAPI fixes the codes: a malformed statement or parameter is 400, never 422.
    status = 400 if exc.status == 422 else exc.status
    return problem_response(
        status,
        exc.title if status == exc.status else "Bad Request",
        exc.detail,
        type_=exc.type,
        errors=exc.errors,
        headers=exc.headers,
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    status = exc.code or 500
    if status == 413:
        return problem_response(413, "Payload Too Large", exc.description)
    return problem_response(status, exc.name, exc.description)


# The State and Profile resources live in their own module on this blueprint; importing
# it here registers them whichever of the two modules the app factory loads first.
from masteryai_lti.xapi import document_routes  # noqa: E402, F401
