"""Benchmark: NRPS roster sync and AGS grade delivery through the outbox, on PostgreSQL + Redis.

Against the loopback test platform (tests/lti_platform_services.py): a teacher
launches once; the roster (``--members`` learners, NRPS pages of ``--page-size``)
is synced; one score per learner is recorded in the outbox; a drain delivers
them (token from the platform's token endpoint once, then from Redis). Then the
platform goes down, a second round of scores is recorded and drained (all
retried), the platform comes back and the retry drain delivers them.

Usage (defaults: a scratch database ``masteryai_bench_lti_services``, Redis db 8)::

    python bench/lti_grades.py [--members 300] [--page-size 50]
        [--database-url postgresql://postgres@127.0.0.1:5432/masteryai_bench_lti_services]
        [--redis-url redis://127.0.0.1:6379/8]
"""

from __future__ import annotations

import argparse
import os
import platform as host
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from bench.scratch_database import add_scratch_arguments, fresh_app  # noqa: E402
from tests.lti_platform import ROLE_LEARNER  # noqa: E402
from tests.lti_platform_services import ServicesPlatform  # noqa: E402


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=50)
    add_scratch_arguments(parser, "masteryai_bench_lti_services")
    args = parser.parse_args()

    from masteryai_lti.core.clock import utcnow
    from masteryai_lti.courses.models import Course
    from masteryai_lti.extensions import cache, db
    from masteryai_lti.identity.models import UserIdentity
    from masteryai_lti.lti import keys, outbox, roster
    from masteryai_lti.lti.models import ResourceLink
    from tests.integration.lti.conftest import launch

    app = fresh_app(args.database_url, args.redis_url)
    with app.app_context():
        backend = cache.backend

    def read_jwks():
        with app.app_context():
            return keys.public_jwks()

    with ServicesPlatform(members_page_size=args.page_size) as lms:
        lms.tool_jwks_provider = read_jwks
        lms.add_members(args.members, role=ROLE_LEARNER, prefix="learner")
        lms.register_in(app)
        client = app.test_client()
        assert launch(client, lms, "teacher").status_code == 200

        statements = [0]
        with app.app_context():
            sa.event.listen(
                db.engine,
                "before_cursor_execute",
                lambda *a, **k: statements.__setitem__(0, statements[0] + 1),
            )
            course_id = db.session.scalar(sa.select(Course.id))
            link_pk = db.session.scalar(sa.select(ResourceLink.id))
            statements[0] = 0
            started = time.perf_counter()
            report = roster.sync_course(course_id)
            sync_seconds = time.perf_counter() - started
            sync_statements = statements[0]
            learners = dict(
                db.session.execute(
                    sa.select(UserIdentity.value, UserIdentity.user_id).where(
                        UserIdentity.kind == "lti", UserIdentity.value.like("%|learner-sub-%")
                    )
                ).all()
            )
            user_ids = list(learners.values())

            def record_round(given: float) -> list[float]:
                times = []
                for user_id in user_ids:
                    t0 = time.perf_counter()
                    outbox.record_score(
                        resource_link_pk=link_pk,
                        user_id=user_id,
                        score_given=given,
                        score_maximum=10,
                        deliver=False,
                    )
                    times.append(time.perf_counter() - t0)
                return times

            statements[0] = 0
            record_times = record_round(7)
            record_statements = statements[0]
            tokens_before = len(lms.token_requests)
            statements[0] = 0
            started = time.perf_counter()
            first = outbox.drain_outbox(limit=len(user_ids))
            drain_seconds = time.perf_counter() - started
            drain_statements = statements[0]
            tokens_used = len(lms.token_requests) - tokens_before

            lms.down = True
            record_round(8)
            started = time.perf_counter()
            outage = outbox.drain_outbox(limit=len(user_ids))
            outage_seconds = time.perf_counter() - started
            lms.down = False
            later = utcnow() + timedelta(seconds=outbox.FIRST_RETRY_SECONDS + 10)
            started = time.perf_counter()
            recovered = outbox.drain_outbox(now=later, limit=len(user_ids))
            recovery_seconds = time.perf_counter() - started
        landed = sum(1 for s in lms.scores if s["scoreGiven"] == 8.0)

    n = len(user_ids)
    print("LTI Advantage services benchmark (NRPS roster sync, AGS via the outbox)")
    print(
        f"  conditions: {args.members} learners, NRPS page size {args.page_size}, platform on "
        f"loopback HTTP (werkzeug threaded server, same process), database "
        f"{args.database_url.rsplit('@', 1)[-1]}, cache {backend} ({args.redis_url}), "
        f"Python {host.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  roster sync: {report.members} members over {report.pages} pages in "
        f"{sync_seconds:.2f} s ({report.members / sync_seconds:.0f} members/s), "
        f"{report.users_created} users created, "
        f"{sync_statements / report.members:.1f} SQL statements per member"
    )
    print(
        f"  record_score (validate + insert + commit): p50 "
        f"{statistics.median(record_times) * 1000:.2f} ms, p95 {_p95(record_times) * 1000:.2f} ms, "
        f"{record_statements / n:.1f} SQL statements per score"
    )
    print(
        f"  drain: {first['sent']}/{n} scores delivered in {drain_seconds:.2f} s "
        f"({first['sent'] / drain_seconds:.0f} scores/s), {tokens_used} token request(s), "
        f"{drain_statements / n:.1f} SQL statements per score"
    )
    print(
        f"  platform down: {outage['retrying']}/{n} kept pending in {outage_seconds:.2f} s; "
        f"back up: {recovered['sent']}/{n} delivered on retry in {recovery_seconds:.2f} s; "
        f"platform holds {landed} second-round scores"
    )


if __name__ == "__main__":
    main()
