"""The ``more`` cursor of StatementResult paging (xAPI 1.0.3 Data 2.5, 2.0 4.2.5).

A cursor is keyset state, not an offset: the original query's filters, the sort
direction, the (stored, row id) of the last statement returned, and the upper
``stored`` and row-id bounds fixed when the first page was read. Statements that
arrive while a client pages therefore neither shift pages (no repeats) nor slip in
between (no skips): they lie above the snapshot bounds. The token is signed with the app
secret so clients cannot forge other filters (the tenant is in it too), and it
carries its issue time so it can be refused after ``max_age`` — the spec asks
that a ``more`` IRL stay usable for at least 24 hours; we keep it a week.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

CURSOR_MAX_AGE = timedelta(days=7)


class CursorInvalid(ValueError):
    """The token was tampered with, belongs to another tenant, or has expired."""


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts and which query it continues."""

    institution_id: int
    filters: dict = field(default_factory=dict)
    ascending: bool = False
    after_stored: datetime | None = None
    after_row: int | None = None
    snapshot: datetime | None = None
    # The newest row id when the first page was read: ``stored`` has millisecond
    # precision, so a statement stored just after that read can share the snapshot's
    # millisecond; its row id cannot be lower.
    snapshot_row: int | None = None
    issued_at: datetime | None = None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def encode_cursor(cursor: Cursor, secret: str) -> str:
    """Serialise and sign ``cursor`` into a URL-safe token."""
    payload = {
        "i": cursor.institution_id,
        "f": cursor.filters,
        "a": cursor.ascending,
        "s": _iso(cursor.after_stored),
        "r": cursor.after_row,
        "n": _iso(cursor.snapshot),
        "m": cursor.snapshot_row,
        "t": _iso(cursor.issued_at),
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    mac = hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()
    return body + "." + _b64(mac[:18])


def decode_cursor(token: str, secret: str, *, institution_id: int, now: datetime) -> Cursor:
    """Check the signature, tenant and age of ``token`` and return its cursor."""
    try:
        body, mac = token.split(".", 1)
        expected = hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(_unb64(mac), expected[:18]):
            raise CursorInvalid("the more token's signature does not match")
        payload = json.loads(_unb64(body))
        cursor = Cursor(
            institution_id=int(payload["i"]),
            filters=dict(payload["f"]),
            ascending=bool(payload["a"]),
            after_stored=_from_iso(payload["s"]),
            after_row=payload["r"],
            snapshot=_from_iso(payload["n"]),
            # Tokens issued before the row bound existed carry none.
            snapshot_row=payload.get("m"),
            issued_at=_from_iso(payload["t"]),
        )
    except CursorInvalid:
        raise
    except (ValueError, KeyError, TypeError, UnicodeError) as exc:
        raise CursorInvalid("the more token is malformed") from exc
    if cursor.institution_id != institution_id:
        raise CursorInvalid("the more token belongs to another credential's institution")
    if cursor.issued_at is None or now - cursor.issued_at > CURSOR_MAX_AGE:
        raise CursorInvalid("the more token has expired; run the query again")
    return cursor
