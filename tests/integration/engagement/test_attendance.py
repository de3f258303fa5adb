"""Attendance entry and import: students by id or email, spreadsheet dialects, all or nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import (
    bearer,
    make_course,
    make_enrollment,
    make_institution,
    make_ods,
    make_user,
    make_workbook,
)

PROBLEM = "application/problem+json"
TODAY = datetime.now(UTC).date()


def _day(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


@pytest.fixture
def klass(app):
    """A course with an account student, an LMS student known only by mbox, and a teacher."""
    with app.app_context():
        from masteryai_lti.extensions import db
        from masteryai_lti.identity.service import link_identity

        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        account = make_user(school, email="Ana.Diaz@School.example")
        lms = make_user(school)
        lms.email = None  # an LMS user: the address arrives as an identity, not an account
        link_identity(school.id, lms.id, "mbox", "mailto:ben.okafor@school.example")
        db.session.commit()
        outsider = make_user(school, email="not.enrolled@school.example")
        for kid in (account, lms):
            make_enrollment(course, kid)
        return {
            "base": f"/api/v1/courses/{course.id}",
            "course_id": course.id,
            "school_id": school.id,
            "account": account.id,
            "lms": lms.id,
            "outsider": outsider.id,
            "teacher": bearer(teacher),
            "teacher_user": teacher.id,
        }


def _attendance_raw(client, k, student_id):
    factors = client.get(
        f"{k['base']}/engagement/students/{student_id}", headers=k["teacher"]
    ).json["factors"]
    return next(f["raw"] for f in factors if f["factor"] == "attendance")


def _stored(app, course_id):
    with app.app_context():
        from masteryai_lti.engagement.models import AttendanceRecord, EngagementEvent
        from masteryai_lti.extensions import db

        records = db.session.scalar(
            select(func.count()).where(AttendanceRecord.course_id == course_id)
        )
        events = db.session.scalar(
            select(func.count()).where(
                EngagementEvent.course_id == course_id, EngagementEvent.source == "attendance"
            )
        )
        return records, events


def _import(client, k, body: str):
    return client.post(
        f"{k['base']}/attendance/import", data=body, content_type="text/csv", headers=k["teacher"]
    )


def test_import_by_email_with_semicolons_letters_and_blank_rows(client, app, klass):
    k = klass
    body = (
        "Email address;Date;Status\r\n"
        f"ANA.DIAZ@school.example;{_day(1)};P\r\n"
        f"ben.okafor@school.example;{_day(1)};l\r\n"
        f"ben.okafor@school.example;{_day(2)};A\r\n"
        ";;\r\n"
        f" ben.okafor@school.example ;{_day(3)}; Excused \r\n"
    )
    r = _import(client, k, body)
    assert r.status_code == 201, r.json
    assert r.json["stored"] == 4
    assert _attendance_raw(client, k, k["account"]) == 1
    assert _attendance_raw(client, k, k["lms"]) == 1  # late counts; absent and excused do not
    assert _stored(app, k["course_id"]) == (4, 2)


def test_tab_separated_export_with_user_ids_and_emails_mixed(client, app, klass):
    k = klass
    body = (
        "user_id\temail\tdate\tstatus\n"
        f"{k['account']}\t\t{_day(1)}\tpresent\n"
        f"\tben.okafor@school.example\t{_day(1)}\tpresent\n"
    )
    r = _import(client, k, body)
    assert r.status_code == 201, r.json
    assert _stored(app, k["course_id"]) == (2, 2)


def test_unknown_or_outside_students_are_named_and_nothing_is_stored(client, app, klass):
    k = klass
    body = (
        "email,date,status\n"
        f"ana.diaz@school.example,{_day(1)},present\n"
        f"not.enrolled@school.example,{_day(1)},present\n"
        f"nobody@school.example,{_day(1)},present\n"
    )
    r = _import(client, k, body)
    assert r.status_code == 422 and r.content_type == PROBLEM
    assert [(e["path"], e["location"]) for e in r.json["errors"]] == [
        ("line 3.email", "body"),
        ("line 4.email", "body"),
    ]
    assert "no student of this course" in r.json["errors"][0]["message"]
    assert _stored(app, k["course_id"]) == (0, 0)


def test_contradicting_rows_are_refused_naming_both(client, app, klass):
    k = klass
    body = (
        "user_id,date,status\n"
        f"{k['account']},{_day(1)},present\n"
        f"{k['account']},{_day(2)},present\n"
        f"{k['account']},{_day(1)},present\n"
        f"{k['account']},{_day(1)},absent\n"
    )
    r = _import(client, k, body)
    assert r.status_code == 422
    assert [e["path"] for e in r.json["errors"]] == ["line 5.status"]
    assert "line 2" in r.json["errors"][0]["message"]
    assert _stored(app, k["course_id"]) == (0, 0)
    # The same mark twice is no contradiction: stored once.
    r = _import(client, k, body.rsplit("\n", 2)[0] + "\n")
    assert r.status_code == 201 and r.json["stored"] == 2
    assert _stored(app, k["course_id"]) == (2, 2)


def test_header_and_cell_problems_are_listed_by_line(client, klass):
    k = klass
    r = _import(client, k, "name,day\nAna,x\n")
    assert r.status_code == 422
    assert [e["message"] for e in r.json["errors"]] == [
        "missing column user_id, email or Student ID",
        "missing column date",
        "missing column status",
    ]
    r = _import(client, k, "email,date,status\n")
    assert r.status_code == 422 and r.json["errors"][0]["message"] == "no rows after the header"
    body = f"email,date,status\nana,{_day(1)},P\n,{_day(1)},present\n"
    r = _import(client, k, body)
    assert [(e["path"], e["message"]) for e in r.json["errors"]] == [
        ("line 2.email", "not an email address"),
        ("line 3.email", "names no student: user_id, email and Student ID empty"),
    ]


def test_json_marks_by_email_and_one_student_per_mark(client, app, klass):
    k = klass
    url = f"{k['base']}/attendance"
    marks = [{"email": "Ben.Okafor@school.example", "date": _day(1), "status": "present"}]
    r = client.post(url, json={"marks": marks}, headers=k["teacher"])
    assert r.status_code == 201 and r.json["stored"] == 1
    assert _attendance_raw(client, k, k["lms"]) == 1
    both = [{**marks[0], "user_id": k["lms"]}]
    r = client.post(url, json={"marks": both}, headers=k["teacher"])
    assert r.status_code == 422 and r.json["errors"][0]["path"] == "marks[0].user_id"
    neither = [{"date": _day(1), "status": "present"}]
    r = client.post(url, json={"marks": neither}, headers=k["teacher"])
    assert r.status_code == 422 and r.json["errors"][0]["path"] == "marks[0].user_id"
    r = client.post(
        url,
        json={"marks": [{"email": "nobody@school.example", "date": _day(1), "status": "late"}]},
        headers=k["teacher"],
    )
    assert r.status_code == 422 and r.json["errors"][0]["path"] == "marks[0].email"


def test_a_failure_while_storing_leaves_no_mark_behind(app, klass, monkeypatch):
    """Marks and their events are one transaction: a failing event write undoes the marks."""
    k = klass
    with app.app_context():
        from masteryai_lti.core.policy import actor_for_user
        from masteryai_lti.engagement import attendance
        from masteryai_lti.extensions import db
        from masteryai_lti.identity.models import User

        actor = actor_for_user(db.session.get(User, k["teacher_user"]))
        attendance.record_attendance(
            actor,
            k["course_id"],
            [{"user_id": k["account"], "date": TODAY - timedelta(days=1), "status": "present"}],
        )

        def failing_write(*args, **kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr(attendance, "record_events", failing_write)
        with pytest.raises(RuntimeError):
            attendance.record_attendance(
                actor,
                k["course_id"],
                [
                    {
                        "user_id": k["account"],
                        "date": TODAY - timedelta(days=1),
                        "status": "absent",
                    },
                    {"user_id": k["lms"], "date": TODAY - timedelta(days=2), "status": "present"},
                ],
            )
        db.session.rollback()
    # The first mark and its event stand; the failed request changed nothing.
    assert _stored(app, k["course_id"]) == (1, 1)


def test_the_same_sheet_imported_at_once_twice_is_stored_once(app, klass):
    """A double-clicked import: both requests succeed and every mark is there once."""
    import threading

    k = klass
    with app.app_context():
        from masteryai_lti.extensions import db

        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    body = "user_id,date,status\n" + "".join(
        f"{kid},{_day(d)},{'present' if d % 3 else 'absent'}\n"
        for kid in (k["account"], k["lms"])
        for d in range(1, 29)
    )
    barrier = threading.Barrier(4)
    statuses = []

    def post():
        client = app.test_client()
        barrier.wait()
        statuses.append(_import(client, k, body).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [201] * 4
    present = sum(1 for d in range(1, 29) if d % 3) * 2
    assert _stored(app, k["course_id"]) == (56, present)


def _session(n: int, time: str = "09.00AM", group: str = "All students") -> str:
    """A session column as Moodle's Attendance export heads it."""
    day = TODAY - timedelta(days=n)
    return f"{day.day} {day.strftime('%b')} {day.year} {time} {group}"


