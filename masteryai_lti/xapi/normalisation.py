"""Shape a validated statement the way the LRS stores and returns it.

Pure module, applied after :mod:`masteryai_lti.xapi.validation` accepted the statement
and before the storage layer adds ``id``, ``stored``, ``authority`` and ``version``:

* timestamps are rewritten in UTC, keeping every sub-second digit the client sent
  (IEEE 9274.1.1 4.2.7 requires it under 2.0; 1.0.3 Data 4.5.s1.b6 recommends it);
* every context activity list becomes an array, even with one member
  (Data 2.4.6.2.s4.b3, XAPI-00096).

Nothing else changes: the statement keeps its ``version`` (XAPI-00332) and its durations
(truncating them is allowed, not required).
"""

from __future__ import annotations

from typing import Any

from masteryai_lti.xapi.timestamps import TimestampError, to_utc_timestamp
from masteryai_lti.xapi.validation import CONTEXT_ACTIVITY_KEYS


def _utc(value: Any) -> Any:
    try:
        return to_utc_timestamp(value)
    except (TimestampError, TypeError):
        return value


def _context(context: Any) -> Any:
    activities = context.get("contextActivities") if isinstance(context, dict) else None
    if not isinstance(activities, dict):
        return context
    singles = [key for key in CONTEXT_ACTIVITY_KEYS if isinstance(activities.get(key), dict)]
    if not singles:
        return context
    activities = {**activities, **{key: [activities[key]] for key in singles}}
    return {**context, "contextActivities": activities}


def _part(part: dict[str, Any], to_utc: bool) -> dict[str, Any]:
    # Copy on write: only the dicts on the path to a change are copied, the rest is shared.
    out = dict(part)
    if to_utc and isinstance(out.get("timestamp"), str):
        out["timestamp"] = _utc(out["timestamp"])
    if "context" in out:
        out["context"] = _context(out["context"])
    return out


def normalise_statement(statement: dict[str, Any], *, to_utc: bool = True) -> dict[str, Any]:
    """Return a normalised copy of a valid statement; the input is never modified.

    The copy shares unchanged nested objects with the input (copy on write), so callers
    must not mutate the result in place if they still need the input.
    """
    out = _part(statement, to_utc)
    sub = out.get("object")
    if isinstance(sub, dict) and sub.get("objectType") == "SubStatement":
        out["object"] = _part(sub, to_utc)
    if to_utc and isinstance(out.get("stored"), str):
        out["stored"] = _utc(out["stored"])
    return out
