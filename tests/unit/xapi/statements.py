"""Statement builders for the xAPI unit tables: a valid base and a path-setting patcher."""

from __future__ import annotations

import copy
import re
from typing import Any

DELETE = object()

ACTOR = {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"}
VERB = {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}}
ACTIVITY = {
    "objectType": "Activity",
    "id": "http://example.com/activities/quiz-1",
    "definition": {
        "name": {"en-US": "Quiz 1"},
        "type": "http://adlnet.gov/expapi/activities/assessment",
    },
}
STATEMENT_ID = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"


def base_statement() -> dict[str, Any]:
    """A statement that is valid under 1.0.3 and 2.0.0."""
    return {
        "id": STATEMENT_ID,
        "actor": copy.deepcopy(ACTOR),
        "verb": copy.deepcopy(VERB),
        "object": copy.deepcopy(ACTIVITY),
        "result": {
            "score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
            "success": True,
            "completion": True,
            "response": "B",
            "duration": "PT1M30S",
            "extensions": {"http://example.com/ext/attempt": 1},
        },
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "contextActivities": {"parent": [{"id": "http://example.com/courses/algebra"}]},
            "revision": "r1",
            "platform": "Moodle",
            "language": "en-US",
            "extensions": {"http://example.com/ext/cohort": None},
        },
        "timestamp": "2024-05-04T12:00:00.123Z",
    }


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def patched(statement: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Copy of ``statement`` with ``path`` (``a.b[0].c``) set to ``value`` (or deleted)."""
    out = copy.deepcopy(statement)
    steps = [int(index) if index else name for name, index in _STEP.findall(path)]
    node: Any = out
    for step in steps[:-1]:
        node = node[step]
    if value is DELETE:
        del node[steps[-1]]
    else:
        node[steps[-1]] = copy.deepcopy(value)
    return out


def statement_with(*changes: tuple[str, Any]) -> dict[str, Any]:
    """The base statement with several ``(path, value)`` changes applied in order."""
    out = base_statement()
    for path, value in changes:
        out = patched(out, path, value)
    return out
