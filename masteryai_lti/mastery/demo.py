"""Demo content for the mastery feature: a small algebra concept graph, an item bank and a
few weeks of simulated practice, so the heatmap, weak concepts and recommendations of the
demo course show something on first run. Idempotent: a course with a graph is left alone.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.policy import Actor
from masteryai_lti.extensions import db
from masteryai_lti.mastery import service
from masteryai_lti.mastery.models import Item

CONCEPTS = [
    ("integers", "Integers", []),
    ("fractions", "Fractions", ["integers"]),
    ("expressions", "Expressions", ["integers"]),
    ("linear-equations", "Linear equations", ["expressions", "fractions"]),
    ("inequalities", "Inequalities", ["linear-equations"]),
    ("graphs", "Graphs of lines", ["linear-equations"]),
]
LABELS = ("easy", "easy", "medium", "medium", "hard", "hard")
OFFSET = {"easy": -1.0, "medium": 0.0, "hard": 1.0}


def _items() -> list[dict]:
    """Numeric items: 'What is a x b + c?' with growing numbers as difficulty rises."""
    items = []
    for position, (key, name, _) in enumerate(CONCEPTS):
        for n, label in enumerate(LABELS):
            a, b, c = position + n + 2, n + 3, 10 * n + position
            items.append(
                {
                    "key": f"{key}-{n + 1}",
                    "kind": "numeric",
                    "prompt": f"{name}: what is {a} × {b} + {c}?",
                    "concepts": [key],
                    "difficulty_label": label,
                    "answer": {"value": a * b + c, "tolerance": 0},
                    "explanation": f"Multiply first: {a} × {b} = {a * b}. "
                    f"Then add {c}: {a * b} + {c} = {a * b + c}.",
                }
            )
    return items


def seed_demo(summary) -> None:
    """Give the demo course a concept graph, 36 items and three weeks of practice."""
    course = summary.course
    if service.course_concept_map(course.id) is not None:
        return
    teacher = Actor(summary.teacher.id, summary.institution.id, "teacher", is_admin=True)
    document = {
        "concepts": [
            {"key": key, "name": name, "prerequisites": prerequisites}
            for key, name, prerequisites in CONCEPTS
        ]
    }
    service.import_graph(teacher, course.id, document)
    service.import_items(teacher, course.id, {"items": _items()})
    concept_map = service.course_concept_map(course.id)
    items = db.session.scalars(select(Item).where(Item.concept_map_id == concept_map.id)).all()
    by_concept: dict[str, list[Item]] = {}
    for item in items:
        by_concept.setdefault(item.key.rsplit("-", 1)[0], []).append(item)
    rng = random.Random(2026)
    now = utcnow()
    for number, student in enumerate(summary.students):
        # Students differ in skill; later concepts are harder; a few barely practise.
        skill = rng.gauss(1.2, 1.0)
        attempts = 3 if number % 10 == 9 else rng.randint(10, 24)
        start = now - timedelta(days=21)
        for n in range(attempts):
            position = min(len(CONCEPTS) - 1, int(n / attempts * len(CONCEPTS) + rng.random()))
            item = rng.choice(by_concept[CONCEPTS[position][0]])
            label = item.difficulty_label
            p = 1 / (1 + math.exp(-(skill + 0.1 * n - 0.3 * position - OFFSET[label])))
            service.record_attempt(
                summary.institution.id,
                student.id,
                occurred_at=start + timedelta(days=21 * n / attempts, minutes=rng.randint(0, 90)),
                source="import",  # the demo's history, as a bulk import would bring it
                source_id=f"demo-{student.id}-{n}",
                correct=rng.random() < p,
                item_id=item.id,
                duration_s=rng.uniform(20, 160),
                course_id=course.id,
            )
    db.session.commit()
