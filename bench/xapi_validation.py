"""CPU cost of the pure xAPI steps per statement: validate, normalise, compare.

Run:  python bench/xapi_validation.py [--batch 100] [--repeat 7]

Builds a realistic statement (agent, verb, activity with definition, result with score
and duration, context with registration, parent activity and extensions, timestamp)
in batches of ``--batch`` with fresh ids, and prints statements per second on one core
for each step (best of ``--repeat`` runs, so other load on the machine counts least).
These are the per-statement costs the HTTP ingest pays before touching the database.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import timeit
import uuid

from masteryai_lti.xapi.comparison import same_statement
from masteryai_lti.xapi.normalisation import normalise_statement
from masteryai_lti.xapi.validation import validate_statements

STATEMENT = {
    "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
    "object": {
        "id": "http://example.com/activities/quiz-1/q3",
        "definition": {
            "name": {"en-US": "Question 3"},
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "interactionType": "choice",
            "correctResponsesPattern": ["b"],
            "choices": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        },
    },
    "result": {
        "score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
        "success": True,
        "duration": "PT1M30.25S",
        "response": "b",
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {"parent": [{"id": "http://example.com/activities/quiz-1"}]},
        "platform": "Moodle",
        "language": "en-US",
        "extensions": {"http://example.com/ext/attempt": 2},
    },
    "timestamp": "2024-05-04T12:00:00.123+02:00",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    batch = []
    for _ in range(args.batch):
        statement = copy.deepcopy(STATEMENT)
        statement["id"] = str(uuid.uuid4())
        batch.append(statement)
    assert validate_statements(batch, "2.0.0") == []
    raw = json.dumps(batch)
    steps = {
        "json.loads (reference)": lambda: json.loads(raw),
        "validate_statements 1.0.3": lambda: validate_statements(batch, "1.0.3"),
        "validate_statements 2.0.0": lambda: validate_statements(batch, "2.0.0"),
        "normalise_statement": lambda: [normalise_statement(s) for s in batch],
        "same_statement": lambda: [same_statement(s, s) for s in batch],
    }
    print(
        f"batch={args.batch} repeat={args.repeat} python={platform.python_version()} "
        f"cpus={os.cpu_count()} (best run, one core)"
    )
    for name, step in steps.items():
        best = min(timeit.repeat(step, number=5, repeat=args.repeat)) / 5
        per = best / args.batch
        print(f"  {name:<28} {1 / per:>10,.0f} statements/s  {per * 1e6:>7.1f} us/statement")


if __name__ == "__main__":
    main()
