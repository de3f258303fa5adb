"""Password hashing and opaque token handling."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

import bcrypt
from flask import current_app


def _prehash(password: str) -> bytes:
    # bcrypt reads at most 72 bytes; hashing first lets long passphrases count whole.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def _rounds() -> int:
    return int(current_app.config.get("BCRYPT_ROUNDS", 12))


def hash_password(password: str) -> str:
    """A bcrypt hash of ``password`` at the configured cost."""
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(_rounds())).decode("ascii")


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(_prehash(secrets.token_urlsafe(16)), bcrypt.gensalt(rounds)).decode(
        "ascii"
    )


def dummy_password_hash() -> str:
    """What a login for an unknown account is checked against.

    bcrypt's time doubles with each unit of cost, so the dummy must have the cost of
    real hashes: at a lower one an unknown address answered in milliseconds and a known
    one in a quarter of a second, which told anyone which addresses have accounts.
    """
    return _dummy_hash(_rounds())


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches; spends the same bcrypt time without a hash."""
    candidate = (password_hash or dummy_password_hash()).encode("ascii")
    matched = bcrypt.checkpw(_prehash(password), candidate)
    return matched and password_hash is not None


def new_token(nbytes: int = 32) -> str:
    """A random URL-safe token."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """SHA-256 hex digest: how opaque tokens are stored (they are random, so no salt)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def keyed_digest(secret: str) -> str:
    """HMAC-SHA-256 of ``secret`` under the app's SECRET_KEY, for API secrets.

    API secrets are long random strings, so a fast keyed hash is as safe as
    bcrypt for them and costs microseconds per request.
    """
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    """Compare two strings without leaking where they differ."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
