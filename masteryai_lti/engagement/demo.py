"""Demo signals for the engagement feature: a month of activity for the demo course's
students, from steady to fading to absent, and the month's daily snapshots, so the class
table, breakdowns, histories and at-risk flags have something to show on first run.
Idempotent: events on their source ids, snapshots on their day.
"""

from __future__ import annotations

import random
from datetime import timedelta

from masteryai_lti.core.clock import utcnow
from masteryai_lti.engagement import graded_items, service

# (share of days active, share of due work handed in) per kind of student.
PROFILES = {
    "steady": (0.7, 1.0),
    "quiet but diligent": (0.35, 1.0),
    "fading": (0.5, 0.5),
    "absent": (0.0, 0.0),
}


def _profile(number: int) -> str:
    if number % 10 == 9:
        return "absent"
    if number % 5 == 3:
        return "fading"
    if number % 4 == 1:
        return "quiet but diligent"
    return "steady"


def seed_demo(summary) -> None:
    """Record 28 days of launches, views, quizzes, forum posts and homework per student."""
    rng = random.Random(2026)
    today = utcnow().replace(hour=9, minute=0, second=0, microsecond=0)
    due_days = (4, 11, 18, 25)
    # The homework is declared with its due dates, as a teacher (or the LMS) would;
    # the submissions below name only the homework and take the date from here.
    for n, due in enumerate(due_days):
        graded_items.declare_item(
            summary.course,
            f"homework-{n + 1}",
            "submission",
            today - timedelta(days=28 - due),
            f"Homework {n + 1}",
            graded_items.TEACHER,
        )
    events = []
    for number, student in enumerate(summary.students):
        profile = _profile(number)
        active_share, handed_in = PROFILES[profile]
        for day in range(28, 0, -1):
            share = active_share * (day / 28 if profile == "fading" else 1.0)
            if rng.random() >= share:
                continue
            when = today - timedelta(days=day, minutes=-rng.randint(0, 600))
            kinds = ["launch", "resource_view", "resource_view", "quiz"]
            if profile == "steady":
                kinds.append("interaction")
            for n, kind in enumerate(kinds):
                events.append(
                    {
                        "user_id": student.id,
                        "course_id": summary.course.id,
                        "kind": kind,
                        "occurred_at": when + timedelta(minutes=5 * n),
                        "source": "demo",
                        "source_id": f"demo-{student.id}-{day}-{n}",
                    }
                )
        for n, due in enumerate(due_days):
            if 28 - due < 0 or rng.random() >= handed_in:
                continue
            due_at = today - timedelta(days=28 - due)
            late = rng.choice([0, 0, 0, 1, 3]) if profile != "steady" else 0
            events.append(
                {
                    "user_id": student.id,
                    "course_id": summary.course.id,
                    "kind": "submission",
                    "occurred_at": due_at - timedelta(days=1) + timedelta(days=late),
                    "score": round(rng.uniform(0.45, 1.0), 2),
                    "source": "demo",
                    "source_id": f"demo-{student.id}-homework-{n}",
                    "object_id": f"homework-{n + 1}",
                }
            )
    service.record_events(summary.institution.id, events)
    # Each day's snapshot, as the nightly recompute would have written it over the month,
    # so that a student's history has something to show on first run. Oldest first: a
    # day's flags carry on from the day before's.
    for days_ago in range(27, -1, -1):
        service.recompute_course(summary.course.id, as_of=today.date() - timedelta(days=days_ago))
