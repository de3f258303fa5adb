"""The OpenAPI document says what the API really sends.

flask-smorest documents every error as ``application/json`` with its own ``Error``
schema, but every error this app sends is ``application/problem+json`` (core.errors),
and it declares ``X-Pagination`` as an object although a header is text (JSON text,
here). :class:`ProblemApi` documents errors with the one ``Problem`` schema, adds the
401 of every operation that needs a token and the 415 of every JSON body, and
declares ``X-Pagination`` as JSON text.
"""

from __future__ import annotations

import http

from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response

from masteryai_lti.core.errors import PROBLEM_MEDIA_TYPE
from masteryai_lti.core.schemas import ProblemSchema

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _is_error(status) -> bool:
    return status == "default" or (str(status).isdigit() and int(status) >= 400)


class ProblemResponsesPlugin(BasePlugin):
    """Rewrites each operation's error responses as problem+json (runs after the
    marshmallow plugin, so schemas are already references)."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                if _is_error(status) and isinstance(response, dict) and "content" in response:
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": dict(_PROBLEM_REF)}}
            if operation.get("security"):
                responses.setdefault("401", http.HTTPStatus.UNAUTHORIZED.name)
            body = operation.get("requestBody", {})
            if "application/json" in body.get("content", {}):
                responses.setdefault("415", http.HTTPStatus.UNSUPPORTED_MEDIA_TYPE.name)


class ProblemApi(Api):
    """flask-smorest's Api documenting the errors and headers this app sends."""

    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *, extra_plugins=None, **kwargs):
        # The default error responses registered here name ProblemSchema first, so the
        # marshmallow plugin registers it as "Problem", the reference used below.
        plugins = [*(extra_plugins or ()), ProblemResponsesPlugin()]
        super()._init_spec(extra_plugins=plugins, **kwargs)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = ProblemSchema
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (problem details)", "schema": ProblemSchema}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def _register_pagination_header(self):
        # A header value is text: this one is a JSON object serialised, which OpenAPI 3
        # says with a media type instead of a schema (Header Object, "content").
        self.spec.components.header(
            "PAGINATION",
            {
                "description": "Pagination metadata, as JSON text",
                "content": {"application/json": {"schema": PaginationMetadataSchema}},
            },
            lazy=True,
        )
