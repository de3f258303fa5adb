"""Benchmark: the mastery paths a teacher or a student waits on, for one big class.

    python bench/mastery_class.py [--students 300] [--concepts 60] [--items-per-concept 10]
        [--attempts 200000] [--database-url ...] [--redis-url ...]

Builds a scratch PostgreSQL database: a shared concept graph (``--concepts`` concepts in
chains of prerequisites, ``--items-per-concept`` items each) owned by one course and used
by a second course of ``--students`` students, who made ``--attempts`` attempts over the
last 60 days (run through the mastery engine here, then bulk-inserted with their trail,
snapshots and learner states). Then, through the HTTP API with a teacher's or a student's
bearer token, it measures (wall clock, and SQL statements per request):

- the class heatmap (teacher), p50/p95 over repeated requests;
- one answer submitted from the player (student), p50/p95 over 100 students;
- one student's recommendations (student), p50/p95;
- generating assignments for the whole class (teacher), one request;
- copying the shared concept graph into the course (teacher), one request (last: it
  changes the course's graph).

Prints the figures and the conditions; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.scratch_database import add_scratch_arguments, drop_database, fresh_app  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class StatementCounter:
    """Counts the SQL statements the app's engine runs (cursor executions)."""

    def __init__(self, engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args, **kwargs) -> None:
        self.count += 1


