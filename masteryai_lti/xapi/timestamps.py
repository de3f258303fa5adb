"""xAPI timestamps and durations (xAPI 1.0.3 Data 4.5 and 4.6; IEEE 9274.1.1 4.2.7).

Pure module. Timestamps are ISO 8601 date-times; the LRS conformance suite also requires
refusing the "unknown local offset" forms (``-00``, ``-0000``, ``-00:00``) and offsets
written in basic format after an extended-format time. Under 2.0 the LRS converts stored
timestamps to UTC: :func:`to_utc_timestamp` does that without losing sub-millisecond
digits the client sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# Extended format (RFC 3339 profile and ISO 8601 extended); seconds may be omitted as
# ISO 8601 allows reduced precision; the offset is optional in 1.0.3 ("SHOULD include").
_EXTENDED_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[Tt]"
    r"(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}:\d{2}|[+-]\d{2})?\Z"
)
# Basic format, e.g. 20150304T101500.123Z (XAPI-00123 accepts ISO 8601 basic too).
_BASIC_RE = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})[Tt]"
    r"(?P<h>\d{2})(?P<mi>\d{2})(?:(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?P<tz>[Zz]|[+-]\d{4}|[+-]\d{2})?\Z"
)
# Data 4.6: the 4.4.3.2 format only, weeks alone; a fraction only on the smallest unit.
_DURATION_RE = re.compile(
    r"^P(?!\Z)(?:(?P<Y>\d+(?:[.,]\d+)?)Y)?(?:(?P<M>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<D>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<H>\d+(?:[.,]\d+)?)H)?(?:(?P<TM>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<S>\d+(?:[.,]\d+)?)S)?)?\Z"
)
_WEEKS_RE = re.compile(r"^P\d+(?:[.,]\d+)?W\Z")
_SECONDS_FRACTION_RE = re.compile(r"(\d+)[.,](\d+)S$")


class TimestampError(ValueError):
    """Raised by :func:`parse_timestamp` with the reason the text is not a timestamp."""


def _offset_minutes(tz: str | None) -> int | None:
    if tz is None:
        return None
    if tz in ("Z", "z"):
        return 0
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours == 0 and minutes == 0 and tz[0] == "-":
        # RFC 3339 4.3: "-00:00" means "offset unknown"; xAPI needs a real instant.
        raise TimestampError("offset -00:00 (unknown local offset) is not allowed")
    if hours > 23 or minutes > 59:
        raise TimestampError("time zone offset out of range")
    total = hours * 60 + minutes
    return -total if tz[0] == "-" else total


def parse_timestamp(text: object) -> tuple[datetime, str]:
    """Parse an xAPI timestamp into an aware UTC datetime and its fraction digits.

    Returns ``(instant, fraction)`` where ``fraction`` holds every sub-second digit the
    text carried (datetime keeps only microseconds). A missing offset is read as UTC.
    Raises :class:`TimestampError` when the text is not an ISO 8601 date-time.
    """
    if not isinstance(text, str):
        raise TimestampError("must be a string")
    match = _EXTENDED_RE.match(text) or _BASIC_RE.match(text)
    if match is None:
        raise TimestampError("must be an ISO 8601 date-time such as 2024-05-04T12:00:00.000Z")
    tz = match["tz"]
    if match.re is _EXTENDED_RE and tz and len(tz) == 3 and tz[0] == "-" and tz[1:] == "00":
        raise TimestampError("offset -00 (unknown local offset) is not allowed")
    offset = _offset_minutes(tz)
    fraction = match["f"] or ""
    try:
        local = datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            int(match["s"] or 0),
            int((fraction + "000000")[:6]),
        )
    except ValueError as exc:
        raise TimestampError(f"not a calendar date-time ({exc})") from None
    try:
        instant = local.replace(tzinfo=UTC) - timedelta(minutes=offset or 0)
    except OverflowError:
        # 0001-01-01T00:00:00+05:00 is in year 0 in UTC, 9999-12-31T23:59:59-05:00 in
        # year 10000: valid ISO 8601, but not instants anything here can hold.
        raise TimestampError("out of range: in UTC it falls outside years 1 to 9999") from None
    return instant, fraction


def is_timestamp(text: object) -> bool:
    """Return True when ``text`` is an acceptable xAPI timestamp."""
    try:
        parse_timestamp(text)
    except TimestampError:
        return False
    return True


def format_utc(instant: datetime, fraction: str | None = None) -> str:
    """Render an aware datetime as RFC 3339 UTC (``...Z``) with at least milliseconds.

    ``fraction`` (digits) overrides the microseconds so precision beyond them survives.
    """
    utc = instant.astimezone(UTC)
    if fraction is None:
        digits = f"{utc.microsecond:06d}"
        digits = digits[:3] if digits.endswith("000") else digits
    else:
        digits = (fraction + "000")[: max(3, len(fraction))]
    # Not strftime: glibc writes year 1 as "1", which is no ISO 8601 date.
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{digits}Z"
    )


def to_utc_timestamp(text: str) -> str:
    """Convert a valid xAPI timestamp to UTC, keeping its sub-second digits (2.0 4.2.7)."""
    instant, fraction = parse_timestamp(text)
    return format_utc(instant, fraction)


def timestamp_instant(text: str) -> datetime:
    """The instant a valid timestamp names, truncated to milliseconds (Data 4.5.s1.b7)."""
    instant, _ = parse_timestamp(text)
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def is_duration(text: object) -> bool:
    """Return True when ``text`` is an ISO 8601:2004 4.4.3.2 duration (Data 4.6.s1.b1)."""
    if not isinstance(text, str):
        return False
    if _WEEKS_RE.match(text):
        return True
    match = _DURATION_RE.match(text)
    if match is None:
        return False
    present = [v for v in match.groupdict().values() if v is not None]
    # ISO 8601 allows a decimal fraction only on the lowest-order component given.
    return all("." not in v and "," not in v for v in present[:-1])


def truncate_duration(text: str) -> str:
    """Truncate the seconds of a duration to 0.01 s (Data 4.6.s1.b4; truncation, no rounding)."""
    match = _SECONDS_FRACTION_RE.search(text)
    if match is None or len(match.group(2)) <= 2:
        return text
    return text[: match.start()] + f"{match.group(1)}.{match.group(2)[:2]}S"
