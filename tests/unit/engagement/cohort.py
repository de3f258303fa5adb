"""Generated cohorts for engagement engine tests (deterministic, seeded)."""

from __future__ import annotations

import numpy as np

from masteryai_lti.engagement.engine import (
    KIND_CODE,
    ActivityTable,
    CourseInput,
    DueItem,
    SubmissionTable,
)

AS_OF = 1000


def generated_course(n: int = 200, seed: int = 7, weights=None) -> CourseInput:
    """A course whose students differ in an underlying engagement level."""
    rng = np.random.default_rng(seed)
    level = rng.beta(2.0, 2.0, size=n)
    rows_s, rows_k, rows_d, rows_c = [], [], [], []
    for i in range(n):
        for day in range(AS_OF - 29, AS_OF + 1):
            if rng.random() < 0.6 * level[i]:
                kind = rng.choice(["resource_view", "interaction", "quiz", "launch"])
                rows_s.append(i)
                rows_k.append(KIND_CODE[str(kind)])
                rows_d.append(day)
                rows_c.append(float(rng.integers(1, 6)))
    items = [
        DueItem("a1", "submission", AS_OF - 20),
        DueItem("a2", "submission", AS_OF - 5),
        DueItem("q1", "quiz", AS_OF - 10),
    ]
    sub = []
    for i in range(n):
        for item, it in enumerate(items):
            if rng.random() < level[i] + 0.2:
                late = int(rng.integers(-3, 4)) if rng.random() < 0.3 else -1
                sub.append((i, item, it.due_day + late, float(min(1.0, level[i] + 0.3))))
    activity = ActivityTable(
        np.asarray(rows_s, dtype=np.int64),
        np.asarray(rows_k, dtype=np.int64),
        np.asarray(rows_d, dtype=np.int64),
        np.asarray(rows_c, dtype=np.float64),
    )
    kwargs = {} if weights is None else {"weights": weights}
    return CourseInput(
        roster=list(range(1000, 1000 + n)),
        activity=activity,
        items=items,
        submissions=SubmissionTable.from_rows(sub),
        as_of_day=AS_OF,
        period_days=30,
        **kwargs,
    )
