"""The tool's RSA signing keys: creation, rotation, the published JWKS.

1EdTech Security Framework §6: the tool signs its messages (deep-linking
responses, OAuth2 client assertions) with RS256 and publishes the public halves
as a JWK Set, each with a ``kid``. Keys move active → retired → deleted
(:func:`rotate_key`, :func:`delete_key`): signing always uses the newest active
key, and retired keys stay in the JWKS so a platform can still verify what was
signed just before a rotation.

Private keys live in the database, so every app process and worker signs with
the same key; parsed keys are memoised per ``kid`` because a kid's key never
changes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import delete, select, update

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Conflict, NotFound
from masteryai_lti.extensions import db
from masteryai_lti.lti.models import ToolKey

KEY_SIZE_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    """What a signer needs: the kid for the JWT header and the private key."""

    kid: str
    private_key_pem: str

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        return _load_private_key(self.private_key_pem)


@lru_cache(maxsize=64)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    # Parsing a PEM costs ~1 ms; the cache keys on the PEM text itself, so a
    # rotated or deleted key can never be served from here under another kid.
    return serialization.load_pem_private_key(pem.encode(), password=None)


def generate_key_material(kid: str | None = None) -> tuple[str, str, dict]:
    """A fresh RSA key: ``(kid, private PEM, public JWK)``. Pure, no database."""
    kid = kid or uuid.uuid4().hex
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE_BITS)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return kid, pem, jwk


def _newest_active(purpose: str) -> ToolKey | None:
    return db.session.scalar(
        select(ToolKey)
        .where(ToolKey.purpose == purpose, ToolKey.status == "active")
        .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
        .limit(1)
    )


def rotate_key(purpose: str = "tool") -> ToolKey:
    """Add a new active key and retire the previous active ones. Commits.

    Retired keys stay published until :func:`delete_key` removes them.
    """
    kid, pem, jwk = generate_key_material()
    db.session.execute(
        update(ToolKey)
        .where(ToolKey.purpose == purpose, ToolKey.status == "active")
        .values(status="retired", retired_at=utcnow())
    )
    key = ToolKey(kid=kid, purpose=purpose, status="active", private_key_pem=pem, public_jwk=jwk)
    db.session.add(key)
    db.session.commit()
    return key


def ensure_key(purpose: str = "tool") -> ToolKey:
    """The newest active key, creating the first one when there is none. Commits if it creates."""
    key = _newest_active(purpose)
    if key is None:
        key = rotate_key(purpose)
    return key


def signing_key(purpose: str = "tool") -> SigningKey:
    """The key to sign with now: the newest active one (created on first use)."""
    key = ensure_key(purpose)
    return SigningKey(kid=key.kid, private_key_pem=key.private_key_pem)


def public_jwks(purpose: str = "tool") -> dict:
    """The JWK Set to publish: every active and retired key, newest first."""
    keys = db.session.scalars(
        select(ToolKey)
        .where(ToolKey.purpose == purpose, ToolKey.status.in_(("active", "retired")))
        .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
    )
    return {"keys": [_published(key.public_jwk) for key in keys]}


def _published(jwk: dict) -> dict:
    # PyJWT adds key_ops next to our use; RFC 7517 §4.3 says not to publish both (a
    # strict platform may refuse the set). Keys stored before carry it: drop it here.
    return {name: value for name, value in jwk.items() if name != "key_ops"}


def list_keys(purpose: str = "tool") -> list[ToolKey]:
    """All keys of ``purpose``, newest first (for the CLI)."""
    return list(
        db.session.scalars(
            select(ToolKey)
            .where(ToolKey.purpose == purpose)
            .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
        )
    )


def delete_key(kid: str) -> None:
    """Delete a retired key, removing it from the JWKS. Commits.

    The active key cannot be deleted: rotate first, so signing never stops.
    """
    key = db.session.scalar(select(ToolKey).where(ToolKey.kid == kid))
    if key is None:
        raise NotFound(f"No key with kid {kid!r}.")
    if key.status == "active":
        raise Conflict("The active key cannot be deleted; run rotate-key first.")
    db.session.execute(delete(ToolKey).where(ToolKey.id == key.id))
    db.session.commit()
