"""Benchmark: the nightly engagement recompute over a district's many small courses.

    python bench/engagement_nightly.py [--courses 500] [--students 5000] [--per-student 3]
        [--events 300000] [--database-url ...] [--redis-url ...]

Builds a scratch PostgreSQL database: one institution, ``--courses`` courses, each of
``--students`` students enrolled in ``--per-student`` courses (classes of about 30),
``--events`` engagement events over the last 30 days spread over the enrolments (made
inside PostgreSQL with a fixed seed) plus two graded assignments per course. Then runs
``engagement.service.recompute_all`` (what ``flask engagement recompute`` and the
periodic job run) twice and prints the wall clock, the SQL statements per course and
the conditions; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.engagement import fill_rollup  # noqa: E402
from bench.scratch_database import add_scratch_arguments, drop_database, fresh_app  # noqa: E402


def populate(db, args) -> None:
    from masteryai_lti.courses.models import Course, Enrollment
    from masteryai_lti.identity.models import Institution, User

    school = Institution(slug="district", name="District")
    db.session.add(school)
    db.session.flush()
    conn = db.session.connection()
    now = datetime.now(UTC)
    conn.execute(
        Course.__table__.insert(),
        [
            {
                "institution_id": school.id,
                "title": f"Class {c}",
                "description": "",
                "created_at": now,
                "updated_at": now,
            }
            for c in range(args.courses)
        ],
    )
    conn.execute(
        User.__table__.insert(),
        [
            {
                "institution_id": school.id,
                "email": f"s{i}@district.example",
                "password_hash": "x",
                "full_name": f"Student {i}",
                "role": "student",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(args.students)
        ],
    )
    courses = [r[0] for r in conn.execute(sa.select(Course.id).order_by(Course.id))]
    users = [r[0] for r in conn.execute(sa.select(User.id).order_by(User.id))]
    pairs = {
        (courses[(k * 7 + j * 131) % len(courses)], uid)
        for k, uid in enumerate(users)
        for j in range(args.per_student)
    }
    conn.execute(
        Enrollment.__table__.insert(),
        [
            {
                "institution_id": school.id,
                "course_id": cid,
                "user_id": uid,
                "role": "student",
                "status": "active",
                "source": "bench",
                "test_user": False,
                "created_at": now,
                "updated_at": now,
            }
            for cid, uid in sorted(pairs)
        ],
    )
    today = now.date().toordinal()
    conn.execute(sa.text("SELECT setseed(0.42)"))
    conn.execute(
        sa.text(
            """
            WITH e AS (SELECT course_id, user_id, row_number() OVER () AS n FROM enrollments)
            INSERT INTO engagement_events
              (institution_id, course_id, user_id, kind, occurred_at, day, source, source_id,
               created_at)
            SELECT :inst, e.course_id, e.user_id, k, now() - make_interval(days => d),
                   :today - d, 'bench', 'e' || g, now()
            FROM (
              SELECT g, 1 + floor(:pairs * power(random(), 1.3))::int AS n,
                     (ARRAY['resource_view','resource_view','interaction','quiz','launch'])
                       [1 + floor(random() * 5)::int] AS k,
                     floor(random() * 30)::int AS d
              FROM generate_series(1, :m) AS g
            ) s JOIN e USING (n)
            """
        ),
        {"inst": school.id, "today": today, "pairs": len(pairs), "m": args.events},
    )
    for j, due in enumerate((20, 6)):
        conn.execute(
            sa.text(
                """
                INSERT INTO engagement_events
                  (institution_id, course_id, user_id, kind, occurred_at, day, source,
                   source_id, due_at, score, object_id, created_at)
                SELECT :inst, course_id, user_id, 'submission', now() - make_interval(days => lag),
                       :today - lag, 'bench-graded', 'g' || :j || '-' || id,
                       now() - make_interval(days => :due), 0.5 + random() / 2,
                       'item-' || :j, now()
                FROM (SELECT id, course_id, user_id,
                             greatest(0, :due - 2 + floor(random() * 5)::int) AS lag
                      FROM enrollments WHERE random() < 0.85) s
                """
            ),
            {"inst": school.id, "today": today, "due": due, "j": j},
        )
    db.session.commit()
    fill_rollup(db)
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    print(f"populated: {len(pairs):,} enrolments", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=500)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--per-student", type=int, default=3)
    parser.add_argument("--events", type=int, default=300_000)
    add_scratch_arguments(parser, "masteryai_bench_engagement_nightly")
    args = parser.parse_args()

    from masteryai_lti.engagement import service
    from masteryai_lti.extensions import cache, db

    app = fresh_app(args.database_url, args.redis_url)
    load_before = os.getloadavg()
    lines = []
    with app.app_context():
        backend = cache.backend
        populate(db, args)
        statements = [0]
        sa.event.listen(
            db.engine,
            "before_cursor_execute",
            lambda *a, **k: statements.__setitem__(0, statements[0] + 1),
        )
        for label in ("first run (cold cache)", "second run"):
            statements[0] = 0
            started = time.perf_counter()
            done = service.recompute_all()
            seconds = time.perf_counter() - started
            lines.append(
                f"  recompute_all, {label}: {done} courses in {seconds:.1f} s "
                f"({seconds / done * 1000:.0f} ms a course), {statements[0]:,} SQL statements "
                f"({statements[0] / done:.1f} a course)"
            )
            print(lines[-1], file=sys.stderr)
        db.session.remove()
        db.engine.dispose()
    print("Engagement nightly recompute benchmark")
    print(
        f"  conditions: {args.courses} courses, {args.students} students in "
        f"{args.per_student} courses each, {args.events:,} events + 2 graded items a course; "
        f"database {args.database_url.rsplit('@', 1)[-1]} (PostgreSQL), cache {backend} "
        f"({args.redis_url}); Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    for line in lines:
        print(line)
    drop_database(args.database_url)


if __name__ == "__main__":
    main()
