"""What the REST API accepts, checked once for every route before any view runs.

Views parse their input through marshmallow schemas, but some problems are the same
for every endpoint and were answered badly by each in turn (a 500 from the database,
a body silently read as ``{}``, a truncated upload). They are refused here, as
problem+json naming what was wrong and where:

* a body that is cut off at ``MAX_CONTENT_LENGTH`` instead of refused (chunked
  uploads: 413);
* JSON that does not parse (400 "Malformed JSON", with the line and column), or is
  nested deeper than the parser can follow;
* a body in another media type than the JSON an endpoint reads (415), or none where
  the endpoint needs one (422);
* text no database column can hold (NUL, unpaired surrogates) and numbers no column
  can hold (non-finite, or integers beyond 64 bits), anywhere in the JSON body, the
  query string (integers: in the parameters declared as such) or the path (422).
"""

from __future__ import annotations

import math
from typing import IO, Any

from flask import Flask, Request, current_app, request
from marshmallow import Schema, fields
from webargs.core import is_json
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from masteryai_lti.core.errors import ApiError, ValidationFailed, field_error
from masteryai_lti.core.storable import LARGEST_INTEGER, fits_64_bits, unstorable_character

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnsupportedMediaType(ApiError):
    status, title, slug = 415, "Unsupported Media Type", "unsupported-media-type"


class MalformedJson(ApiError):
    status, title, slug = 400, "Malformed JSON", "malformed-json"


class _CappedStream(LimitedStream):
    """A request stream of unknown length (chunked) that refuses to end early.

    Werkzeug stops reading such a stream at ``MAX_CONTENT_LENGTH`` and hands back
    what it read as if it were the whole body: a CSV loses its last rows, JSON its
    closing brace. Reading one byte past the cap tells a body that fits exactly from
    one that goes on, and the latter is a 413 like a body with Content-Length.
    """

    def __init__(self, stream, cap: int) -> None:
        super().__init__(stream, cap + 1, is_max=True)
        self._cap = cap

    def readinto(self, buffer) -> int | None:  # type: ignore[override]
        count = super().readinto(buffer)
        if self._pos > self._cap:
            raise RequestEntityTooLarge()
        return count


class JsonTooDeep(ValueError):
    """JSON nested deeper than the parser's stack: it raises RecursionError, which
    Flask does not take for bad input (a 500); refused as malformed instead."""

    def __init__(self) -> None:
        super().__init__("The JSON is nested too deeply to be read.")


class ApiRequest(Request):
    """Flask's request with an honest size limit and precise JSON errors."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            return self.on_json_loading_failed(JsonTooDeep())

    @cached_property
    def stream(self) -> IO[bytes]:
        if self.shallow:
            raise RuntimeError("A shallow request may not read its body.")
        cap = self.max_content_length
        chunked = self.content_length is None and "wsgi.input_terminated" in self.environ
        if cap is not None and chunked:
            return _CappedStream(self.environ["wsgi.input"], cap)
        return get_input_stream(self.environ, max_content_length=cap)

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        # Other protocols (LTI, xAPI) keep the errors their own handlers expect.
        if not self.path.startswith("/api/"):
            return super().on_json_loading_failed(e)
        if e is None:  # not a JSON media type
            raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json).")
        detail = _json_error_detail(e)
        raise MalformedJson(detail, errors=[field_error("$", detail)])


def _json_error_detail(error: ValueError) -> str:
    line, column, position = (getattr(error, name, None) for name in ("lineno", "colno", "pos"))
    if line is not None:
        message = getattr(error, "msg", str(error))
        return f"{message} at line {line}, column {column} (character {position})."
    if isinstance(error, JsonTooDeep):
        return str(error)
    if isinstance(error, UnicodeDecodeError):
        return f"The body is not UTF-8: byte {error.start} cannot be decoded."
    return f"The body is not JSON: {error}."


class IdConverter(IntegerConverter):
    """``<int:…>`` with the largest id a database holds: a longer number names
    nothing (404), where it used to overflow SQLite's integers (500)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=LARGEST_INTEGER, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _declared_arguments(app: Flask) -> tuple[dict | None, tuple[str, ...]]:
    """What this endpoint's flask-smorest decorators declared: its JSON body argument
    (if any) and the names of its integer query parameters.

    flask-smorest keeps what ``@blp.arguments`` and ``@blp.paginate`` declared on the
    view (``_apidoc``); reading it here lets one hook apply these rules to every
    endpoint without each feature repeating them. Cached per endpoint and method.
    """
    cache = app.extensions.setdefault("masteryai_declared_arguments", {})
    key = (request.endpoint, request.method)
    if key not in cache:
        view = app.view_functions.get(request.endpoint)
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            view = getattr(view_class, request.method.lower(), None)
        apidoc = getattr(view, "_apidoc", None) or {}
        parameters = [
            *apidoc.get("arguments", {}).get("parameters", []),
            apidoc.get("pagination", {}).get("parameters", {}),
        ]
        body = next((p for p in parameters if p.get("in") == "json"), None)
        integers = tuple(
            name
            for p in parameters
            if p.get("in") == "query"
            for name, field in _schema_fields(p.get("schema"))
            if isinstance(field, fields.Integer)
        )
        cache[key] = (body, integers)
    return cache[key]