def _marks(app, course_id) -> dict[tuple[int, str], str]:
    with app.app_context():
        from masteryai_lti.engagement.models import AttendanceRecord
        from masteryai_lti.extensions import db

        rows = db.session.execute(
            select(
                AttendanceRecord.user_id, AttendanceRecord.session_date, AttendanceRecord.status
            ).where(AttendanceRecord.course_id == course_id)
        )
        return {(user_id, day.isoformat()): status for user_id, day, status in rows}


def _moodle_export(
    columns: list[str], rows: list[list[str]], letters: tuple[str, ...] = ("P", "L", "E", "A")
) -> str:
    """Moodle Attendance's text export: course and group lines, an empty line, the table
    (after the sessions, a count per status letter and the totals)."""
    summary = [*letters, "Taken sessions", "Points", "Percentage"]
    lines = ["Course\tBiology, Year 9", "Group\tAll participants", ""]
    lines.append("\t".join(["Last name", "First name", *columns, *summary]))
    counts = ["0"] * len(letters) + ["2", "2", "50.0"]
    lines += ["\t".join([*row, *counts]) for row in rows]
    return "\n".join(lines) + "\n"


def test_moodle_attendance_export_one_column_per_session(client, app, klass):
    """Moodle's own export reads as it is downloaded: a student per row, a session per
    column, marks written with their points; not-taken and enrolment cells are no mark."""
    k = klass
    sessions = [_session(3), _session(2, "09.00AM"), _session(2, "02.00PM", "Group B"), _session(1)]
    body = _moodle_export(
        ["Email address", *sessions],
        [
            ["Diaz", "Ana", "ana.diaz@school.example", "P (2/2)", "A (0/2)", "L (1/2)", "?"],
            [
                "Okafor",
                "Ben",
                "ben.okafor@school.example",
                "User enrolment starts 01.09.2026",
                "\u2190",
                "-E",
                "A (0/2)",
            ],
            # Rows with nothing marked are passed over: a student the tool has not met,
            # or one whose address Moodle does not show.
            ["Lee", "Kim", "kim.lee@school.example", "?", "?", "", "?"],
            ["Park", "Jo", "", "?", "?", "", "?"],
        ],
    )
    r = _import(client, k, body)
    assert r.status_code == 201, r.json
    # Ana: absent in the morning and late in the afternoon of day 2 is one late mark.
    assert _marks(app, k["course_id"]) == {
        (k["account"], _day(3)): "present",
        (k["account"], _day(2)): "late",
        (k["lms"], _day(2)): "excused",
        (k["lms"], _day(1)): "absent",
    }
    assert r.json == {"stored": 4, "changed": 4}
    assert _stored(app, k["course_id"]) == (4, 2)
    assert _attendance_raw(client, k, k["account"]) == 2

    # Next week's export holds the whole term again: only what differs is written.
    assert _import(client, k, body).json == {"stored": 4, "changed": 0}
    corrected = body.replace("\tP (2/2)\tA (0/2)\tL (1/2)", "\tA (0/2)\tA (0/2)\tL (1/2)")
    assert corrected != body
    assert _import(client, k, corrected).json == {"stored": 4, "changed": 1}
    assert _marks(app, k["course_id"])[(k["account"], _day(3))] == "absent"
    assert _stored(app, k["course_id"]) == (4, 1)  # the withdrawn day's event is gone


