"""Statement comparison: is a re-posted statement "the same" as the stored one?

Pure module. xAPI 1.0.3 Data 2.3.1 ("Statement Comparison Requirements") says differences
that the immutability exceptions allow MUST be ignored and every other difference counts:

* properties the LRS assigns: ``id``, ``authority``, ``stored``, ``version``, and a
  ``timestamp`` the LRS filled in (compared only when both sides carry one);
* Activity Definitions and Verb ``display`` (not part of the immutable statement);
* timestamp serialisation: the same instant in another time zone or with digits beyond
  milliseconds is the same timestamp (Data 4.5);
* the order of a Group's members;
* case of case-insensitive text: UUIDs, language tags, hex hashes, the domain of an
  e-mail address, and the ``T``/``Z`` letters of a timestamp;
* durations beyond 0.01 s (Data 4.6.s1.b5, and IEEE 9274.1.1 4.2.7 for signatures);
* defaults a client may omit or spell out: ``objectType`` "Agent" on an actor and
  "Activity" on an object, and a single context activity versus an array of one.

A JSON ``true`` never equals ``1`` here, unlike in Python.

The same rules check a signed statement against its JWS payload (IEEE 9274.1.1 4.2.7).
"""

from __future__ import annotations

import json
import re
from typing import Any

from masteryai_lti.xapi.timestamps import TimestampError, timestamp_instant, truncate_duration

_LRS_ASSIGNED = ("id", "authority", "stored", "version")
_SECONDS_RE = re.compile(r"(\d+)[.,](\d*)S$")


def _leaf(value: Any) -> Any:
    # Tag scalars with their JSON type so that True != 1 and 1 == 1.0.
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if value is None:
        return ("null", None)
    return ("string", value)


def _json(value: Any) -> Any:
    """Canonical form of free JSON (extensions, responses): typed leaves, same shape."""
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    return _leaf(value)


def _language_map(value: Any) -> Any:
    if not isinstance(value, dict):
        return _json(value)
    return {str(tag).lower(): _json(text) for tag, text in value.items()}


def _mbox(value: Any) -> Any:
    # RFC 5321: the domain of an address is case-insensitive, the local part is not.
    if isinstance(value, str) and "@" in value:
        local, _, domain = value.rpartition("@")
        scheme, sep, rest = local.partition(":")
        return _leaf(f"{scheme.lower()}{sep}{rest}@{domain.lower()}")
    return _json(value)


def _lower(value: Any) -> Any:
    return _leaf(value.lower()) if isinstance(value, str) else _json(value)


