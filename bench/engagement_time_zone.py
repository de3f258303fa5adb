"""Benchmark: recounting a school's stored days when its time zone changes.

    python bench/engagement_time_zone.py [--courses 500] [--students 5000]
        [--per-student 3] [--events 300000] [--database-url ...] [--redis-url ...]

Builds the nightly benchmark's scratch school (``bench/engagement_nightly.py``: events
over the last 30 days, graded work, the daily rollup), then moves it from UTC to
America/New_York and back with ``identity.service.set_time_zone``, whose job
(``engagement.service.recount_days``) runs inline here, and prints the wall clock of
each move, the events that changed day and the rollup rows; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.engagement_nightly import populate  # noqa: E402
from bench.scratch_database import add_scratch_arguments, drop_database, fresh_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=500)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--per-student", type=int, default=3)
    parser.add_argument("--events", type=int, default=300_000)
    add_scratch_arguments(parser, "masteryai_bench_engagement_time_zone", redis_db=13)
    args = parser.parse_args()

    from masteryai_lti.engagement import service
    from masteryai_lti.extensions import db
    from masteryai_lti.identity import service as identity
    from masteryai_lti.identity.models import Institution

    app = fresh_app(args.database_url, args.redis_url)
    load_before = os.getloadavg()
    lines = []
    with app.app_context():
        populate(db, args)
        # Spread the events over the hours of their (UTC) day, as a school's are: the
        # evening's move to the day before in New York.
        db.session.execute(
            sa.text(
                "UPDATE engagement_events SET occurred_at = "
                "date_trunc('day', occurred_at) + floor(random() * 86400) * interval '1 second'"
            )
        )
        db.session.commit()
        school = db.session.scalar(sa.select(Institution))
        events = db.session.scalar(sa.text("SELECT count(*) FROM engagement_events"))
        for zone in ("America/New_York", "UTC"):
            started = time.perf_counter()
            identity.set_time_zone(school, zone)
            seconds = time.perf_counter() - started
            rollup = db.session.scalar(sa.text("SELECT count(*) FROM engagement_days"))
            off_utc = db.session.scalar(
                sa.text(
                    "SELECT count(*) FROM engagement_events WHERE day <> "
                    "(occurred_at AT TIME ZONE 'UTC')::date - DATE '0001-01-01' + 1"
                )
            )
            lines.append(
                f"  to {zone}: {seconds:.1f} s; {off_utc:,} events off their UTC day, "
                f"{rollup:,} rollup rows after"
            )
            print(lines[-1], file=sys.stderr)
        moved = service.recount_days(school.id)["events_moved"]
        lines.append(f"  recount with no change of zone: {moved} events moved")
        db.session.remove()
        db.engine.dispose()
    print("Engagement time zone change benchmark")
    print(
        f"  conditions: {events:,} events in {args.courses} courses of one school; "
        f"database {args.database_url.rsplit('@', 1)[-1]} (PostgreSQL); "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    for line in lines:
        print(line)
    drop_database(args.database_url)


if __name__ == "__main__":
    main()