def test_moodle_export_identified_by_student_id(client, app, klass):
    """Moodle's Student ID is its user id, which it sends as the LTI subject."""
    k = klass
    with app.app_context():
        from masteryai_lti.extensions import db
        from masteryai_lti.identity.service import link_identity

        link_identity(k["school_id"], k["lms"], "lti", "https://moodle.school.example|42")
        db.session.commit()
    body = _moodle_export(
        ["Student ID", _session(1)], [["Okafor", "Ben", "42", "P (2/2)"], ["Diaz", "Ana", "7", "P"]]
    )
    r = _import(client, k, body)
    assert r.status_code == 422 and r.content_type == PROBLEM
    assert [(e["path"], e["message"]) for e in r.json["errors"]] == [
        ("line 6.student_id", "no student of this course has this Student ID")
    ]
    assert _stored(app, k["course_id"]) == (0, 0)
    r = _import(
        client, k, _moodle_export(["Student ID", _session(1)], [["Okafor", "Ben", "42", "P"]])
    )
    assert r.status_code == 201, r.json
    assert _marks(app, k["course_id"]) == {(k["lms"], _day(1)): "present"}


def test_moodle_export_problems_are_named_by_line_and_session(client, app, klass):
    k = klass
    renamed = _moodle_export(
        ["Email address", _session(2), _session(1)],
        [
            ["Diaz", "Ana", "ana.diaz@school.example", "Pr (2/2)", "P (2/2)"],
            ["Okafor", "Ben", "ben.okafor@school.example", "?", "?"],
        ],
    )
    r = _import(client, k, renamed)
    assert r.status_code == 422
    assert [(e["path"], e["message"]) for e in r.json["errors"]] == [
        (f"line 5.{_session(2)}", "unknown status 'Pr': P, L, A, E or a word")
    ]
    assert _stored(app, k["course_id"]) == (0, 0)
    # Nobody to name: the export was made without an identity column.
    r = _import(client, k, _moodle_export([_session(1)], [["Diaz", "Ana", "P"]]))
    assert r.status_code == 422
    assert [e["message"] for e in r.json["errors"]] == [
        "missing column user_id, email or Student ID"
    ]
    nothing_taken = _moodle_export(
        ["Email address", _session(1)], [["Diaz", "Ana", "ana.diaz@school.example", "?"]]
    )
    r = _import(client, k, nothing_taken)
    assert r.status_code == 422 and r.json["errors"][0]["message"] == "no session is marked"


