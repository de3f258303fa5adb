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

import copy
from typing import Any

from masteryai_lti.xapi.timestamps import TimestampError, to_utc_timestamp
from masteryai_lti.xapi.validation import CONTEXT_ACTIVITY_KEYS


def _utc(value: Any) -> Any:
    try:
        return to_utc_timestamp(value)
    except (TimestampError, TypeError):
        return value


def _context(context: Any) -> None:
    if not isinstance(context, dict):
        return
    activities = context.get("contextActivities")
    if isinstance(activities, dict):
        for key in CONTEXT_ACTIVITY_KEYS:
            item = activities.get(key)
            if isinstance(item, dict):
                activities[key] = [item]


def normalise_statement(statement: dict[str, Any], *, to_utc: bool = True) -> dict[str, Any]:
    """Return a normalised deep copy of a valid statement (the input is not modified)."""
    out = copy.deepcopy(statement)
    for part in (out, out.get("object")):
        if not isinstance(part, dict):
            continue
        if part is out or part.get("objectType") == "SubStatement":
            if to_utc and isinstance(part.get("timestamp"), str):
                part["timestamp"] = _utc(part["timestamp"])
            _context(part.get("context"))
    if to_utc and isinstance(out.get("stored"), str):
        out["stored"] = _utc(out["stored"])
    return out
