"""Attendance use cases: marks a teacher enters, or imports from a spreadsheet.

A mark of present or late becomes an engagement event (source ``attendance``); a
mark corrected to absent or excused withdraws that event. A request's marks are
checked together and stored in one transaction, or not at all.

Teachers know their students by email, not by this tool's ids, so a mark names
the student by either (or by the LMS's user id). Imports read what spreadsheets and
Moodle's Attendance activity write (``attendance_sheet``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
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
from masteryai_lti.engagement.attendance_sheet import Mark, read_marks, status_spellings
from masteryai_lti.engagement.models import AttendanceRecord
from masteryai_lti.engagement.service import institution_zone, record_events, withdraw_events
from masteryai_lti.extensions import db

SOURCE = "attendance"


def record_attendance(actor: Actor, course_id: int, marks: list[dict]) -> dict[str, int]:
    """Store JSON marks ``{user_id | email, date, status}``; returns how many were
    stored and how many changed."""
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


def import_attendance(
    actor: Actor, course_id: int, raw: bytes, statuses: str | None = None
) -> dict[str, int]:
    """Import an attendance sheet (CSV, .xlsx or .ods, either shape ``attendance_sheet`` reads);
    ``statuses`` says what the sheet's status letters mean ("A:present,V:late,…").

    Every row is checked first; any problem is a 422 listing each one by line.
    """
    # Authorise before reading: outsiders learn nothing from validation errors.
    course = _taught_course(actor, course_id)
    marks = read_marks(raw, status_spellings(statuses), institution_zone(course.institution_id))
    return _store(actor, course, marks, location="body")


def _taught_course(actor: Actor, course_id: int) -> Course:
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    return course


def _store(actor: Actor, course: Course, marks: list[Mark], location: str) -> dict[str, int]:
    """Resolve students, refuse unknown ones and contradictions, store all in one commit;
    how many marks the request gave (``stored``) and how many of them were new or
    different from what was stored (``changed``)."""
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

    # Moodle's export is cumulative: a teacher re-imports the whole term each week, and
    # only what changed since needs writing (a term of 58,000 marks: 10-24 s down to 2-3 s).
    stored = _stored_statuses(course_id, [day for _, day in chosen])
    changed = {key: mark for key, mark in chosen.items() if stored.get(key) != mark.status}
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
            for (user_id, day), mark in changed.items()
        ]
    )
    events, withdrawn = [], []
    # A session's mark happens at the start of its day where the school is, so it counts
    # on that date whatever the zone (midnight UTC is the evening before in New York).
    zone = institution_zone(course.institution_id)
    for (user_id, day), mark in changed.items():
        source_id = f"{course_id}:{user_id}:{day.isoformat()}"
        if mark.status in ("present", "late"):
            events.append(
                {
                    "user_id": user_id,
                    "course_id": course_id,
                    "kind": "attendance",
                    "occurred_at": datetime.combine(day, datetime.min.time(), zone),
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
    return {"stored": len(chosen), "changed": len(changed)}


def _stored_statuses(course_id: int, days: list[date]) -> dict[tuple[int, date], str]:
    """The course's marks already stored over these days' span, by (student, day)."""
    if not days:
        return {}
    rows = db.session.execute(
        select(AttendanceRecord.user_id, AttendanceRecord.session_date, AttendanceRecord.status)
        .where(AttendanceRecord.course_id == course_id)
        .where(AttendanceRecord.session_date.between(min(days), max(days)))
    )
    return {(user_id, day): status for user_id, day, status in rows}


def _upsert_records(rows: list[dict]) -> None:
    """Insert or update marks: a sheet imported twice at once (a double click) updates
    rather than colliding on the unique mark.

    One statement executed over all rows; its RETURNING, unused, makes SQLAlchemy send
    them as batched multi-row INSERTs (without it psycopg2 sends one per row). Before,
    a statement with the rows written into it was compiled anew for every slice of
    1,000: 15 s of a 1,000-student course's term.
    """
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make_insert(AttendanceRecord.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["course_id", "user_id", "session_date"],
        set_={c: statement.excluded[c] for c in ("status", "recorded_by", "updated_at")},
    ).returning(AttendanceRecord.__table__.c.id)
    db.session.execute(statement, rows).all()


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
