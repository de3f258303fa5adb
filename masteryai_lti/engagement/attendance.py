"""Attendance use cases: marks a teacher enters, or imports from a spreadsheet.

A mark of present or late becomes an engagement event (source ``attendance``); a
mark corrected to absent or excused withdraws that event. A request's marks are
checked together and stored in one transaction, or not at all.

Teachers know their students by email, not by this tool's ids, so a mark names
the student by either. Imports take what spreadsheets and Moodle's Attendance
activity write: comma, semicolon or tab separated, statuses as words or as the
letters P, L, A, E.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import ValidationFailed, field_error
from masteryai_lti.core.policy import Actor, ensure_can_teach, visible_course
from masteryai_lti.courses.models import Course
from masteryai_lti.courses.service import student_ids, student_ids_by_email
from masteryai_lti.engagement.models import ATTENDANCE_STATUSES, AttendanceRecord
from masteryai_lti.engagement.service import record_events, withdraw_events
from masteryai_lti.extensions import db

SOURCE = "attendance"
# The words, and the letters Moodle's Attendance activity marks with by default.
STATUS_SPELLINGS = {
    **{status: status for status in ATTENDANCE_STATUSES},
    **{status[0]: status for status in ATTENDANCE_STATUSES},
}
_HEADER_NAMES = {
    "user_id": "user_id",
    "email": "email",
    "email_address": "email",
    "e_mail": "email",
    "date": "date",
    "session_date": "date",
    "status": "status",
}
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Mark:
    """One attendance mark as sent; ``where`` locates it for error messages."""

    where: str
    user_id: int | None
    email: str | None
    day: date
    status: str


def record_attendance(actor: Actor, course_id: int, marks: list[dict]) -> int:
    """Store JSON marks ``{user_id | email, date, status}``; returns how many were stored."""
    return _store(
        actor,
        _taught_course(actor, course_id),
        [
            Mark(
                where=f"marks[{n}]",
                user_id=m.get("user_id"),
                email=(m.get("email") or "").strip().lower() or None,
                day=m["date"],
                status=m["status"],
            )
            for n, m in enumerate(marks)
        ],
        location="json",
    )


def import_attendance_csv(actor: Actor, course_id: int, text: str) -> int:
    """Import a CSV of marks: columns ``user_id`` or ``email``, ``date`` (ISO), ``status``.

    Every row is checked first; any problem is a 422 listing each one by line.
    """
    # Authorise before reading: outsiders learn nothing from validation errors.
    course = _taught_course(actor, course_id)
    return _store(actor, course, parse_attendance_csv(text), location="body")


def parse_attendance_csv(text: str) -> list[Mark]:
    """Marks from CSV text; ValidationFailed naming every bad header or cell."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next((row for row in reader if any(cell.strip() for cell in row)), [])
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _HEADER_NAMES.get(re.sub(r"[\s\-]+", "_", name.strip().lower()))
        if key is not None:
            columns.setdefault(key, index)
    missing = [c for c in ("date", "status") if c not in columns]
    if "user_id" not in columns and "email" not in columns:
        missing.insert(0, "user_id or email")
    if missing:
        raise ValidationFailed(
            "The CSV needs a column naming the student (user_id or email), date and status.",
            errors=[field_error("header", f"missing column {c}", "body") for c in missing],
        )
    marks, errors = [], []

    def cell(row: list[str], column: str) -> str:
        index = columns.get(column)
        return row[index].strip() if index is not None and index < len(row) else ""

    for row in reader:
        if not any(c.strip() for c in row):
            continue  # spreadsheets append empty rows
        where = f"line {reader.line_num}"
        problems = []
        user_id, email = None, None
        if cell(row, "user_id"):
            try:
                user_id = int(cell(row, "user_id"))
            except ValueError:
                problems.append(("user_id", "not an integer"))
        elif cell(row, "email"):
            email = cell(row, "email").lower()
            if "@" not in email:
                problems.append(("email", "not an email address"))
        else:
            named = "user_id" if "user_id" in columns else "email"
            problems.append((named, "the student's user_id or email is empty"))
        try:
            day = date.fromisoformat(cell(row, "date"))
        except ValueError:
            problems.append(("date", "not an ISO date (YYYY-MM-DD)"))
        status = STATUS_SPELLINGS.get(cell(row, "status").lower())
        if status is None:
            problems.append(("status", f"one of {', '.join(ATTENDANCE_STATUSES)} (or P, L, A, E)"))
        if problems:
            errors += [
                field_error(f"{where}.{name}", message, "body") for name, message in problems
            ]
            continue
        marks.append(Mark(where, user_id, email, day, status))
    if errors:
        raise ValidationFailed("The CSV has invalid rows.", errors=errors)
    if not marks:
        raise ValidationFailed(
            "The CSV has no marks.",
            errors=[field_error("body", "no rows after the header", "body")],
        )
    return marks


