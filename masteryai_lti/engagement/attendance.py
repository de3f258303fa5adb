"""Attendance use cases: marks a teacher enters, or imports from a spreadsheet.

A mark of present or late becomes an engagement event (source ``attendance``); a
mark corrected to absent or excused withdraws that event. A request's marks are
checked together and stored in one transaction, or not at all.

Teachers know their students by email, not by this tool's ids, so a mark names
the student by either (or by the LMS's user id). Imports take what spreadsheets and
Moodle's Attendance activity write: comma, semicolon or tab separated, statuses as
words or as the letters P, L, A, E, a row per mark or Moodle's export of a row per
student and a column per session.
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
from masteryai_lti.courses.service import (
    student_ids,
    student_ids_by_email,
    student_ids_by_lms_user_id,
)
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
    # Moodle's export "Identify by" columns; Student ID is the Moodle user id, which
    # Moodle also sends as the LTI subject.
    "student_id": "lms_user_id",
    "lms_user_id": "lms_user_id",
}
_STUDENT_COLUMNS = ("user_id", "email", "lms_user_id")
_DELIMITERS = (",", ";", "\t")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})\b")
_MOODLE_DAY = re.compile(r"(\d{1,2})\s+([a-z]{3,})\.?\s+(\d{4})\b")
# A status cell: the letter, maybe "-" for a status since hidden, maybe the points.
_MOODLE_MARK = re.compile(r"-?([^\s(]+)(?:\s*\([^)]*\))?")
_NOT_MARKED = {"", "?", "\u2190"}  # not taken; "←" repeats an enrolment note
# Of a day's sessions the best counts: attending any one makes it an active day.
_DAY_RANK = {"present": 0, "late": 1, "excused": 2, "absent": 3}


@dataclass(frozen=True)
class Mark:
    """One attendance mark as sent; ``where`` locates it for error messages."""

    where: str
    user_id: int | None
    email: str | None
    lms_user_id: str | None
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
                lms_user_id=None,
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
    """Marks from CSV text; ValidationFailed naming every bad header or cell.

    Two shapes: one row per mark (student, date, status), or Moodle Attendance's
    export: a row per student and a column per session.
    """
    lines = _rows(text)
    header = lines[0][1] if lines else []
    columns: dict[str, int] = {}
    sessions: dict[int, date] = {}
    for index, name in enumerate(header):
        key = _HEADER_NAMES.get(re.sub(r"[\s\-]+", "_", name.strip().lower()))
        if key is not None:
            columns.setdefault(key, index)
        elif (day := session_day(name)) is not None:
            sessions[index] = day
    per_session = bool(sessions) and "date" not in columns and "status" not in columns
    missing = [] if per_session else [c for c in ("date", "status") if c not in columns]
    if not any(c in columns for c in _STUDENT_COLUMNS):
        missing.insert(0, "user_id, email or Student ID")
    if missing:
        raise ValidationFailed(
            "The CSV needs a column naming the student (user_id, email or Student ID) and "
            "either date and status or one column per session, as Moodle's export has.",
            errors=[field_error("header", f"missing column {c}", "body") for c in missing],
        )
    marks, errors = [], []
    for line, row in lines[1:]:
        where = f"line {line}"
        if per_session:
            found, problems = _session_marks(row, header, sessions)
            if not found and not problems:
                continue  # a student with no session marked yet: nothing to store
        else:
            found, problems = _dated_mark(row, columns)
        student, more = _student(row, columns)
        problems = more + problems
        if problems:
            errors += [
                field_error(f"{where}.{name}", message, "body") for name, message in problems
            ]
            continue
        marks += [Mark(where, *student, day, status) for day, status in found]
    if errors:
        raise ValidationFailed("The CSV has invalid rows.", errors=errors)
    if not marks:
        raise ValidationFailed(
            "The CSV has no marks.",
            errors=[
                field_error(
                    "body",
                    "no rows after the header" if len(lines) < 2 else "no session is marked",
                    "body",
                )
            ],
        )
    return marks


def session_day(header: str) -> date | None:
    """The date of a session column of Moodle's export ("20 Nov 2026 09.00AM All
    students", the English month abbreviation) or of a sheet headed by ISO dates."""
    text = header.strip().lower()
    if found := _ISO_DAY.match(text):
        year, month, day = int(found[1]), int(found[2]), int(found[3])
    elif (found := _MOODLE_DAY.match(text)) and found[2][:3] in _MONTHS:
        year, month, day = int(found[3]), _MONTHS[found[2][:3]], int(found[1])
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """The header and the rows after it, each with its line number; empty rows dropped.

    Moodle's text export opens with two lines naming the course and the group and an
    empty line; a preamble like that (rows of at most two cells, then an empty row)
    is skipped.
    """
    sample = [line for line in text.splitlines() if line.strip()][:5]
    delimiter = max(_DELIMITERS, key=lambda d: max((line.count(d) for line in sample), default=0))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = [(reader.line_num, row) for row in reader]
    blank = next((n for n, (_, row) in enumerate(rows) if not any(c.strip() for c in row)), None)
    if blank is not None:
        before = [row for _, row in rows[:blank] if any(c.strip() for c in row)]
        after = any(any(c.strip() for c in row) for _, row in rows[blank:])
        if before and after and all(sum(1 for c in row if c.strip()) <= 2 for row in before):
            rows = rows[blank:]
    # Spreadsheets append empty rows.
    return [(line, row) for line, row in rows if any(c.strip() for c in row)]


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _student(
    row: list[str], columns: dict[str, int]
) -> tuple[tuple[int | None, str | None, str | None], list[tuple[str, str]]]:
    """(user_id, email, lms_user_id) from the first student column filled in."""
    if value := _cell(row, columns.get("user_id")):
        try:
            return (int(value), None, None), []
        except ValueError:
            return (None, None, None), [("user_id", "not an integer")]
    if value := _cell(row, columns.get("email")).lower():
        problems = [] if "@" in value else [("email", "not an email address")]
        return (None, value, None), problems
    if value := _cell(row, columns.get("lms_user_id")):
        return (None, None, value), []
    named = next(c for c in _STUDENT_COLUMNS if c in columns)
    return (None, None, None), [(named, "names no student: user_id, email and Student ID empty")]


