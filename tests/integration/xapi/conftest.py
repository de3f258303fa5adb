"""Fixtures for the Statement API: an institution, an LRS credential, a posting client."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest

from tests.factories import make_institution


@pytest.fixture(autouse=True)
def _fresh_credential_cache():
    from masteryai_lti.xapi.credentials import forget_cached_credentials

    forget_cached_credentials()
    yield
    forget_cached_credentials()


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class Lrs:
    """A test client speaking xAPI with one credential and one version."""

    def __init__(self, client, key: str, secret: str, version: str = "1.0.3") -> None:
        self.client = client
        self.auth = basic(key, secret)
        self.version = version
        self.key = key

    def headers(self, **extra) -> dict:
        headers = {"Authorization": self.auth, "X-Experience-API-Version": self.version}
        headers.update(extra)
        return headers

    def post(self, payload, **kwargs):
        return self.client.post("/xapi/statements", json=payload, headers=self.headers(), **kwargs)

    def put(self, statement_id: str, payload):
        return self.client.put(
            "/xapi/statements",
            query_string={"statementId": statement_id},
            json=payload,
            headers=self.headers(),
        )

    def get(self, url="/xapi/statements", **params):
        headers = self.headers(**params.pop("headers", {}))
        return self.client.get(url, query_string=params or None, headers=headers)


@pytest.fixture
def institution(app_context):
    return make_institution(slug=f"school-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def credential(institution):
    from masteryai_lti.xapi.credentials import issue_credential

    return issue_credential(institution.id, "Test LRS")


@pytest.fixture
def lrs(client, credential):
    return Lrs(client, credential.key, credential.secret)


@pytest.fixture
def lrs2(client, credential):
    return Lrs(client, credential.key, credential.secret, version="2.0.0")


def statement(n: int = 0, **overrides) -> dict:
    """A minimal valid statement; ``n`` varies the actor."""
    body = {
        "actor": {"objectType": "Agent", "mbox": f"mailto:learner{n}@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
        "object": {
            "objectType": "Activity",
            "id": "http://example.org/activity/q1",
            "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction"},
        },
    }
    body.update(overrides)
    return body


BOUNDARY = "xapi-test-boundary"


def attachment_of(data: bytes, content_type: str = "text/plain", **extra) -> dict:
    """An attachment's metadata for ``data`` (SHA-256)."""
    return {
        "usageType": "http://example.org/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": content_type,
        "length": len(data),
        "sha2": hashlib.sha256(data).hexdigest(),
        **extra,
    }


def multipart_body(payload, parts, *, encoding="binary") -> bytes:
    """A multipart/mixed body: ``payload`` as JSON, then each ``(content type, data, sha2)``."""
    out = f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n".encode()
    out += json.dumps(payload).encode() + b"\r\n"
    for content_type, data, sha2 in parts:
        out += f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\n".encode()
        if encoding:
            out += f"Content-Transfer-Encoding: {encoding}\r\n".encode()
        out += f"X-Experience-API-Hash: {sha2}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def post_multipart(lrs, body: bytes):
    """POST a :func:`multipart_body` to the Statement API as ``lrs``."""
    return lrs.client.post(
        "/xapi/statements",
        data=body,
        headers=lrs.headers(**{"Content-Type": f'multipart/mixed; boundary="{BOUNDARY}"'}),
    )