def populate(app, args) -> dict:
    """The school, the shared graph and items, the class and its attempt history."""
    from masteryai_lti.core.clock import utcnow
    from masteryai_lti.core.policy import Actor
    from masteryai_lti.courses.models import Enrollment
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.models import User
    from masteryai_lti.mastery import engine
    from masteryai_lti.mastery import service as mastery
    from masteryai_lti.mastery.models import (
        Attempt,
        AttemptConcept,
        Concept,
        ConceptPrerequisite,
        Item,
        ItemConcept,
        LearnerModel,
        MasteryState,
    )
    from tests.factories import bearer, make_course, make_institution, make_user

    rng = random.Random(20261207)
    school = make_institution()
    teacher = make_user(school, role="teacher", full_name="Teacher")
    owner = make_course(school, teacher, title="Department course (owns the graph)")
    course = make_course(school, teacher, title="Class using the shared graph")
    actor = Actor(user_id=teacher.id, institution_id=school.id, role="teacher")
    # Chains of five: each concept needs the previous one of its chain.
    concepts = []
    for i in range(args.concepts):
        prerequisites = [f"c{i - 1:03d}"] if i % 5 else []
        concepts.append(
            {"key": f"c{i:03d}", "name": f"Concept {i}", "prerequisites": prerequisites}
        )
    mastery.import_graph(actor, owner.id, {"concepts": concepts})
    labels = ["easy", "medium", "hard"]
    items = [
        {
            "key": f"c{i:03d}-{j}",
            "kind": "numeric",
            "prompt": f"Question {j} of concept {i}",
            "concepts": [f"c{i:03d}"],
            "difficulty_label": labels[j % 3],
            "answer": {"value": j, "tolerance": 0},
        }
        for i in range(args.concepts)
        for j in range(args.items_per_concept)
    ]
    mastery.import_items(actor, owner.id, {"items": items})
    map_id = mastery.course_concept_map(owner.id).id
    mastery.use_concept_map(actor, course.id, map_id)

    now = utcnow()
    users = db.session.execute(
        sa.insert(User).returning(User.id, sort_by_parameter_order=True),
        [
            {
                "institution_id": school.id,
                "email": f"student{n}@bench.example",
                "password_hash": "x",
                "full_name": f"Student {n:04d}",
                "role": "student",
                "is_institution_admin": False,
                "is_active": True,
                "created_at": now,
            }
            for n in range(args.students)
        ],
    ).scalars()
    student_ids = list(users)
    db.session.execute(
        sa.insert(Enrollment),
        [
            {
                "institution_id": school.id,
                "course_id": course.id,
                "user_id": uid,
                "role": "student",
                "status": "active",
                "source": "api",
                "test_user": False,
                "created_at": now,
                "updated_at": now,
            }
            for uid in student_ids
        ],
    )
    db.session.commit()

    concept_ids = dict(
        db.session.execute(
            sa.select(Concept.key, Concept.id).where(Concept.concept_map_id == map_id)
        ).all()
    )
    item_rows = db.session.execute(
        sa.select(Item.id, Item.difficulty, ItemConcept.concept_id).join(
            ItemConcept, ItemConcept.item_id == Item.id
        )
    ).all()
    prerequisites: dict[str, list[str]] = {}
    for cid, pid in db.session.execute(
        sa.select(ConceptPrerequisite.concept_id, ConceptPrerequisite.prerequisite_id)
    ):
        prerequisites.setdefault(str(cid), []).append(str(pid))
    params = mastery.mastery_params()
    threshold = float(app.config.get("MASTERY_THRESHOLD", 70))

    # Each student works through the concepts roughly in order over 60 days.
    per_student = args.attempts // args.students
    start = now - timedelta(days=60)
    attempt_rows, trail, snapshots, learners = [], [], [], []
    by_concept: dict[int, list[tuple[int, float]]] = {}
    for item_id, difficulty, concept_id in item_rows:
        by_concept.setdefault(concept_id, []).append((item_id, difficulty))
    ordered_concepts = [concept_ids[c["key"]] for c in concepts]
    t = time.perf_counter()
    for uid in student_ids:
        skill = rng.gauss(0, 1)
        student = engine.StudentState.new(params)
        last: dict[int, object] = {}
        for n in range(per_student):
            progress = n / per_student
            centre = progress * len(ordered_concepts)
            index = min(len(ordered_concepts) - 1, max(0, int(rng.gauss(centre, 4))))
            concept_id = ordered_concepts[index]
            item_id, difficulty = rng.choice(by_concept[concept_id])
            when = start + timedelta(seconds=progress * 60 * 86400 + rng.random() * 3600)
            correct = rng.random() < 1 / (1 + pow(2.718, -(skill - (difficulty or 0) + 0.5)))
            key = str(concept_id)
            before = engine.concept_mastery(params, student, key, when, threshold, prerequisites)
            engine.update(
                params,
                student,
                engine.ItemState.new(params, difficulty),
                [key],
                correct,
                when,
                rng.uniform(10, 90),
                prerequisites,
            )
            after = engine.concept_mastery(params, student, key, when, threshold, prerequisites)
            attempt_rows.append(
                {
                    "institution_id": school.id,
                    "user_id": uid,
                    "course_id": course.id,
                    "item_id": item_id,
                    "source": "import",
                    "source_id": f"{uid}:{n}",
                    "occurred_at": when,
                    "correct": correct,
                    "score": 1.0 if correct else 0.0,
                    "duration_s": 30.0,
                    "created_at": when,
                }
            )
            trail.append((concept_id, before.mastery, after.mastery))
            last[concept_id] = (after, when)
        for concept_id, (after, when) in last.items():
            snapshots.append(
                {
                    "institution_id": school.id,
                    "user_id": uid,
                    "concept_id": concept_id,
                    "mastery": after.mastery,
                    "uncertainty": after.uncertainty,
                    "peak_mastery": after.peak_mastery or after.mastery,
                    "attempts": after.attempts,
                    "correct": after.correct,
                    "last_practiced_at": when,
                }
            )
        learners.append(
            {
                "institution_id": school.id,
                "user_id": uid,
                "state": student.to_dict(),
                "updated_at": now,
            }
        )
    simulated = time.perf_counter() - t
    t = time.perf_counter()
    # The table is empty: ids given here (no RETURNING round trips), the sequence moved on.
    attempt_ids = list(range(1, len(attempt_rows) + 1))
    for aid, row in zip(attempt_ids, attempt_rows, strict=True):
        row["id"] = aid
    db.session.execute(sa.insert(Attempt), attempt_rows)
    db.session.execute(
        sa.text("SELECT setval(pg_get_serial_sequence('mastery_attempts', 'id'), :n)"),
        {"n": len(attempt_rows)},
    )
    db.session.execute(
        sa.insert(AttemptConcept),
        [
            {"attempt_id": aid, "concept_id": c, "mastery_before": b, "mastery_after": a}
            for aid, (c, b, a) in zip(attempt_ids, trail, strict=True)
        ],
    )
    db.session.execute(sa.insert(MasteryState), snapshots)
    db.session.execute(sa.insert(LearnerModel), learners)
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    print(
        f"populated: {len(attempt_rows):,} attempts simulated in {simulated:.1f} s, "
        f"inserted in {time.perf_counter() - t:.1f} s"
    )
    some_items = [i for i, _, _ in item_rows]
    return {
        "course_id": course.id,
        "teacher": bearer(teacher),
        "students": [
            (uid, bearer(db.session.get(User, uid)))
            for uid in rng.sample(student_ids, min(100, len(student_ids)))
        ],
        "items": some_items,
        "rng": rng,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--concepts", type=int, default=60)
    parser.add_argument("--items-per-concept", type=int, default=10)
    parser.add_argument("--attempts", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=10)
    add_scratch_arguments(parser, "masteryai_bench_mastery_class")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    from masteryai_lti.extensions import db

    app = fresh_app(args.database_url, args.redis_url)
    with app.app_context():
        world = populate(app, args)
        counter = StatementCounter(db.engine)
        db.session.remove()
    client = app.test_client()
    base = f"/api/v1/courses/{world['course_id']}"
    load_before = os.getloadavg()
    results = []

    def measure(label: str, calls, expect: int) -> None:
        times, statements = [], []
        for call in calls:
            counter.count = 0
            t = time.perf_counter()
            response = call()
            times.append(time.perf_counter() - t)
            statements.append(counter.count)
            assert response.status_code == expect, (label, response.get_json())
        if len(times) == 1:
            figure = f"{times[0] * 1000:.0f} ms"
        else:
            figure = (
                f"p50 {statistics.median(times) * 1000:.1f} ms, "
                f"p95 {_pct(times, 0.95) * 1000:.1f} ms over {len(times)}"
            )
        results.append(f"  {label}: {figure}; SQL statements {statistics.median(statements):.0f}")
        print(results[-1], file=sys.stderr)

    teacher = world["teacher"]
    rng = world["rng"]
    heat = client.get(f"{base}/mastery/heatmap", headers=teacher)
    cells = sum(len(s["cells"]) for s in heat.get_json()["students"])
    measure(
        f"class heatmap ({len(heat.get_json()['students'])} students x "
        f"{len(heat.get_json()['concepts'])} concepts = {cells:,} cells)",
        [lambda: client.get(f"{base}/mastery/heatmap", headers=teacher)] * args.repeats,
        200,
    )
    answers = [
        (headers, rng.choice(world["items"]), rng.randrange(3)) for _, headers in world["students"]
    ]
    measure(
        "one answer submitted (player POST /attempts)",
        [
            (
                lambda h=h, i=i, v=v: client.post(
                    f"{base}/attempts", json={"item_id": i, "response": {"value": v}}, headers=h
                )
            )
            for h, i, v in answers
        ],
        201,
    )
    measure(
        "recommendations/me (student)",
        [
            (lambda h=h: client.get(f"{base}/recommendations/me", headers=h))
            for _, h in world["students"][: args.repeats * 3]
        ],
        200,
    )
    measure(
        f"generate assignments for the class ({args.students} students, 10 items each)",
        [lambda: client.post(f"{base}/assignments/generate", json={"length": 10}, headers=teacher)],
        201,
    )
    measure(
        "copy the shared concept graph into the course",
        [lambda: client.post(f"{base}/concept-graph/copy", json={}, headers=teacher)],
        201,
    )
    print("Mastery class benchmark (HTTP API through the Flask test client, no network)")
    print(
        f"  conditions: {args.students} students, {args.concepts} concepts, "
        f"{args.concepts * args.items_per_concept} items, {args.attempts:,} attempts; database "
        f"{args.database_url.rsplit('@', 1)[-1]} (PostgreSQL), cache {args.redis_url}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    for line in results:
        print(line)
    if not args.keep:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(args.database_url)


if __name__ == "__main__":
    main()
