"""Client assertions, token requests and the per-scope token cache."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from masteryai_lti.lti.keys import SigningKey, generate_key_material
from masteryai_lti.lti.platform_tokens import (
    CLIENT_ASSERTION_TYPE,
    EXPIRY_MARGIN_SECONDS,
    PlatformAccess,
    PlatformTokens,
    cache_ttl,
    client_assertion_claims,
    request_token,
    token_cache_key,
)
from masteryai_lti.lti.service_client import PlatformServiceError

NOW = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)
ACCESS = PlatformAccess(registration_id=3, client_id="c-1", token_url="https://lms/token")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    kid, pem, _jwk = generate_key_material("kid-1")
    return SigningKey(kid=kid, private_key_pem=pem)


class _Answer:
    def __init__(self, status, body):
        self.status_code, self._body = status, body
        self.text = str(body)

    @property
    def ok(self):
        return self.status_code < 400

    def json(self):
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class _Http:
    def __init__(self, *answers):
        self.answers = list(answers)
        self.posts = []

    def post(self, url, data=None, headers=None, timeout=None):
        self.posts.append((url, data))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class _DictCache:
    def __init__(self):
        self.values, self.ttls = {}, {}

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value, ttl=None):
        self.values[key], self.ttls[key] = value, ttl

    def delete(self, *keys):
        for k in keys:
            self.values.pop(k, None)


def test_assertion_claims_follow_rfc7523():
    claims = client_assertion_claims(ACCESS, NOW, "jti-1")

    assert claims["iss"] == claims["sub"] == "c-1"
    assert claims["aud"] == "https://lms/token"
    assert claims["exp"] - claims["iat"] == 300
    assert (
        client_assertion_claims(
            PlatformAccess(3, "c-1", "https://lms/token", audience="https://lms"), NOW, "j"
        )["aud"]
        == "https://lms"
    )


def test_cache_key_ignores_scope_order_and_duplicates():
    assert token_cache_key(3, ["b", "a"]) == token_cache_key(3, ["a", "b", "a"])
    assert token_cache_key(3, ["a"]) != token_cache_key(4, ["a"])
    assert token_cache_key(3, ["a"]) != token_cache_key(3, ["a", "b"])


def test_cache_ttl_keeps_a_margin():
    assert cache_ttl(3600) == 3600 - EXPIRY_MARGIN_SECONDS
    assert cache_ttl(10) == 1


def test_request_token_posts_a_verifiable_assertion(key):
    http = _Http(_Answer(200, {"access_token": "at", "expires_in": 120, "scope": "s"}))

    issued = request_token(ACCESS, ["s2", "s1"], key, http=http, now=NOW)

    assert (issued.access_token, issued.expires_in) == ("at", 120)
    url, form = http.posts[0]
    assert url == ACCESS.token_url
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert form["scope"] == "s1 s2"
    assert jwt.get_unverified_header(form["client_assertion"])["kid"] == "kid-1"
    public = key.private_key.public_key()
    claims = jwt.decode(
        form["client_assertion"],
        public,
        algorithms=["RS256"],
        audience=ACCESS.token_url,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == "c-1"


def test_a_wrong_key_does_not_verify(key):
    http = _Http(_Answer(200, {"access_token": "at"}))
    request_token(ACCESS, ["s"], key, http=http, now=NOW)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            http.posts[0][1]["client_assertion"],
            other,
            algorithms=["RS256"],
            audience=ACCESS.token_url,
            options={"verify_exp": False, "verify_iat": False},
        )


@pytest.mark.parametrize(
    "answer, retryable",
    [
        (_Answer(400, {"error": "invalid_client"}), False),
        (_Answer(503, "down"), True),
        (_Answer(200, {"token_type": "Bearer"}), False),
        (_Answer(200, ValueError("not json")), False),
        (requests.ConnectionError("refused"), True),
    ],
)
def test_token_failures(key, answer, retryable):
    with pytest.raises(PlatformServiceError) as failure:
        request_token(ACCESS, ["s"], key, http=_Http(answer), now=NOW)
    assert failure.value.retryable is retryable


def test_missing_expires_in_assumes_an_hour(key):
    issued = request_token(
        ACCESS, ["s"], key, http=_Http(_Answer(200, {"access_token": "a"})), now=NOW
    )

    assert issued.expires_in == 3600


def test_tokens_are_cached_per_scope_set_until_forgotten(key):
    http = _Http(
        _Answer(200, {"access_token": "a1", "expires_in": 600}),
        _Answer(200, {"access_token": "b1", "expires_in": 600}),
        _Answer(200, {"access_token": "a2", "expires_in": 600}),
    )
    cache = _DictCache()
    signing_calls = []

    def signing_key():
        signing_calls.append(1)
        return key

    tokens = PlatformTokens(
        ACCESS, cache=cache, http=http, signing_key=signing_key, clock=lambda: NOW
    )

    assert tokens.token_for(["score"]) == "a1"
    assert tokens.token_for(["score"]) == "a1"
    assert tokens.token_for(["nrps"]) == "b1"
    tokens.forget(["score"])
    assert tokens.token_for(["score"]) == "a2"
    assert len(http.posts) == 3 and len(signing_calls) == 3
    assert set(cache.ttls.values()) == {600 - EXPIRY_MARGIN_SECONDS}
