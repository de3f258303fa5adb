"""Benchmark: NRPS roster sync of a big course, first time and again, on PostgreSQL + Redis.

Against the loopback test platform (tests/lti_platform_services.py): a teacher launches
once (before the learners are on the LMS roster), then the course's roster
(``--members`` learners, NRPS pages of ``--page-size``) is synced three times: first
(every member new: users, identities, enrollments made), again unchanged (the hourly
re-sync after a teacher's launch, or "sync now"), and after ``--churn`` learners left
and as many joined. The launch's own users are not on the test platform's roster, so
the first sync deactivates them. Then, for each of ``--first-syncs`` sizes, a new
course's first sync of that many new members (what a first sync costs as the course
grows). Prints the time (reading the roster's pages over HTTP included) and the SQL
statements of each sync, and the conditions (cores, load average, PostgreSQL
version); asserts nothing. To compare two versions of the sync, run it at each
commit on the same machine.

    python bench/roster_sync.py [--members 2000] [--page-size 200] [--churn 50]
        [--first-syncs 50,200,2000] [--database-url ...] [--redis-url ...]
"""

from __future__ import annotations

import argparse
import os
import platform as host
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from bench.scratch_database import add_scratch_arguments, drop_database, fresh_app  # noqa: E402
from tests.lti_platform import ROLE_LEARNER  # noqa: E402
from tests.lti_platform_services import ServicesPlatform  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--churn", type=int, default=50)
    parser.add_argument(
        "--first-syncs",
        default="50,200,2000",
        help="sizes (comma-separated) of new courses whose first sync is measured",
    )
    add_scratch_arguments(parser, "masteryai_bench_roster_sync")
    args = parser.parse_args()

    from masteryai_lti.courses.models import Course, Enrollment
    from masteryai_lti.extensions import cache, db
    from masteryai_lti.lti import keys, roster
    from tests.integration.lti.conftest import launch

    app = fresh_app(args.database_url, args.redis_url)
    with app.app_context():
        backend = cache.backend
        server_version = db.session.scalar(sa.text("SHOW server_version"))

    def read_jwks():
        with app.app_context():
            return keys.public_jwks()

    load_before = os.getloadavg()
    lines = []
    with ServicesPlatform(members_page_size=args.page_size) as lms:
        lms.tool_jwks_provider = read_jwks
        lms.register_in(app)
        client = app.test_client()
        # The teacher's launch syncs the roster at once (jobs run inline here): the
        # learners join the LMS course after it, so the first sync below is theirs.
        assert launch(client, lms, "teacher").status_code == 200
        lms.add_members(args.members, role=ROLE_LEARNER, prefix="learner")
        statements = [0]
        with app.app_context():
            sa.event.listen(
                db.engine,
                "before_cursor_execute",
                lambda *a, **k: statements.__setitem__(0, statements[0] + 1),
            )
            course_id = db.session.scalar(sa.select(Course.id))

        def sync(label: str) -> None:
            with app.app_context():
                statements[0] = 0
                started = time.perf_counter()
                report = roster.sync_course(course_id)
                seconds = time.perf_counter() - started
                active = db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Enrollment)
                    .where(Enrollment.course_id == course_id, Enrollment.status == "active")
                )
                db.session.remove()
            lines.append(
                f"  {label}: {seconds:.2f} s ({report.members / seconds:.0f} members/s), "
                f"{statements[0]:,} SQL statements ({statements[0] / report.members:.2f} per "
                f"member); {report.users_created} users created, "
                f"{report.enrollments_deactivated} deactivated, {active} active enrollments"
            )
            print(lines[-1], file=sys.stderr)

        sync(f"first sync ({args.members} new members)")
        sync("re-sync, roster unchanged")
        del lms.members[: args.churn]
        lms.add_members(args.churn, role=ROLE_LEARNER, prefix="newcomer")
        sync(f"re-sync, {args.churn} left and {args.churn} joined")

        for size in (int(n) for n in args.first_syncs.split(",") if n.strip()):
            # A course of its own: its teacher's launch syncs the roster as the LMS has
            # it then (the platform's own users), and ``size`` learners join after.
            lms.context_id = f"course-ctx-first-{size}"
            lms.members = []
            assert launch(client, lms, "teacher").status_code == 200
            lms.add_members(size, role=ROLE_LEARNER, prefix=f"first{size}-learner")
            with app.app_context():
                course_id = db.session.scalar(
                    sa.select(Course.id).where(Course.lti_context_id == lms.context_id)
                )
            sync(f"first sync of a new course ({size} new members)")

    print("NRPS roster sync benchmark")
    print(
        f"  conditions: {args.members} learners + 1 teacher, NRPS page size {args.page_size}, "
        f"platform on loopback HTTP (werkzeug threaded server, same process), database "
        f"{args.database_url.rsplit('@', 1)[-1]} (PostgreSQL {server_version}), cache "
        f"{backend} ({args.redis_url}), Python {host.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    for line in lines:
        print(line)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop_database(args.database_url)


if __name__ == "__main__":
    main()
