"""Signed statements: JWS checks (xAPI 1.0.3 Data 2.6, 2.0 4.4 Signed Statements).

A signed statement carries an attachment with usageType ``.../attachments/signature``
and contentType ``application/octet-stream`` whose bytes are a compact JWS. The LRS
refuses the statement (400) when the JWS is malformed, uses an algorithm other than
RS256/RS384/RS512, has a payload that is not the statement as it was before the
signature was added, or — when the header carries an X.509 chain (``x5c``) — when the
signature does not verify with the first certificate's key. Pure: no Flask.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNATURE_USAGE_TYPE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_CONTENT_TYPE = "application/octet-stream"
_HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}


class SignatureInvalid(ValueError):
    """The JWS of a signed statement breaks a rule; ``message`` names it."""


@dataclass(frozen=True)
class VerifiedSignature:
    """What a well-formed signature says."""

    algorithm: str
    payload: dict
    verified_with_certificate: bool


def _b64url(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("a JWS segment is not base64url") from exc


def verify_jws(token: bytes | str) -> VerifiedSignature:
    """Parse and check a compact JWS; raises SignatureInvalid naming the broken rule."""
    try:
        text = token.decode("ascii") if isinstance(token, bytes) else token
    except UnicodeDecodeError as exc:
        raise SignatureInvalid("the signature attachment is not a compact JWS") from exc
    pieces = text.strip().split(".")
    if len(pieces) != 3 or not all(pieces[:2]):
        raise SignatureInvalid("the signature attachment is not a compact JWS (three segments)")
    try:
        header = json.loads(_b64url(pieces[0]))
        payload = json.loads(_b64url(pieces[1]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignatureInvalid("the JWS header or payload is not valid JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise SignatureInvalid("the JWS header and payload must be JSON objects")
    algorithm = header.get("alg")
    if algorithm not in _HASHES:
        raise SignatureInvalid(
            f"the JWS algorithm must be RS256, RS384 or RS512, not {algorithm!r}"
        )
    signature = _b64url(pieces[2])
    chain = header.get("x5c")
    if chain:
        try:
            certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
        except (ValueError, TypeError, binascii.Error, IndexError) as exc:
            raise SignatureInvalid("the JWS x5c header does not hold a certificate") from exc
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureInvalid("the x5c certificate does not hold an RSA key")
        try:
            key.verify(
                signature,
                f"{pieces[0]}.{pieces[1]}".encode("ascii"),
                padding.PKCS1v15(),
                _HASHES[algorithm](),
            )
        except InvalidSignature as exc:
            raise SignatureInvalid("the JWS signature does not verify with its x5c key") from exc
    return VerifiedSignature(algorithm, payload, verified_with_certificate=bool(chain))


def without_signature(statement: dict) -> dict:
    """The statement as it was before its signature attachment was added."""
    unsigned = {key: value for key, value in statement.items() if key != "attachments"}
    remaining = [
        attachment
        for attachment in statement.get("attachments") or []
        if attachment.get("usageType") != SIGNATURE_USAGE_TYPE
    ]
    if remaining:
        unsigned["attachments"] = remaining
    return unsigned


def check_signed_statement(
    statement: dict,
    attachment_bytes: Callable[[str], bytes | None],
    same_statement: Callable[[dict, dict], bool],
) -> None:
    """Verify every signature attachment of ``statement`` (none: nothing to do).

    ``attachment_bytes(sha2)`` returns the raw part; ``same_statement`` is the spec's
    statement comparison, so the payload may differ in LRS-owned fields and formatting.
    """
    for attachment in statement.get("attachments") or []:
        if attachment.get("usageType") != SIGNATURE_USAGE_TYPE:
            continue
        if attachment.get("contentType") != SIGNATURE_CONTENT_TYPE:
            raise SignatureInvalid(
                "a signature attachment's contentType must be application/octet-stream"
            )
        raw = attachment_bytes(attachment.get("sha2", ""))
        if raw is None:
            raise SignatureInvalid("the signature attachment's bytes are missing")
        verified = verify_jws(raw)
        candidate = without_signature(statement)
        payload = dict(verified.payload)
        # The signer may have signed before an id was assigned (Data 2.6: the LRS
        # compares the statement "before the signature was added").
        if "id" not in payload:
            candidate.pop("id", None)
        if not same_statement(payload, candidate):
            raise SignatureInvalid("the JWS payload is not the statement that carries it")