def _taught_course(actor: Actor, course_id: int) -> Course:
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    return course


def _store(actor: Actor, course: Course, marks: list[Mark], location: str) -> int:
    """Resolve students, refuse unknown ones and contradictions, store all in one commit."""
    course_id = course.id
    resolved, errors = _resolve_students(course_id, marks, location)
    if errors:
        raise ValidationFailed("Some marks are not for a student of this course.", errors=errors)
    chosen: dict[tuple[int, date], Mark] = {}
    for mark in marks:
        key = (resolved[mark.where], mark.day)
        earlier = chosen.setdefault(key, mark)
        if earlier.status != mark.status:
            errors.append(
                field_error(
                    f"{mark.where}.status",
                    f"contradicts {earlier.where}: same student and date, another status",
                    location,
                )
            )
    if errors:
        raise ValidationFailed("Some marks contradict each other.", errors=errors)

    now = utcnow()
    _upsert_records(
        [
            {
                "institution_id": course.institution_id,
                "course_id": course_id,
                "user_id": user_id,
                "session_date": day,
                "status": mark.status,
                "recorded_by": actor.user_id,
                "updated_at": now,
            }
            for (user_id, day), mark in chosen.items()
        ]
    )
    events, withdrawn = [], []
    for (user_id, day), mark in chosen.items():
        source_id = f"{course_id}:{user_id}:{day.isoformat()}"
        if mark.status in ("present", "late"):
            events.append(
                {
                    "user_id": user_id,
                    "course_id": course_id,
                    "kind": "attendance",
                    "occurred_at": datetime.combine(day, datetime.min.time(), UTC),
                    "source": SOURCE,
                    "source_id": source_id,
                    "extra": {"status": mark.status},
                }
            )
        else:
            withdrawn.append(source_id)
    withdraw_events(course.institution_id, SOURCE, withdrawn)
    record_events(course.institution_id, events, commit=False)
    db.session.commit()
    return len(chosen)


def _upsert_records(rows: list[dict]) -> None:
    """Insert or update marks in one statement per slice: a sheet imported twice at
    once (a double click) updates rather than colliding on the unique mark."""
    dialect = db.session.get_bind().dialect.name
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # Slices keep SQLite under its cap on bound parameters (7 per row).
    for start in range(0, len(rows), 1000):
        statement = make_insert(AttendanceRecord.__table__).values(rows[start : start + 1000])
        statement = statement.on_conflict_do_update(
            index_elements=["course_id", "user_id", "session_date"],
            set_={c: statement.excluded[c] for c in ("status", "recorded_by", "updated_at")},
        )
        db.session.execute(statement)


def _resolve_students(
    course_id: int, marks: list[Mark], location: str
) -> tuple[dict[str, int], list[dict]]:
    """Each mark's student id (by ``where``), and an error for each that names nobody here."""
    roster = set(student_ids(course_id))
    by_email = student_ids_by_email(course_id) if any(m.email for m in marks) else {}
    resolved, errors = {}, []
    for mark in marks:
        if mark.user_id is not None:
            if mark.user_id in roster:
                resolved[mark.where] = mark.user_id
            else:
                errors.append(
                    field_error(f"{mark.where}.user_id", "not a student of this course", location)
                )
            continue
        found = by_email.get(mark.email or "", set())
        if len(found) == 1:
            resolved[mark.where] = next(iter(found))
        else:
            problem = (
                "no student of this course has this email"
                if not found
                else ("more than one student of this course has this email; use user_id")
            )
            errors.append(field_error(f"{mark.where}.email", problem, location))
    return resolved, errors
