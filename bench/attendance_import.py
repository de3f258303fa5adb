"""Benchmark: a term of attendance imported as Moodle exports it, on PostgreSQL + Redis.

A course of ``--students`` students (half known by an account email, half by the
address their LMS gave) and ``--sessions`` sessions on as many days. Moodle's
Attendance export of it is built three times, as the .xlsx workbook Moodle downloads by
default (written by openpyxl, which stores strings inline where Excel and Moodle's
writer keep a shared-string table), as its OpenDocument (.ods) download (laid out as
Moodle's ODS writer writes it) and as its text format; then

- reading: the sheet into marks (``attendance_sheet.read_marks``), best of 3, in a
  forked process each, with the Python heap's peak (tracemalloc) and the process's
  resident-set growth (the .ods reader, calamine, allocates outside Python's heap);
- importing: ``POST attendance/import`` of the workbook through the app, first into
  an empty course (every mark inserted, present/late marks become engagement events)
  and again, as a teacher does with next week's cumulative export (nothing changed).

Usage (defaults: a scratch database ``masteryai_bench_attendance``, Redis db 8)::

    python bench/attendance_import.py [--students 1000] [--sessions 60]
        [--database-url postgresql://postgres@127.0.0.1:5432/masteryai_bench_attendance]
        [--redis-url redis://127.0.0.1:6379/8]
"""

from __future__ import annotations

import argparse
import io
import os
import platform as host
import random
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.scratch_database import add_scratch_arguments, fresh_app  # noqa: E402

# Moodle's default statuses, and how often a term's marks are each (the rest not taken).
STATUSES = (("P (2/2)", 0.78), ("L (1/2)", 0.08), ("A (0/2)", 0.08), ("E (1/2)", 0.03))


def moodle_export(students: list[tuple[str, str, str]], days: list) -> list[list[str]]:
    """The export's rows: course and group, an empty row, the header, a row per student."""
    rng = random.Random(7)
    header = ["Last name", "First name", "Email address"]
    header += [f"{d.day} {d.strftime('%b')} {d.year} 09.00AM All students" for d in days]
    header += ["P", "L", "E", "A", "Taken sessions", "Points", "Percentage"]
    rows = [["Course", "Bench course"], ["Group", "All participants"], [], header]
    weights = [w for _, w in STATUSES] + [1 - sum(w for _, w in STATUSES)]
    for last, first, email in students:
        cells = rng.choices([s for s, _ in STATUSES] + ["?"], weights=weights, k=len(days))
        rows.append([last, first, email, *cells, "0", "0", "0", "0", "0", "0", "0"])
    return rows


def timed_read(raw: bytes) -> tuple[float, float, float, int]:
    """Best of 3 seconds, the heap's peak and the resident set's growth in MB, and how
    many marks; measured in a forked child so that one format's peak is not another's."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child measures, writes one line and leaves
        from masteryai_lti.engagement.attendance_sheet import read_marks

        os.close(read_end)
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        with open("/proc/self/statm") as statm:
            resident_before = int(statm.read().split()[1]) * page_mb
        resource_peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            marks = read_marks(raw)
            best = min(best, time.perf_counter() - start)
        tracemalloc.start()
        read_marks(raw)
        heap = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, resource_peak_before)
        os.write(write_end, f"{best} {heap} {peak - resident_before} {len(marks)}".encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        best, heap, growth, count = answer.read().split()
    os.waitpid(child, 0)
    return float(best), float(heap), float(growth), int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=60)
    add_scratch_arguments(parser, "masteryai_bench_attendance")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from masteryai_lti.engagement.models import AttendanceRecord, EngagementEvent
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.service import link_identity
    from tests.factories import (
        bearer,
        make_course,
        make_enrollment,
        make_institution,
        make_ods,
        make_user,
        make_workbook,
    )

    app = fresh_app(args.database_url, args.redis_url)
    with app.app_context():
        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        students = []
        for n in range(args.students):
            email = f"student{n}@school.example"
            if n % 2:
                user = make_user(school, email=email)
            else:  # an LMS user: the address arrives as an identity
                user = make_user(school)
                user.email = None
                link_identity(school.id, user.id, "mbox", f"mailto:{email}")
            make_enrollment(course, user)
            students.append((f"Last{n}", f"First{n}", email))
        db.session.commit()
        headers = bearer(teacher)
        url = f"/api/v1/courses/{course.id}/attendance/import"
        version = db.session.scalar(select(func.version())).split(",")[0]

        today = datetime.now(UTC).date()
        days = [today - timedelta(days=d) for d in range(args.sessions, 0, -1)]
        rows = moodle_export(students, days)
        workbook = make_workbook(rows)
        opendocument = make_ods(rows)
        text = ("\n".join("\t".join(row) for row in rows) + "\n").encode()

    print(f"# {host.python_implementation()} {host.python_version()}, {version}")
    print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run")
    print(
        f"# {args.students:,} students x {args.sessions} sessions; .xlsx "
        f"{len(workbook) / 2**20:.2f} MB, .ods {len(opendocument) / 2**20:.2f} MB, "
        f"text {len(text) / 2**20:.2f} MB"
    )
    sheets = (("workbook (.xlsx)", workbook), ("OpenDocument (.ods)", opendocument), ("text", text))
    for name, raw in sheets:
        seconds, heap, growth, count = timed_read(raw)
        print(
            f"read {name}: {seconds * 1000:,.0f} ms for {count:,} marks; "
            f"heap peak {heap:.0f} MB, resident set +{growth:.0f} MB"
        )

    client = app.test_client()
    for label in ("import into an empty course", "import again, as next week (no change)"):
        start = time.perf_counter()
        response = client.post(
            url,
            data={"file": (io.BytesIO(workbook), "Attendances.xlsx")},
            content_type="multipart/form-data",
            headers=headers,
        )
        elapsed = time.perf_counter() - start
        assert response.status_code == 201, response.get_json()
        counts = response.get_json()
        marks, changed = counts["stored"], counts["changed"]
        print(f"{label}: {elapsed * 1000:,.0f} ms, {marks:,} marks, {changed:,} changed")
    with app.app_context():
        records = db.session.scalar(select(func.count()).select_from(AttendanceRecord))
        events = db.session.scalar(select(func.count()).select_from(EngagementEvent))
    print(f"stored: {records:,} marks, {events:,} presence events")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak_rss:.0f} MB")


if __name__ == "__main__":
    main()
