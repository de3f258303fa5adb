"""Shape a stored statement for the xAPI version its reader speaks.

Pure module. The LRS stores what 1.0.3 and 2.0 (IEEE 9274.1.1) clients send and answers
each reader in the version its ``X-Experience-API-Version`` header asked for, which the
response header names too, so the body must conform to that version:

* a 1.0.x reader gets no property that only 2.0 defines. The 9274.1.1 change list adds
  exactly two to the statement, ``context.contextAgents`` and ``context.contextGroups``
  (4.2.2.5), in a statement's context and in a sub-statement's; everything else 2.0
  changed is rules (SHOULD becoming SHALL), headers and signatures. A ``version`` of
  2.0.x becomes "1.0.0", what a 1.0.3 LRS records for a statement that names none
  (1.0.3 Data 2.4.10 accepts only 1.0.x). A 1.0.x ``version`` is returned as accepted
  (XAPI-00332), to every reader: 2.0 accepts 1.0.x too.
* a 2.0 reader gets every ``timestamp`` in UTC in the RFC 3339 form (9274.1.1 4.2.7 and
  5.2.7), also those a 1.0.3 client sent with another offset or in ISO 8601 basic form,
  which 1.0.3 stored as sent; sub-millisecond digits are kept.

Nothing stored changes: shaping copies what it alters and shares the rest, so callers
must not mutate the result in place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from masteryai_lti.xapi.timestamps import TimestampError, to_utc_timestamp
from masteryai_lti.xapi.validation import CONTEXT_KEYS_2_ONLY, VERSION_2_RE

# What a 1.0.x reader is told for a statement stored with a 2.0.x version.
VERSION_FOR_1_0 = "1.0.0"
# Already RFC 3339 in UTC (what the LRS itself writes): no parsing needed.
_UTC_RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\Z")


def _without_2_0_context(part: dict[str, Any]) -> dict[str, Any]:
    context = part.get("context")
    if not isinstance(context, dict) or CONTEXT_KEYS_2_ONLY.isdisjoint(context):
        return part
    return {
        **part,
        "context": {k: v for k, v in context.items() if k not in CONTEXT_KEYS_2_ONLY},
    }


def _with_sub_statement(
    statement: dict[str, Any], shape: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``shape`` applied to the statement and to a sub-statement it has as object; a
    part ``shape`` returns unchanged is shared, not copied."""
    out = shape(statement)
    target = out.get("object")
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        shaped = shape(target)
        if shaped is not target:
            out = {**out, "object": shaped}
    return out


def _for_1_0(statement: dict[str, Any]) -> dict[str, Any]:
    out = _with_sub_statement(statement, _without_2_0_context)
    version = out.get("version")
    if isinstance(version, str) and VERSION_2_RE.match(version):
        out = out if out is not statement else dict(statement)
        out["version"] = VERSION_FOR_1_0
    return out


def _utc_timestamp(part: dict[str, Any]) -> dict[str, Any]:
    value = part.get("timestamp")
    if not isinstance(value, str) or _UTC_RFC3339_RE.match(value):
        return part
    try:
        converted = to_utc_timestamp(value)
    except TimestampError:
        return part
    return {**part, "timestamp": converted}


def _for_2_0(statement: dict[str, Any]) -> dict[str, Any]:
    return _with_sub_statement(statement, _utc_timestamp)


def shape_for_version(statement: dict[str, Any], version: str) -> dict[str, Any]:
    """``statement`` as a reader speaking ``version`` ("1.0.3" or "2.0.0") may read it.

    Returns the statement itself when nothing needs to change.
    """
    if str(version).startswith("2."):
        return _for_2_0(statement)
    return _for_1_0(statement)
