"""Tool keys: /lti/jwks, and `flask lti rotate-key` / `list-keys` / `delete-key`."""

from __future__ import annotations

import jwt
from jwt.algorithms import RSAAlgorithm

from masteryai_lti.lti import keys


def test_jwks_publishes_an_rs256_key_with_kid(client):
    response = client.get("/lti/jwks")

    body = response.get_json()
    assert response.status_code == 200
    assert len(body["keys"]) == 1
    key = body["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert "d" not in key and "p" not in key  # never the private half
    # RFC 7517 §4.3: "use" and "key_ops" SHOULD NOT be used together.
    assert "key_ops" not in key


def test_rotate_key_signs_with_the_new_key_and_keeps_the_old_published(app, client, runner):
    old_kid = client.get("/lti/jwks").get_json()["keys"][0]["kid"]

    result = runner.invoke(args=["lti", "rotate-key"])

    assert result.exit_code == 0, result.output
    published = client.get("/lti/jwks").get_json()["keys"]
    assert [k["kid"] for k in published][1:] == [old_kid]
    new_kid = published[0]["kid"]
    assert new_kid in result.output
    with app.app_context():
        signer = keys.signing_key()
        assert signer.kid == new_kid
        token = jwt.encode({"x": 1}, signer.private_key, algorithm="RS256")
        public = RSAAlgorithm.from_jwk(published[0])
        assert jwt.decode(token, public, algorithms=["RS256"]) == {"x": 1}


def test_delete_key_removes_a_retired_key_from_the_jwks(client, runner):
    old_kid = client.get("/lti/jwks").get_json()["keys"][0]["kid"]
    runner.invoke(args=["lti", "rotate-key"])

    result = runner.invoke(args=["lti", "delete-key", old_kid])

    assert result.exit_code == 0, result.output
    kids = [k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]]
    assert old_kid not in kids and len(kids) == 1


def test_the_active_key_cannot_be_deleted(client, runner):
    active = client.get("/lti/jwks").get_json()["keys"][0]["kid"]

    result = runner.invoke(args=["lti", "delete-key", active])

    assert result.exit_code != 0
    assert "rotate-key first" in result.output
    assert [k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]] == [active]


def test_list_keys_shows_status(client, runner):
    client.get("/lti/jwks")
    runner.invoke(args=["lti", "rotate-key"])

    result = runner.invoke(args=["lti", "list-keys"])

    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert "active" in lines[0] and "retired" in lines[1]