def _dated_mark(
    row: list[str], columns: dict[str, int]
) -> tuple[list[tuple[date, str]], list[tuple[str, str]]]:
    """The one mark of a row of the date-and-status shape."""
    problems = []
    try:
        day = date.fromisoformat(_cell(row, columns["date"]))
    except ValueError:
        problems.append(("date", "not an ISO date (YYYY-MM-DD)"))
    status = STATUS_SPELLINGS.get(_cell(row, columns["status"]).lower())
    if status is None:
        problems.append(("status", f"one of {', '.join(ATTENDANCE_STATUSES)} (or P, L, A, E)"))
    return ([] if problems else [(day, status)]), problems


def _session_marks(
    row: list[str], header: list[str], sessions: dict[int, date]
) -> tuple[list[tuple[date, str]], list[tuple[str, str]]]:
    """A student's marks from the session columns, one per day.

    Moodle writes a mark as its status letter and the points ("P (2/2)"), "?" for a
    session not taken, and notes about the enrolment ("User enrolment starts …") where
    the student was not enrolled; only marks count. Two sessions on one day make one
    mark, the better status: the day counts as attended if any session was.
    """
    best: dict[date, str] = {}
    problems = []
    for index, day in sessions.items():
        value = _cell(row, index)
        found = _MOODLE_MARK.fullmatch(value)
        if value in _NOT_MARKED or found is None:
            continue
        status = STATUS_SPELLINGS.get(found[1].lower())
        if status is None:
            problems.append(
                (header[index].strip(), f"unknown status {found[1]!r}: P, L, A, E or a word")
            )
        elif day not in best or _DAY_RANK[status] < _DAY_RANK[best[day]]:
            best[day] = status
    return sorted(best.items()), problems


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
    """Each mark's student id (by ``where``), and an error for each line naming nobody here."""
    roster = set(student_ids(course_id))
    by_email = student_ids_by_email(course_id) if any(m.email for m in marks) else {}
    by_lms = student_ids_by_lms_user_id(course_id) if any(m.lms_user_id for m in marks) else {}
    resolved, errors, seen = {}, [], set()
    for mark in marks:
        # A line of Moodle's export carries a mark per session day and one student.
        if mark.where in seen:
            continue
        seen.add(mark.where)
        if mark.user_id is not None:
            found, column = ({mark.user_id} & roster), "user_id"
        elif mark.email is not None:
            found, column = by_email.get(mark.email, set()), "email"
        else:
            found, column = by_lms.get(mark.lms_user_id or "", set()), "Student ID"
        if len(found) == 1:
            resolved[mark.where] = next(iter(found))
            continue
        problem = (
            f"no student of this course has this {column}"
            if not found
            else f"more than one student of this course has this {column}; use user_id"
        )
        path = "user_id" if column == "user_id" else column.lower().replace(" ", "_")
        errors.append(field_error(f"{mark.where}.{path}", problem, location))
    return resolved, errors
