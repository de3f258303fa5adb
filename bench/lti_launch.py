"""Benchmark: full LTI 1.3 login + launch round trips against PostgreSQL + Redis.

Each round trip is what a browser does: GET /lti/login (302 to the platform),
the platform signs an id_token (the test platform, in this process), POST
/lti/launch (all checks, user/course/enrollment/link/launch upserts, landing
page with a session token). Server time is the time spent inside the tool's two
requests; round trips per second include the platform's RS256 signing.

Usage (defaults: a scratch database ``masteryai_bench_lti`` and Redis db 9)::

    python bench/lti_launch.py [--launches 400] [--learners 40]
        [--database-url postgresql://postgres@127.0.0.1:5432/masteryai_bench_lti]
        [--redis-url redis://127.0.0.1:6379/9]

The database is created if missing and its tables are (re)built with
``create_all``; it is a scratch database, never a real one.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform as host
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from bench.scratch_database import add_scratch_arguments, fresh_app  # noqa: E402
from tests.lti_platform import ROLE_LEARNER, PlatformUser, TestPlatform  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--learners", type=int, default=40)
    add_scratch_arguments(parser, "masteryai_bench_lti", redis_db=9)
    parser.add_argument(
        "--profile", type=int, metavar="N", default=0, help="print the N costliest functions"
    )
    parser.add_argument("--profile-sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument(
        "--show-sql",
        action="store_true",
        help="print the SQL statements of one learner's and the teacher's repeat round trip",
    )
    args = parser.parse_args()

    from masteryai_lti.extensions import cache, db

    app = fresh_app(args.database_url, args.redis_url, jobs_inline=False)
    with app.app_context():
        backend = cache.backend

    with TestPlatform() as lms:
        for n in range(args.learners):
            lms.users[f"learner{n}"] = PlatformUser(f"learner-{n}", [ROLE_LEARNER], f"Learner {n}")
        lms.register_in(app)
        client = app.test_client()
        statements = [0]
        shown: list[str] | None = None

        def count(_conn, _cursor, statement, *_args) -> None:
            statements[0] += 1
            if shown is not None:
                shown.append(" ".join(statement.split())[:160])

        # Round trips to PostgreSQL besides statements: COMMIT/ROLLBACK, and the
        # pool's pre-ping (one SELECT 1 per connection checkout when enabled).
        others = {"commit": 0, "rollback": 0, "checkout": 0}

        def counter(name):
            return lambda *_args: others.__setitem__(name, others[name] + 1)

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
            sa.event.listen(db.engine, "commit", counter("commit"))
            sa.event.listen(db.engine, "rollback", counter("rollback"))
            sa.event.listen(db.engine.pool, "checkout", counter("checkout"))
            pre_ping = bool(db.engine.pool._pre_ping)
        people = [f"learner{n}" for n in range(args.learners)] + ["teacher"]

        tool_cpu: list[float] = []

        def round_trip(i: int) -> tuple[float, float, float]:
            person = people[i % len(people)]
            cpu_before = time.process_time()
            started = time.perf_counter()
            login = client.get("/lti/login", query_string=lms.login_params(person))
            login_time = time.perf_counter() - started
            cpu_login = time.process_time() - cpu_before
            assert login.status_code == 302, login.get_data(as_text=True)
            _, form = lms.authorize(login.headers["Location"], person)
            cpu_before = time.process_time()
            started = time.perf_counter()
            response = client.post("/lti/launch", data=form)
            launch_time = time.perf_counter() - started
            tool_cpu.append(cpu_login + time.process_time() - cpu_before)
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
            return login_time, launch_time, login_time + launch_time

        for i in range(args.warmup):
            round_trip(i)
        if args.show_sql:
            for i in (0, len(people) - 1):
                shown = []
                round_trip(i)
                print(f"SQL of a repeat round trip of {people[i]} ({len(shown)} statements):")
                print("\n".join(f"  {line}" for line in shown))
            shown = None
        logins, launches, totals = [], [], []
        tool_cpu.clear()
        statements[0] = 0
        others.update(commit=0, rollback=0, checkout=0)
        profiler = cProfile.Profile() if args.profile else None
        cpu_started = time.process_time()
        wall_started = time.perf_counter()
        if profiler:
            profiler.enable()
        for i in range(args.launches):
            login_time, launch_time, total = round_trip(i)
            logins.append(login_time)
            launches.append(launch_time)
            totals.append(total)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - wall_started
        cpu = time.process_time() - cpu_started
        sql_per_trip = statements[0] / args.launches
        ends_per_trip = (others["commit"] + others["rollback"]) / args.launches
        pings_per_trip = others["checkout"] / args.launches if pre_ping else 0.0

    # A fixed pure-Python workload, so figures from a busy shared machine can be
    # compared with a quiet one (~10-15 ms on an idle modern core).
    calibration_started = time.perf_counter()
    sum(range(10**6))
    calibration = time.perf_counter() - calibration_started

    def ms(value: float) -> str:
        return f"{value * 1000:6.2f} ms"

    print("LTI 1.3 login + launch benchmark")
    print(
        f"  conditions: {args.launches} round trips after {args.warmup} warm-up, "
        f"{len(people)} distinct users, one process, Flask test client (no network hop to the "
        f"tool), platform JWKS over loopback HTTP (cached), database "
        f"{args.database_url.rsplit('@', 1)[-1]}, cache backend {backend} ({args.redis_url}), "
        f"Python {host.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, "
        f"calibration sum(range(10**6)) {calibration * 1000:.1f} ms"
    )
    print(f"  round trips per second (incl. platform signing): {args.launches / wall:7.1f}")
    print(
        f"  CPU time of this process per round trip (tool + platform signing): "
        f"{cpu / args.launches * 1000:.2f} ms; SQL statements per round trip: {sql_per_trip:.1f}"
    )
    print(
        f"  database round trips per round trip: "
        f"{sql_per_trip + ends_per_trip + pings_per_trip:.1f}"
        f" ({sql_per_trip:.1f} statements, {ends_per_trip:.1f} COMMIT/ROLLBACK, "
        f"{pings_per_trip:.1f} pool pre-ping)"
    )
    print(
        f"  tool CPU per login+launch (excludes waiting on PostgreSQL/Redis): "
        f"p50 {ms(statistics.median(tool_cpu))}  p95 {ms(_percentile(tool_cpu, 0.95))}"
    )
    print(
        f"  server time login+launch: p50 {ms(statistics.median(totals))}  "
        f"p95 {ms(_percentile(totals, 0.95))}  p99 {ms(_percentile(totals, 0.99))}"
    )
    print(
        f"  login only:  p50 {ms(statistics.median(logins))}  p95 {ms(_percentile(logins, 0.95))}"
    )
    print(
        f"  launch only: p50 {ms(statistics.median(launches))}  "
        f"p95 {ms(_percentile(launches, 0.95))}"
    )

    if profiler:
        print("  (figures above include the profiler's overhead)")
        pstats.Stats(profiler).sort_stats(args.profile_sort).print_stats(args.profile)


if __name__ == "__main__":
    main()
