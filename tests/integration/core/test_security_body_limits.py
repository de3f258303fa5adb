"""Every route that takes a body refuses one over MAX_CONTENT_LENGTH with a 413, whatever
its media type and whether its length is declared or not (chunked): imports, xAPI
statements with attachments, documents, forms. Walked over the URL map, so a new upload
route is checked without anyone listing it."""

from __future__ import annotations

import base64
import http.client
import threading

import pytest
from werkzeug.serving import make_server

from masteryai_lti.xapi import credentials
from tests.factories import make_institution
from tests.integration.core.test_security_tenancy import _build, _path

LIMIT = 4096
# Routes that read no body of the client's, or belong to the LMS sandbox (development).
NO_BODY = {"/lti/sandbox/auth", "/lti/sandbox/deep_link_return"}


def _write_rules(app, client) -> list[tuple[str, str]]:
    """Write routes that read a body: every one outside the REST API, and those of the API
    whose OpenAPI operation declares a request body (the others never read one)."""
    spec = client.get("/api/openapi.json").get_json()["paths"]
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.rule in NO_BODY or rule.rule.startswith("/static"):
            continue
        spec_path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            operation = spec.get(spec_path, {}).get(method.lower())
            if rule.rule.startswith("/api/") and "requestBody" not in (operation or {}):
                continue
            rules.append((rule.rule, method))
    return sorted(rules)


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
@pytest.mark.parametrize(
    "mimetype",
    ["application/json", "text/csv", "multipart/mixed", "application/x-www-form-urlencoded"],
)
def test_every_body_over_the_limit_is_413(app, make_app, client, mimetype, chunked):
    school = _build(app, client)
    limited = make_app(MAX_CONTENT_LENGTH=LIMIT)
    with app.app_context():
        issued = credentials.issue_credential(make_institution().id, "lrs", ("write",))
    basic = base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode()
    body = b'{"a": "' + b"x" * (2 * LIMIT) + b'"}'
    content_type = mimetype + ('; boundary="b"' if mimetype.startswith("multipart") else "")
    # LMS pages post forms; the API and xAPI read JSON, sheets and multipart bodies.
    form = mimetype == "application/x-www-form-urlencoded"
    walked = [(r, m) for r, m in _write_rules(app, client) if r.startswith("/lti/") == form]
    assert ("/lti/launch", "POST") in walked if form else ("/xapi/statements", "PUT") in walked
    send = _chunked_sender(limited) if chunked else _declared_sender(limited)
    not_refused = []
    with send:
        for rule, method in walked:
            headers = {"Content-Type": content_type}
            if rule.startswith("/xapi"):
                headers |= {"Authorization": f"Basic {basic}", "X-Experience-API-Version": "1.0.3"}
            else:
                headers |= school.teacher
            path = _path(rule, school.ids, school.ids["course_id"]) if "<" in rule else rule
            path += "?statementId=5d1c2b4e-0b7a-4c3e-9a3b-2f1e0d9c8b7a"
            status = send(method, path, body, headers)
            # 415: refused for its media type before a byte of it was read.
            if status not in (413, 415):
                not_refused.append(f"{method} {path}: {status}")
    assert not_refused == [], "\n".join(not_refused)


class _declared_sender:  # noqa: N801 (used as a function)
    """Requests with Content-Length, through the test client."""

    def __init__(self, app) -> None:
        self._client = app.test_client()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __call__(self, method, path, body, headers) -> int:
        return self._client.open(path, method=method, data=body, headers=headers).status_code


class _chunked_sender:  # noqa: N801 (used as a function)
    """Requests of undeclared length (Transfer-Encoding: chunked) to a real server."""

    def __init__(self, app) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __call__(self, method, path, body, headers) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self._server.port, timeout=30)
        try:
            pieces = [body[i : i + 512] for i in range(0, len(body), 512)]
            connection.request(
                method,
                path,
                body=iter(pieces),
                headers={**headers, "Transfer-Encoding": "chunked"},
                encode_chunked=True,
            )
            reply = connection.getresponse()
            reply.read()
            return reply.status
        finally:
            connection.close()