@pytest.mark.parametrize(
    ("header", "day"),
    [
        ("20 Nov 2026 09.00AM All students", "2026-11-20"),
        ("5 Sep 2026 10.30PM Group B Lab", "2026-09-05"),
        ("05 September 2026", "2026-09-05"),
        ("2026-11-20 lecture", "2026-11-20"),
        ("31 Feb 2026 09.00AM All students", None),
        ("20 Nov. 2026", "2026-11-20"),
        ("20 Zzz 2026 09.00AM", None),
        # The teacher's language: German, French (June and July share three letters),
        # Spanish, Portuguese, Dutch; and dotted day-first dates.
        ("20. Dez. 2026 09:00 Alle Teilnehmer/innen", "2026-12-20"),
        ("3 févr. 2026 14:00", "2026-02-03"),
        ("3 juin 2026 14:00", "2026-06-03"),
        ("3 juil. 2026 14:00", "2026-07-03"),
        ("3 août 2026", "2026-08-03"),
        ("20 ene 2026 10:00 Todos los estudiantes", "2026-01-20"),
        ("5 out 2026", "2026-10-05"),
        ("5 mrt 2026", "2026-03-05"),
        ("20.11.2026 09:00", "2026-11-20"),
        ("20/11/2026", None),  # slashed dates are ambiguous (US month first)
        ("31.02.2026", None),
        ("Taken sessions", None),
        ("P", None),
    ],
)
def test_session_columns_are_recognised_by_their_date(header, day):
    from masteryai_lti.engagement.attendance_sheet import session_day

    found = session_day(header)
    assert (found.isoformat() if found else None) == day


def _upload(client, k, content: bytes, name: str = "Attendances.xlsx"):
    return client.post(
        f"{k['base']}/attendance/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        headers=k["teacher"],
    )


