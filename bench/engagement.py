"""Engagement benchmark: one big course in PostgreSQL.

    python bench/engagement.py [--students 10000] [--events 3000000] [--db NAME] [--reuse]

Builds (or reuses) a database with one course of N students and M engagement
events over the last 30 days (generated inside PostgreSQL with a fixed seed),
then measures:
- full recompute with reasons (SQL aggregation + engine + risk + reasons + cache write);
- one incoming event reflected (record_events + the student's fresh index);
- class table page (sorted, filtered) p50/p95 over 200 requests with a warm cache;
- peak memory of the process (ru_maxrss).
Next to the wall-clock figures it prints CPU time (this process + the PostgreSQL
backends serving it, from /proc), which the shared machine's load does not inflate.
Prints the figures and the conditions; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402


def backend_pids(db, name: str) -> list[int]:
    """PostgreSQL backends connected to the bench database (ours, single-threaded)."""
    rows = db.session.execute(
        sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": name}
    )
    pids = [r[0] for r in rows]
    db.session.commit()
    return pids


def proc_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (local PostgreSQL, via /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def schema_is_current(db) -> bool:
    """Whether the bench database has every table and column of today's models: one
    built before a schema change cannot be reused (create_all adds no columns)."""
    inspector = sa.inspect(db.engine)
    for table in db.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            print(f"the bench database has no table {table.name}: rebuilding it")
            return False
        present = {c["name"] for c in inspector.get_columns(table.name)}
        if not {c.name for c in table.columns} <= present:
            print(f"the bench database predates a change to {table.name}: rebuilding it")
            return False
    return True


def ensure_database(name: str) -> str:
    admin = sa.create_engine(
        "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        if not c.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}):
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def populate(db, students: int, events: int) -> tuple[int, int, list[int]]:
    """Create the institution, course, students and events; returns ids."""
    from masteryai_lti.courses.models import Course, Enrollment
    from masteryai_lti.identity.models import Institution, User

    inst = Institution(slug="bench", name="Bench school")
    db.session.add(inst)
    db.session.flush()
    course = Course(institution_id=inst.id, title="Big course", code="BIG-1", join_code="BENCH001")
    # Students take other courses too (the risk model's enrolment context): three
    # live ones and last year's run of the big course.
    others = [Course(institution_id=inst.id, title=f"Other {k}") for k in range(3)]
    last_year = Course(
        institution_id=inst.id,
        title="Big course, last year",
        code="BIG-1",
        created_at=datetime.now(UTC) - timedelta(days=365),
    )
    db.session.add_all([course, *others, last_year])
    db.session.flush()
    conn = db.session.connection()
    now = datetime.now(UTC)
    conn.execute(
        User.__table__.insert(),
        [
            {
                "institution_id": inst.id,
                "email": f"s{i}@bench.example",
                "password_hash": "x",
                "full_name": f"Student {i}",
                "role": "student",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(students)
        ],
    )
    ids = [r[0] for r in conn.execute(sa.select(User.id).order_by(User.id))]
    # Everyone takes the big course; student k also takes other course j when
    # k % (j + 2) == 0 (from half to a quarter of them), and every tenth took last year's run.
    pairs = [(course.id, uid) for uid in ids]
    pairs += [
        (c.id, uid) for j, c in enumerate(others) for k, uid in enumerate(ids) if k % (j + 2) == 0
    ]
    pairs += [(last_year.id, uid) for uid in ids[::10]]
    conn.execute(
        Enrollment.__table__.insert(),
        [
            {
                "institution_id": inst.id,
                "course_id": cid,
                "user_id": uid,
                "role": "student",
                "status": "active",
                "source": "bench",
                "created_at": now,
                "updated_at": now,
            }
            for cid, uid in pairs
        ],
    )
    first = ids[0]
    today = now.date().toordinal()
    # Skewed activity (power of a uniform draw) so medians and tails are realistic.
    conn.execute(sa.text("SELECT setseed(0.42)"))
    conn.execute(
        sa.text(
            """
            INSERT INTO engagement_events
              (institution_id, course_id, user_id, kind, occurred_at, day, source, source_id,
               created_at)
            SELECT :inst, :course, :first + u, k, ts, :today - d, 'bench', 'e' || g, now()
            FROM (
              SELECT g,
                     floor(:n * power(random(), 1.6))::int AS u,
                     (ARRAY['resource_view','resource_view','interaction','quiz','launch'])
                       [1 + floor(random() * 5)::int] AS k,
                     floor(random() * 30)::int AS d
              FROM generate_series(1, :m) AS g
            ) s, LATERAL (SELECT now() - make_interval(days => d) AS ts) t
            """
        ),
        {
            "inst": inst.id,
            "course": course.id,
            "first": first,
            "n": students,
            "m": events,
            "today": today,
        },
    )
    # Graded work: four assignments and two quizzes with due dates in the period.
    for j, (kind, due_days_ago) in enumerate(
        [
            ("submission", 25),
            ("submission", 18),
            ("submission", 11),
            ("submission", 4),
            ("quiz", 20),
            ("quiz", 6),
        ]
    ):
        conn.execute(
            sa.text(
                """
                INSERT INTO engagement_events
                  (institution_id, course_id, user_id, kind, occurred_at, day, source, source_id,
                   due_at, score, object_id, created_at)
                SELECT :inst, :course, :first + u, :kind, now() - make_interval(days => lag),
                       :today - lag, 'bench-graded', 'g' || :j || '-' || u,
                       now() - make_interval(days => :due), 0.5 + random() / 2, 'item-' || :j,
                       now()
                FROM (SELECT u, greatest(0, :due - 2 + floor(random() * 5)::int) AS lag
                      FROM generate_series(0, :n - 1) AS u WHERE random() < 0.85) s
                """
            ),
            {
                "inst": inst.id,
                "course": course.id,
                "first": first,
                "n": students,
                "kind": kind,
                "due": due_days_ago,
                "today": today,
                "j": j,
            },
        )
    # A little activity keeps the other courses live in the period.
    conn.execute(
        sa.text(
            """
            INSERT INTO engagement_events
              (institution_id, course_id, user_id, kind, occurred_at, day, source, source_id,
               created_at)
            SELECT :inst, c, :first, 'resource_view', now(), :today, 'bench', 'other-' || c, now()
            FROM unnest(CAST(:courses AS integer[])) AS c
            """
        ),
        {"inst": inst.id, "first": first, "today": today, "courses": [c.id for c in others]},
    )
    db.session.commit()
    conn = db.session.connection()
    conn.execute(sa.text("ANALYZE engagement_events"))
    conn.execute(sa.text("ANALYZE enrollments"))
    db.session.commit()
    return inst.id, course.id, ids


def fill_rollup(db) -> None:
    """Build the per-day rollup for events inserted by SQL (the service keeps it otherwise)."""
    db.session.execute(
        sa.text(
            """
            INSERT INTO engagement_days
              (course_id, user_id, day, attendance, submission, quiz, interaction,
               resource_view, launch)
            SELECT course_id, user_id, day,
                   count(*) FILTER (WHERE kind = 'attendance'),
                   count(*) FILTER (WHERE kind = 'submission'
                                    OR (kind = 'quiz' AND due_at IS NOT NULL)),
                   count(*) FILTER (WHERE kind = 'quiz' AND due_at IS NULL),
                   count(*) FILTER (WHERE kind = 'interaction'),
                   count(*) FILTER (WHERE kind = 'resource_view'),
                   count(*) FILTER (WHERE kind = 'launch')
            FROM engagement_events GROUP BY course_id, user_id, day
            """
        )
    )
    db.session.execute(sa.text("ANALYZE engagement_days"))
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--db", default="masteryai_bench_engagement")
    parser.add_argument("--reuse", action="store_true", help="keep an existing populated database")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()

    from masteryai_lti import create_app
    from masteryai_lti.core.policy import Actor
    from masteryai_lti.courses.models import Course, Enrollment
    from masteryai_lti.courses.service import student_ids
    from masteryai_lti.engagement import keys, service
    from masteryai_lti.engagement.models import EngagementEvent
    from masteryai_lti.extensions import cache, db

    url = ensure_database(args.db)
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": args.redis,
            "JOBS_INLINE": True,
            "SECRET_KEY": "bench-secret-key-long-enough-for-hmac-use",
        }
    )
    with app.app_context():
        course = None
        if args.reuse and schema_is_current(db):
            course = db.session.scalar(sa.select(Course).where(Course.join_code == "BENCH001"))
        if course is None or not args.reuse:
            t = time.perf_counter()
            with db.engine.begin() as c:
                c.execute(sa.text("DROP SCHEMA public CASCADE"))
                c.execute(sa.text("CREATE SCHEMA public"))
            db.create_all()
            inst_id, course_id, ids = populate(db, args.students, args.events)
            print(f"populated in {time.perf_counter() - t:.1f} s")
        else:
            inst_id, course_id = course.institution_id, course.id
            db.create_all()
        if not db.session.scalar(sa.text("SELECT count(*) FROM engagement_days")):
            t = time.perf_counter()
            fill_rollup(db)
            print(f"daily rollup built from events in {time.perf_counter() - t:.1f} s")
        total = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(EngagementEvent)
            .where(EngagementEvent.course_id == course_id)
        )
        roster = student_ids(course_id)
        other_enrolments = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Enrollment)
            .where(Enrollment.course_id != course_id)
        )
        print(
            f"conditions: {len(roster)} students, {total} events in PostgreSQL "
            f"({db.engine.dialect.server_version_info}), Redis {args.redis}, "
            f"{os.cpu_count()} CPUs shared, Python {platform.python_version()}; "
            f"{other_enrolments} enrolments of those students in 3 other live courses "
            f"and last year's run"
        )

        print(f"load average before the runs: {os.getloadavg()}")
        # Full recompute with reasons, cache cold each time.
        runs, cpu = [], []
        for _ in range(3):
            keys.clear_course_engagement(course_id)
            db.session.remove()
            pids = backend_pids(db, args.db)
            t, c, b = time.perf_counter(), time.process_time(), proc_cpu(pids)
            view = service.course_view(course_id)
            runs.append(time.perf_counter() - t)
            cpu.append((time.process_time() - c, proc_cpu(pids) - b))
        flagged = sum(r["flagged"] for r in view["students"])
        print(
            f"full recompute with reasons: best {min(runs) * 1000:.0f} ms, "
            f"median {statistics.median(runs) * 1000:.0f} ms "
            f"({flagged} flagged of {len(view['students'])}); CPU of the best-CPU run: "
            f"process {min(cpu)[0] * 1000:.0f} ms + PostgreSQL {min(cpu)[1] * 1000:.0f} ms"
        )
        t = time.perf_counter()
        service.recompute_course(course_id)
        print(f"periodic recompute incl. snapshot write: {(time.perf_counter() - t) * 1000:.0f} ms")
        service.course_view(course_id)  # warm view + reference

        # One incoming event reflected in that student's index.
        lat = []
        now = datetime.now(UTC)
        pids = backend_pids(db, args.db)
        c0, b0 = time.process_time(), proc_cpu(pids)
        for n in range(50):
            uid = roster[(n * 7919) % len(roster)]
            t = time.perf_counter()
            service.record_events(
                inst_id,
                [
                    {
                        "user_id": uid,
                        "course_id": course_id,
                        "kind": "launch",
                        "occurred_at": now - timedelta(minutes=n),
                        "source": "bench-live",
                        "source_id": f"live-{time.time_ns()}-{n}",
                    }
                ],
            )
            row = service.student_view(course_id, uid)
            lat.append(time.perf_counter() - t)
            assert row["student_id"] == uid
        c1, b1 = time.process_time(), proc_cpu(pids)
        lat.sort()
        print(
            f"one event reflected (record_events + fresh student index): "
            f"p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
            f"p95 {lat[int(len(lat) * 0.95)] * 1000:.1f} ms; "
            f"CPU per event: process {(c1 - c0) / 50 * 1000:.2f} ms + "
            f"PostgreSQL {(b1 - b0) / 50 * 1000:.2f} ms"
        )

        # Class table pages with a warm cache (after the events above, one recompute).
        service.course_view(course_id)
        teacher = Actor(user_id=roster[0], institution_id=inst_id, role="teacher", is_admin=True)
        pages = []
        for n in range(200):
            t = time.perf_counter()
            service.class_table(
                teacher,
                course_id,
                sort=["score", "-risk", "days_since_active"][n % 3],
                at_risk=[None, True][n % 2],
                page=1 + n % 5,
                per_page=50,
            )
            pages.append(time.perf_counter() - t)
        pages.sort()
        print(
            f"class table page (cache warm, {cache.backend}): p50 {pages[100] * 1000:.1f} ms, "
            f"p95 {pages[190] * 1000:.1f} ms"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (ru_maxrss): {peak:.0f} MB")
        print(f"load average after the runs: {os.getloadavg()}")


if __name__ == "__main__":
    main()
