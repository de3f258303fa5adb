"""multipart/mixed attachments (hash checks) and signed statements (JWS)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.integration.xapi.conftest import (
    attachment_of,
    multipart_body,
    post_multipart,
    statement,
)

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"


def test_attachment_round_trip(lrs):
    data = b"here is a simple attachment"
    payload = statement(attachments=[attachment_of(data)])
    body = multipart_body(payload, [("text/plain", data, hashlib.sha256(data).hexdigest())])
    response = post_multipart(lrs, body)
    assert response.status_code == 200, response.json
    sid = response.json[0]
    got = lrs.get(statementId=sid, attachments="true")
    assert got.status_code == 200
    assert got.mimetype == "multipart/mixed"
    assert data in got.data
    plain = lrs.get(statementId=sid)
    assert plain.mimetype == "application/json"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        ("bad-hash", "parts[1]"),
        ("extra-part", "parts"),
        ("missing-part", "statements[0].attachments[0].sha2"),
        ("base64-encoding", "parts[1]"),
    ],
)
def test_broken_multipart_bodies_are_400(lrs, mutate, path):
    data = b"attachment bytes"
    sha2 = hashlib.sha256(data).hexdigest()
    payload = statement(attachments=[attachment_of(data)])
    parts = [("text/plain", data, sha2)]
    encoding = "binary"
    if mutate == "bad-hash":
        parts = [("text/plain", data, "0" * 64)]
    elif mutate == "extra-part":
        parts.append(("text/plain", b"more", hashlib.sha256(b"more").hexdigest()))
    elif mutate == "missing-part":
        parts = []
    elif mutate == "base64-encoding":
        encoding = "base64"
    response = post_multipart(lrs, multipart_body(payload, parts, encoding=encoding))
    assert response.status_code == 400
    assert response.json["errors"][0]["path"].startswith(path)


def test_raw_attachment_sent_as_json_is_400(lrs):
    response = lrs.post(statement(attachments=[attachment_of(b"x")]))
    assert response.status_code == 400


def test_file_url_attachment_needs_no_part(lrs):
    payload = statement(attachments=[attachment_of(b"x", fileUrl="http://example.org/x.txt")])
    assert lrs.post(payload).status_code == 200


def test_multipart_without_boundary_is_400(lrs):
    response = lrs.client.post(
        "/xapi/statements",
        data=b"--x\r\n\r\n{}\r\n--x--",
        headers=lrs.headers(**{"Content-Type": "multipart/mixed"}),
    )
    assert response.status_code == 400


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _jws(payload: dict, key, alg: str = "RS256") -> bytes:
    header = _b64(json.dumps({"alg": alg}).encode())
    body = _b64(json.dumps(payload).encode())
    digest = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}.get(
        alg, hashes.SHA256
    )
    signature = key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), digest())
    return f"{header}.{body}.{_b64(signature)}".encode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signed(lrs, original: dict, token: bytes, content_type="application/octet-stream"):
    signature = attachment_of(token, content_type=content_type, usageType=SIGNATURE)
    payload = {**original, "attachments": [signature]}
    body = multipart_body(payload, [(content_type, token, hashlib.sha256(token).hexdigest())])
    return post_multipart(lrs, body)


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_signed_statement_is_accepted(lrs, rsa_key, alg):
    original = statement(5)
    response = _signed(lrs, original, _jws(original, rsa_key, alg))
    assert response.status_code == 200, response.json


def test_signature_with_another_algorithm_is_400(lrs):
    original = statement(5)
    header = _b64(json.dumps({"alg": "HS256"}).encode())
    token = f"{header}.{_b64(json.dumps(original).encode())}.c2ln".encode()
    response = _signed(lrs, original, token)
    assert response.status_code == 400
    assert "RS256" in response.json["errors"][0]["message"]


def test_signature_over_another_statement_is_400(lrs, rsa_key):
    original = statement(5)
    response = _signed(lrs, original, _jws(statement(6), rsa_key))
    assert response.status_code == 400


def test_malformed_jws_and_wrong_content_type_are_400(lrs, rsa_key):
    original = statement(5)
    assert _signed(lrs, original, b"not-a-jws").status_code == 400
    token = _jws(original, rsa_key)
    assert _signed(lrs, original, token, content_type="text/plain").status_code == 400


def test_x5c_certificate_must_verify_the_signature(rsa_key):
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from masteryai_lti.xapi.signature import SignatureInvalid, verify_jws

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rsa_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(rsa_key, hashes.SHA256())
    )
    chain = [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]
    header = _b64(json.dumps({"alg": "RS256", "x5c": chain}).encode())
    body = _b64(json.dumps(statement()).encode())
    good = rsa_key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert verify_jws(f"{header}.{body}.{_b64(good)}").verified_with_certificate
    with pytest.raises(SignatureInvalid):
        verify_jws(f"{header}.{body}.{_b64(b'x' * 256)}")


@pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
def test_attachments_hashed_with_sha384_or_sha512_round_trip(lrs, algorithm):
    # Data 2.4.11: sha2 is "the SHA-2 hash of the Attachment data" (SHA-256, -384, -512).
    data = f"attachment hashed with {algorithm}".encode()
    sha2 = hashlib.new(algorithm, data).hexdigest()
    payload = statement(attachments=[{**attachment_of(data), "sha2": sha2}])
    response = post_multipart(lrs, multipart_body(payload, [("text/plain", data, sha2)]))
    assert response.status_code == 200, response.json
    got = lrs.get(statementId=response.json[0], attachments="true")
    assert got.mimetype == "multipart/mixed" and data in got.data
    assert f"X-Experience-API-Hash: {sha2}".encode() in got.data


def test_a_part_must_match_the_sha2_algorithm_its_length_names(lrs):
    data = b"hashed with sha512, labelled with the sha384 of something else"
    sha2 = hashlib.sha384(b"something else").hexdigest()
    payload = statement(attachments=[{**attachment_of(data), "sha2": sha2}])
    response = post_multipart(lrs, multipart_body(payload, [("text/plain", data, sha2)]))
    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "parts[1]"
    assert "SHA-384" in response.json["errors"][0]["message"]