# Moodle's Attendance export offers an Excel (.xlsx) and an OpenOffice (.ods) download.
WORKBOOK_FORMATS = pytest.mark.parametrize(
    ("make_book", "name"),
    [(make_workbook, "Attendances.xlsx"), (make_ods, "Attendances.ods")],
    ids=["xlsx", "ods"],
)


@WORKBOOK_FORMATS
def test_moodle_workbook_export_uploaded_as_downloaded(client, app, klass, make_book, name):
    """Moodle's workbook exports are laid out like its text export."""
    k = klass
    content = make_book(
        [
            ["Course", "Biology, Year 9"],
            ["Group", "All participants"],
            [],
            ["Last name", "First name", "Email address", _session(2), _session(1), "P", "A"],
            ["Diaz", "Ana", "ana.diaz@school.example", "P (2/2)", "A (0/2)", 1, 1],
            ["Okafor", "Ben", "ben.okafor@school.example", "?", "L (1/2)", 0, 0],
        ]
    )
    r = _upload(client, k, content, name)
    assert r.status_code == 201, r.json
    assert _marks(app, k["course_id"]) == {
        (k["account"], _day(2)): "present",
        (k["account"], _day(1)): "absent",
        (k["lms"], _day(1)): "late",
    }


@WORKBOOK_FORMATS
def test_a_teachers_own_workbook_with_date_cells_and_numeric_ids(
    client, app, klass, make_book, name
):
    """Spreadsheet dates and numbers arrive as cell values, not text: read them as such."""
    k = klass
    day = datetime.combine(TODAY - timedelta(days=1), datetime.min.time()) + timedelta(hours=9)
    content = make_book(
        [
            ["user_id", "date", "status"],
            [k["account"], day, "present"],
            [float(k["lms"]), day.date(), "A"],
            [k["lms"], "yesterday", "P"],
        ]
    )
    r = _upload(client, k, content, name)
    assert r.status_code == 422
    assert [e["path"] for e in r.json["errors"]] == ["row 4.date"]  # rows as the sheet shows
    assert _stored(app, k["course_id"]) == (0, 0)
    r = _upload(
        client,
        k,
        make_book(
            [
                ["user_id", "date", "status"],
                *[[k["account"], day, "present"], [float(k["lms"]), day.date(), "A"]],
            ]
        ),
    )
    assert r.status_code == 201, r.json
    assert _marks(app, k["course_id"]) == {
        (k["account"], _day(1)): "present",
        (k["lms"], _day(1)): "absent",
    }