def _schema_fields(schema) -> list[tuple[str, fields.Field]]:
    if isinstance(schema, type):
        schema = schema()
    if not isinstance(schema, Schema):
        return []
    return [(field.data_key or name, field) for name, field in schema.fields.items()]


def _has_body() -> bool:
    if request.content_length is not None:
        return request.content_length > 0
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _unfit_values(value: Any, path: str) -> list[dict[str, str]]:
    """Strings and numbers in a parsed JSON document that no column can store."""
    found: list[dict[str, str]] = []
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                found.append(field_error(where or "$", problem))
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not -LARGEST_INTEGER - 1 <= node <= LARGEST_INTEGER:
                found.append(field_error(where or "$", "Number out of range (64-bit integers)."))
        elif isinstance(node, float):
            if not math.isfinite(node):
                found.append(field_error(where or "$", "Number out of range (not finite)."))
        elif isinstance(node, dict):
            for key, item in node.items():
                child = f"{where}.{key}" if where else str(key)
                problem = _text_problem(key)
                if problem:
                    found.append(field_error(child, f"Field name: {problem}"))
                stack.append((item, child))
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(node))
    found.sort(key=lambda error: error["path"])
    return found


def _beyond_64_bits(text: str) -> bool:
    digits = text.strip().lstrip("+-")
    return digits.isascii() and digits.isdigit() and not fits_64_bits(digits)


_TEXT_PROBLEMS = {
    "nul": "Must not contain the NUL character (U+0000).",
    "surrogate": "Must not contain unpaired surrogates (invalid Unicode).",
}


def _text_problem(text: str) -> str | None:
    found = unstorable_character(text)
    return _TEXT_PROBLEMS[found] if found else None


def check_api_request() -> None:
    """``before_request`` for ``/api/``: the rules of the module docstring."""
    if not request.path.startswith("/api/") or request.endpoint is None:
        return
    body_argument, integer_parameters = _declared_arguments(current_app)
    errors = []
    for key, value in request.args.items(multi=True):
        problem = _text_problem(key) or _text_problem(value)
        if problem:
            errors.append(field_error(key, problem, "query"))
        elif key in integer_parameters and _beyond_64_bits(value):
            errors.append(field_error(key, "Number out of range (64-bit integers).", "query"))
    for key, value in (request.view_args or {}).items():
        problem = isinstance(value, str) and _text_problem(value)
        if problem:
            errors.append(field_error(key, problem, "path"))
    if errors:
        raise ValidationFailed("The request has values that cannot be stored.", errors=errors)

    if request.method not in _BODY_METHODS or body_argument is None:
        return
    if not _has_body():
        if body_argument.get("required", True):
            raise ValidationFailed(
                "This endpoint needs a JSON body.",
                errors=[field_error("$", "A JSON body is required.")],
            )
        return
    if not is_json(request.mimetype):
        sent = request.mimetype or "no Content-Type"
        raise UnsupportedMediaType(
            f"The body must be JSON (Content-Type: application/json), not {sent}."
        )
    document = request.get_json()
    errors = _unfit_values(document, "")
    if errors:
        raise ValidationFailed("The body has values that cannot be stored.", errors=errors)


def init_app(app: Flask) -> None:
    """Install the request class, the id converter and the check; before blueprints."""
    app.request_class = ApiRequest
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_api_request)
