"""LRS credentials: issue, check (HTTP Basic), list, revoke.

Checking costs one HMAC-SHA-256 and, at most every few seconds per process, one
indexed lookup: verified credentials are remembered in process for
``_CACHE_SECONDS`` so a forwarder posting hundreds of statements a second does not pay
a database round trip each time. Revocation clears the local entry at once and every
other process's within that window.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import NotFound, ValidationFailed, field_error
from masteryai_lti.core.security import constant_time_equal, keyed_digest
from masteryai_lti.extensions import db
from masteryai_lti.xapi.models import SCOPES, XapiCredential

_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, CredentialInfo | None, str]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class CredentialInfo:
    """What a request learns about the credential it was made with."""

    id: int
    institution_id: int
    name: str
    key: str
    scopes: tuple[str, ...]

    @property
    def can_write(self) -> bool:
        return "write" in self.scopes

    @property
    def can_read_all(self) -> bool:
        return "read-all" in self.scopes

    @property
    def can_read(self) -> bool:
        return "read-all" in self.scopes or "read-mine" in self.scopes


@dataclass(frozen=True)
class IssuedCredential:
    """A new credential; the secret is shown once and never stored in clear."""

    id: int
    key: str
    secret: str
    name: str
    scopes: tuple[str, ...]


def _info(row: XapiCredential) -> CredentialInfo:
    return CredentialInfo(row.id, row.institution_id, row.name, row.key, tuple(row.scopes))


def normalise_scopes(scopes: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validate requested scopes; none given means all of them."""
    if not scopes:
        return SCOPES
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValidationFailed(
            f"Unknown scope(s): {', '.join(unknown)}.",
            errors=[field_error("scopes", f"Each scope must be one of {', '.join(SCOPES)}.")],
        )
    return tuple(scope for scope in SCOPES if scope in scopes)


def issue_credential(
    institution_id: int,
    name: str,
    scopes: list[str] | tuple[str, ...] | None = None,
    created_by_id: int | None = None,
) -> IssuedCredential:
    """Create a credential for ``institution_id`` and commit it."""
    chosen = normalise_scopes(scopes)
    key = secrets.token_hex(16)
    secret = secrets.token_urlsafe(32)
    row = XapiCredential(
        institution_id=institution_id,
        name=name.strip() or "LRS",
        key=key,
        secret_digest=keyed_digest(secret),
        scopes=list(chosen),
        created_by_id=created_by_id,
    )
    db.session.add(row)
    db.session.commit()
    return IssuedCredential(row.id, key, secret, row.name, chosen)


def authenticate(key: str, secret: str) -> CredentialInfo | None:
    """The active credential for this key and secret, or None."""
    digest = keyed_digest(secret)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < _CACHE_SECONDS:
        info, expected = hit[1], hit[2]
    else:
        row = db.session.scalar(select(XapiCredential).where(XapiCredential.key == key))
        if row is None or row.revoked_at is not None:
            info, expected = None, ""
        else:
            info, expected = _info(row), row.secret_digest
        with _lock:
            if len(_cache) > 10_000:
                _cache.clear()
            _cache[key] = (now, info, expected)
    if info is None or not constant_time_equal(digest, expected):
        return None
    return info


def list_credentials(institution_id: int) -> list[XapiCredential]:
    """Every credential of the institution, newest first (secrets are never returned)."""
    return list(
        db.session.scalars(
            select(XapiCredential)
            .where(XapiCredential.institution_id == institution_id)
            .order_by(XapiCredential.id.desc())
        )
    )


def revoke_credential(institution_id: int, credential_id: int) -> XapiCredential:
    """Revoke a credential of the institution; idempotent."""
    row = db.session.scalar(
        select(XapiCredential).where(
            XapiCredential.id == credential_id, XapiCredential.institution_id == institution_id
        )
    )
    if row is None:
        raise NotFound("No such xAPI credential in your institution.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    with _lock:
        _cache.pop(row.key, None)
    return row


def forget_cached_credentials() -> None:
    """Drop the in-process verification cache (tests, key rotation)."""
    with _lock:
        _cache.clear()