def _agent(value: Any) -> Any:
    if not isinstance(value, dict):
        return _json(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "mbox":
            out[key] = _mbox(item)
        elif key == "mbox_sha1sum":
            out[key] = _lower(item)
        elif key == "member" and isinstance(item, list):
            members = [_agent(member) for member in item]
            # Data 2.3.1: a Group's member list is unordered.
            out[key] = sorted(members, key=lambda m: json.dumps(m, sort_keys=True))
        else:
            out[key] = _json(item)
    out.setdefault("objectType", _leaf("Agent"))
    return out


def _activity(value: Any) -> Any:
    if not isinstance(value, dict):
        return _json(value)
    # Data 2.3.1: the Activity Definition is not part of the immutable statement.
    out = {key: _json(item) for key, item in value.items() if key != "definition"}
    out.setdefault("objectType", _leaf("Activity"))
    return out


def _timestamp(value: Any) -> Any:
    try:
        return ("instant", timestamp_instant(value).isoformat())
    except (TimestampError, TypeError):
        return _json(value)


def _duration(text: str) -> str:
    # Precision beyond 0.01 s does not count (Data 4.6.s1.b5): "PT1M30.004S" == "PT1M30S".
    truncated = truncate_duration(text)
    match = _SECONDS_RE.search(truncated)
    if match is None:
        return truncated
    digits = match.group(2).rstrip("0")
    seconds = f"{match.group(1)}.{digits}S" if digits else f"{match.group(1)}S"
    return truncated[: match.start()] + seconds


def _result(value: Any) -> Any:
    if not isinstance(value, dict):
        return _json(value)
    out = {key: _json(item) for key, item in value.items()}
    duration = value.get("duration")
    if isinstance(duration, str):
        out["duration"] = _leaf(_duration(duration))
    return out


def _context_activities(value: Any) -> Any:
    if not isinstance(value, dict):
        return _json(value)
    out = {}
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        out[key] = [_activity(activity) for activity in items]
    return out


def _context(value: Any) -> Any:
    if not isinstance(value, dict):
        return _json(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("registration", "language"):
            out[key] = _lower(item)
        elif key in ("instructor", "team"):
            out[key] = _agent(item)
        elif key == "contextActivities":
            out[key] = _context_activities(item)
        elif key == "statement":
            out[key] = _object(item)
        elif key in ("contextAgents", "contextGroups") and isinstance(item, list):
            out[key] = [
                {k: (_agent(v) if k in ("agent", "group") else _json(v)) for k, v in member.items()}
                if isinstance(member, dict)
                else _json(member)
                for member in item
            ]
        else:
            out[key] = _json(item)
    return out


def _attachments(value: Any) -> Any:
    if not isinstance(value, list):
        return _json(value)
    out = []
    for item in value:
        if not isinstance(item, dict):
            out.append(_json(item))
            continue
        canonical = {key: _json(v) for key, v in item.items()}
        for key in ("display", "description"):
            if key in item:
                canonical[key] = _language_map(item[key])
        if "sha2" in item:
            canonical["sha2"] = _lower(item["sha2"])
        out.append(canonical)
    return out


def _object(value: Any) -> Any:
    if not isinstance(value, dict):
        return _json(value)
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        return _activity(value)
    if kind in ("Agent", "Group"):
        return _agent(value)
    if kind == "StatementRef":
        return {key: (_lower(v) if key == "id" else _json(v)) for key, v in value.items()}
    if kind == "SubStatement":
        return _statement(value, drop_timestamp=False)
    return _json(value)


def _statement(value: Any, *, drop_timestamp: bool) -> Any:
    if not isinstance(value, dict):
        return _json(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _LRS_ASSIGNED:
            continue
        if key == "actor":
            out[key] = _agent(item)
        elif key == "verb":
            # Data 2.3.1: the Verb's display is not part of the statement.
            out[key] = (
                {k: _json(v) for k, v in item.items() if k != "display"}
                if isinstance(item, dict)
                else _json(item)
            )
        elif key == "object":
            out[key] = _object(item)
        elif key == "result":
            out[key] = _result(item)
        elif key == "context":
            out[key] = _context(item)
        elif key == "timestamp":
            if not drop_timestamp:
                out[key] = _timestamp(item)
        elif key == "attachments":
            out[key] = _attachments(item)
        else:
            out[key] = _json(item)
    return out


def canonical_statement(statement: dict[str, Any], *, with_timestamp: bool = True) -> Any:
    """The comparison form of a statement: equal forms mean "the same statement"."""
    return _statement(statement, drop_timestamp=not with_timestamp)


def statement_differences(stored: dict[str, Any], incoming: dict[str, Any]) -> list[str]:
    """Field paths where ``incoming`` differs from ``stored`` under the comparison rules.

    An empty list means the statements are the same (re-post is a no-op, 204/200); a
    non-empty one means an id conflict (409), and names where they differ.
    The top-level ``timestamp`` counts only when both sides have one, because the LRS
    fills it in when the client leaves it out (Data 2.4.7.s4.b2).
    """
    both_timestamped = "timestamp" in stored and "timestamp" in incoming
    try:
        left = canonical_statement(stored, with_timestamp=both_timestamped)
        right = canonical_statement(incoming, with_timestamp=both_timestamped)
        differences: list[str] = []
        _diff(left, right, "", differences)
    except RecursionError:
        # Only absurdly deep extension values get here; fall back to exact equality.
        return [] if stored == incoming else ["(statement)"]
    return differences


def same_statement(stored: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """True when ``incoming`` is the same statement as ``stored`` (Data 2.3.1)."""
    return not statement_differences(stored, incoming)


def signed_statement_matches(statement: dict[str, Any], jws_payload: dict[str, Any]) -> bool:
    """True when a signed statement equals its JWS payload (Data 2.6.s4.b5, 4.2.7).

    The payload is compared with the same rules, so LRS-assigned properties, timestamp
    serialisation and duration precision beyond 0.01 s do not count.
    """
    return same_statement(jws_payload, statement)


def _diff(left: Any, right: Any, path: str, out: list[str]) -> None:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            child = f"{path}.{key}" if path else key
            if key not in left or key not in right:
                out.append(child)
            else:
                _diff(left[key], right[key], child, out)
    elif isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            out.append(path)
            return
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            _diff(a, b, f"{path}[{index}]", out)
    elif left != right:
        out.append(path or "(statement)")