def test_sheets_that_cannot_be_read_are_refused_saying_why(client, app, klass, monkeypatch):
    import zipfile

    from masteryai_lti.engagement import attendance_sheet

    k = klass
    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    # Well-formed, but no sheet in it; and one declaring entities (expansion attacks).
    no_sheet, entities = io.BytesIO(), io.BytesIO()
    for out, content in (
        (no_sheet, "<document-content/>"),
        (entities, '<!DOCTYPE d [<!ENTITY a "aaaa">]><document-content>&a;</document-content>'),
    ):
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            archive.writestr("content.xml", content)
    valid = make_workbook([["email", "date", "status"], ["ana.diaz@school.example", _day(1), "P"]])
    broken_sheet = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(valid)) as source, zipfile.ZipFile(broken_sheet, "w") as out:
        for name in source.namelist():
            body = source.read(name)
            out.writestr(name, b"<sheetData><row" if name.endswith("sheet1.xml") else body)
    cases = [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "an old .xls workbook"),
        (ods.getvalue(), "not a readable .ods spreadsheet"),
        (make_ods([])[:-40], "not a readable .xlsx or .ods workbook"),
        (no_sheet.getvalue(), "not a readable .ods spreadsheet"),
        (entities.getvalue(), "not a readable .ods spreadsheet"),
        (valid[: len(valid) // 2], "not a readable .xlsx or .ods workbook"),
        (broken_sheet.getvalue(), "not a readable .xlsx workbook"),
        ("email;date;status\nana@école.example;2026-11-20;P\n".encode("latin-1"), "not UTF-8"),
    ]
    for content, why in cases:
        r = _upload(client, k, content)
        assert r.status_code == 422 and r.content_type == PROBLEM, why
        assert r.json["errors"][0]["message"].startswith(why), r.json
    monkeypatch.setattr(attendance_sheet, "MAX_SHEET_ROWS", 1)
    r = _upload(client, k, valid)
    assert r.status_code == 422 and r.json["errors"][0]["message"] == "more than 1 rows"
    monkeypatch.setattr(attendance_sheet, "MAX_SHEET_ROWS", 10)
    monkeypatch.setattr(attendance_sheet, "MAX_SHEET_COLUMNS", 2)
    r = _upload(client, k, valid)
    assert r.status_code == 422 and r.json["errors"][0]["message"] == "more than 2 columns"
    assert _stored(app, k["course_id"]) == (0, 0)


def test_ods_repeats_are_bounded_as_unpacked_not_as_written(client, app, klass, monkeypatch):
    """An .ods cell or row may say "repeated N times": a few bytes of upload can stand
    for a billion cells. Bounds count them unpacked, but the empty rows and columns a
    spreadsheet program writes out to the sheet's end are not cells."""
    from masteryai_lti.engagement import attendance_sheet

    k = klass
    header, mark = ["email", "date", "status"], ["ana.diaz@school.example", _day(1), "P"]
    filler = (
        '<table:table-row table:number-rows-repeated="1048574">'
        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    )
    r = _upload(client, k, make_ods([header, mark], tail=filler), "as-saved-by-calc.ods")
    assert r.status_code == 201, r.json
    assert r.json["stored"] == 1

    one_row_a_million_times = (
        '<table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell office:value-type="string"><text:p>P</text:p></table:table-cell>'
        "</table:table-row>"
    )
    r = _upload(client, k, make_ods([header, mark], tail=one_row_a_million_times), "x.ods")
    assert r.status_code == 422 and r.content_type == PROBLEM
    assert r.json["errors"][0]["message"] == "more than 20,000 rows"

    monkeypatch.setattr(attendance_sheet, "MAX_SHEET_COLUMNS", 3)
    wide = (
        '<table:table-row><table:table-cell table:number-columns-repeated="3"/>'
        '<table:table-cell office:value-type="string"><text:p>P</text:p></table:table-cell>'
        "</table:table-row>"
    )
    r = _upload(client, k, make_ods([header, mark], tail=wide), "x.ods")
    assert r.status_code == 422 and r.json["errors"][0]["message"] == "more than 3 columns"
    assert _stored(app, k["course_id"]) == (1, 1)


def test_status_letters_of_another_language_are_read_only_once_explained(client, app, klass):
    """Moodle names its default statuses in the site's language; where the letters are
    not P, L, E, A an "A" may mean present (Anwesend), so nothing is guessed."""
    k = klass
    german = _moodle_export(
        ["Email address", _session(2), _session(1)],
        # Only letters English also has: read with English meanings it would import
        # without a word, Ana absent on the day she was there.
        [["Diaz", "Ana", "ana.diaz@school.example", "A (2/2)", "E (1/2)"]],
        letters=("A", "V", "E", "F"),
    )
    r = _import(client, k, german)
    assert r.status_code == 422 and r.content_type == PROBLEM
    [error] = r.json["errors"]
    assert error["path"] == "header"
    assert "statuses=A:STATUS,V:STATUS,E:STATUS,F:STATUS" in error["message"]
    assert _stored(app, k["course_id"]) == (0, 0)

    url = f"{k['base']}/attendance/import?statuses=A:present,V:late,E:excused,F:absent"
    r = client.post(url, data=german, content_type="text/csv", headers=k["teacher"])
    assert r.status_code == 201, r.json
    assert _marks(app, k["course_id"]) == {
        (k["account"], _day(2)): "present",
        (k["account"], _day(1)): "excused",
    }


def test_a_statuses_parameter_that_cannot_be_read_is_named(client, app, klass):
    k = klass
    body = _moodle_export(
        ["Email address", _session(1)], [["Diaz", "Ana", "ana.diaz@school.example", "P (2/2)"]]
    )
    url = f"{k['base']}/attendance/import?statuses=P:present,R:tardy,:late"
    r = client.post(url, data=body, content_type="text/csv", headers=k["teacher"])
    assert r.status_code == 422
    assert [(e["path"], e["location"]) for e in r.json["errors"]] == [
        ("statuses", "query"),
        ("statuses", "query"),
    ]
    assert "'R:tardy'" in r.json["errors"][0]["message"]
    assert _stored(app, k["course_id"]) == (0, 0)
