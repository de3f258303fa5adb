"""Reading teachers' attendance sheets into marks.

Two shapes: a row per mark (student, date, status), as a teacher's own sheet has it,
or Moodle Attendance's export, a row per student and a column per session. Either as
CSV (comma, semicolon or tab separated: spreadsheets in many locales, Moodle's text
format), as the .xlsx workbook Moodle downloads by default or as its OpenDocument
(.ods) download. Nothing here touches the database: students are only named, and
resolved by the use case that stores.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from masteryai_lti.core.errors import ValidationFailed, field_error
from masteryai_lti.engagement.models import ATTENDANCE_STATUSES

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
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx and .ods are zip archives
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
# A workbook is a compressed archive: bound what it may unpack to (a class of 2,000
# students with 500 sessions is 1 M cells).
MAX_SHEET_ROWS = 20_000
MAX_SHEET_COLUMNS = 2_000
# Month names as Moodle writes a session's date in the teacher's language (English,
# German, Dutch, French, Spanish, Italian, Portuguese), by their first three letters
# without accents; French June and July need four.
_MONTH_PREFIXES = {
    **{p: 1 for p in ("jan", "ene", "gen")},
    **{p: 2 for p in ("feb", "fev")},
    **{p: 3 for p in ("mar", "mrt")},
    **{p: 4 for p in ("apr", "abr", "avr")},
    **{p: 5 for p in ("may", "mai", "mag", "mei")},
    **{p: 6 for p in ("jun", "giu", "juin")},
    **{p: 7 for p in ("jul", "lug", "juil")},
    **{p: 8 for p in ("aug", "ago", "aou")},
    **{p: 9 for p in ("sep", "set")},
    **{p: 10 for p in ("oct", "okt", "ott", "out")},
    **{p: 11 for p in ("nov",)},
    **{p: 12 for p in ("dec", "dez", "dic")},
}
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})\b")
# "20 Nov 2026 09.00AM", "20. Nov. 2026 09:00", "20 déc. 2026"
_WORDED_DAY = re.compile(r"(\d{1,2})\.?\s+([^\W\d_]{3,})\.?\s+(\d{4})\b")
# "20.11.2026 09:00": dotted dates are day first. Slashed ones are not read: 11/05/2026
# is May in most of the world and November in the US, and a wrong day is worse than none.
_NUMERIC_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
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


def status_spellings(text: str | None) -> dict[str, str] | None:
    """A teacher's own status letters, "A:present,V:late,E:excused,F:absent" (Moodle's
    defaults follow the site's language), or None; ValidationFailed names what is wrong."""
    if not (text or "").strip():
        return None
    spellings, errors = {}, []
    for part in text.split(","):
        letter, _, status = (piece.strip() for piece in part.partition(":"))
        if not letter or status.lower() not in ATTENDANCE_STATUSES:
            errors.append(
                field_error(
                    "statuses",
                    f"{part.strip()!r} is not LETTER:STATUS with STATUS one of "
                    f"{', '.join(ATTENDANCE_STATUSES)}",
                    "query",
                )
            )
        spellings[letter.lower()] = status.lower()
    if errors:
        raise ValidationFailed("The statuses parameter cannot be read.", errors=errors)
    return spellings


def read_marks(
    raw: bytes, spellings: dict[str, str] | None = None, zone: tzinfo = UTC
) -> list[Mark]:
    """Marks from an uploaded sheet (CSV text, an .xlsx workbook or an .ods
    spreadsheet); ValidationFailed naming every bad header or cell by line (CSV) or row
    (workbook). ``spellings``: the status letters the sheet uses, when not Moodle's
    English defaults; ``zone``: the school's, the day of a date cell holding an instant
    with an offset ("2026-12-08T01:30:00Z" is the 7th in New York)."""
    if raw.startswith(_ZIP_MAGIC):
        return marks_from_rows(_archive_rows(raw), unit="row", spellings=spellings, zone=zone)
    if raw.startswith(_OLE_MAGIC):
        raise _unreadable("an old .xls workbook: save it as .xlsx, .ods or CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _unreadable("not UTF-8 text, nor an .xlsx or .ods workbook") from None
    return marks_from_rows(_csv_rows(text), unit="line", spellings=spellings, zone=zone)


def marks_from_rows(
    rows: list[tuple[int, list[str]]],
    unit: str,
    spellings: dict[str, str] | None = None,
    zone: tzinfo = UTC,
) -> list[Mark]:
    """Marks from a sheet's rows, each with its line or row number."""
    lines = _table(rows)
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
            "The sheet needs a column naming the student (user_id, email or Student ID) and "
            "either date and status or one column per session, as Moodle's export has.",
            errors=[field_error("header", f"missing column {c}", "body") for c in missing],
        )
    if per_session and spellings is None:
        _refuse_foreign_letters(header, sessions)
    known = {**STATUS_SPELLINGS, **(spellings or {})}
    marks, errors = [], []
    for number, row in lines[1:]:
        where = f"{unit} {number}"
        if per_session:
            found, problems = _session_marks(row, header, sessions, known)
            if not found and not problems:
                continue  # a student with no session marked yet: nothing to store
        else:
            found, problems = _dated_mark(row, columns, known, zone)
        student, more = _student(row, columns)
        problems = more + problems
        if problems:
            errors += [
                field_error(f"{where}.{name}", message, "body") for name, message in problems
            ]
            continue
        marks += [Mark(where, *student, day, status) for day, status in found]
    if errors:
        raise ValidationFailed("The sheet has invalid rows.", errors=errors)
    if not marks:
        raise ValidationFailed(
            "The sheet has no marks.",
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
    students", or its form in the teacher's language) or of a sheet headed by dates."""
    text = header.strip().lower()
    if found := _ISO_DAY.match(text):
        year, month, day = int(found[1]), int(found[2]), int(found[3])
    elif found := _NUMERIC_DAY.match(text):
        year, month, day = int(found[3]), int(found[2]), int(found[1])
    elif (found := _WORDED_DAY.match(text)) and (month := _month(found[2])):
        year, day = int(found[3]), int(found[1])
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month(name: str) -> int | None:
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return _MONTH_PREFIXES.get(plain[:4]) or _MONTH_PREFIXES.get(plain[:3])


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


def _refuse_foreign_letters(header: list[str], sessions: dict[int, date]) -> None:
    """Moodle's export lists its status letters after the sessions (a count per letter).
    The default letters follow the Moodle site's language, and some languages reuse
    English letters for other statuses, so a set other than P, L, E, A cannot be read
    safely without being told what each letter means."""
    declared = []
    for name in header[max(sessions) + 1 :]:
        name = name.strip()
        if not name:
            continue  # a remarks column
        if len(name) > 3 or " " in name:
            break  # "Taken sessions": the letters are over
        declared.append(name)
    if declared and not {d.lower() for d in declared} <= {"p", "l", "e", "a"}:
        example = ",".join(f"{d}:STATUS" for d in declared)
        raise ValidationFailed(
            "This export's status letters are not Moodle's English defaults.",
            errors=[
                field_error(
                    "header",
                    f"the statuses are {', '.join(declared)}: say what each means with the "
                    f"query parameter statuses={example} (STATUS one of "
                    f"{', '.join(ATTENDANCE_STATUSES)})",
                    "body",
                )
            ],
        )


def _dated_mark(
    row: list[str], columns: dict[str, int], known: dict[str, str], zone: tzinfo = UTC
) -> tuple[list[tuple[date, str]], list[tuple[str, str]]]:
    """The one mark of a row of the date-and-status shape."""
    problems = []
    day = _sheet_day(_cell(row, columns["date"]), zone)
    if day is None:
        problems.append(("date", "not an ISO date (YYYY-MM-DD) or date and time"))
    status = known.get(_cell(row, columns["status"]).lower())
    if status is None:
        problems.append(("status", f"one of {', '.join(ATTENDANCE_STATUSES)} (or P, L, A, E)"))
    return ([] if problems else [(day, status)]), problems


def _sheet_day(text: str, zone: tzinfo) -> date | None:
    """The day of a date cell: an ISO date as written; a date and time as written too,
    unless it carries an offset (an instant some systems export in UTC), which falls on
    its date in the school's ``zone``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(zone).date()


def _session_marks(
    row: list[str], header: list[str], sessions: dict[int, date], known: dict[str, str]
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
        status = known.get(found[1].lower())
        if status is None:
            problems.append(
                (header[index].strip(), f"unknown status {found[1]!r}: P, L, A, E or a word")
            )
        elif day not in best or _DAY_RANK[status] < _DAY_RANK[best[day]]:
            best[day] = status
    return sorted(best.items()), problems


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    sample = [line for line in text.splitlines() if line.strip()][:5]
    delimiter = max(_DELIMITERS, key=lambda d: max((line.count(d) for line in sample), default=0))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    return [(reader.line_num, row) for row in reader]


def _archive_rows(raw: bytes) -> list[tuple[int, list[str]]]:
    """The first worksheet's rows as text (Moodle writes one, "Attendances")."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        is_ods = "mimetype" in archive.namelist() and archive.read("mimetype").startswith(
            _ODS_MIMETYPE
        )
    except (zipfile.BadZipFile, OSError, zlib.error):
        raise _unreadable("not a readable .xlsx or .ods workbook") from None
    if is_ods:
        return _ods_rows(raw, archive)
    return _xlsx_rows(raw)


def _xlsx_rows(raw: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    rows = []
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            # No max_col: openpyxl would pad every row out to it.
            cells = book.worksheets[0].iter_rows(values_only=True)
            for number, values in enumerate(cells, 1):
                if number > MAX_SHEET_ROWS:
                    raise _too_large(rows=True)
                if len(values) > MAX_SHEET_COLUMNS and any(values[MAX_SHEET_COLUMNS:]):
                    raise _too_large(rows=False)
                rows.append((number, [_cell_text(v) for v in values[:MAX_SHEET_COLUMNS]]))
        finally:
            book.close()
    except ValidationFailed:
        raise
    except Exception:  # whichever part of an uploaded archive is broken, it means the same
        raise _unreadable("not a readable .xlsx workbook") from None
    return rows


def _ods_rows(raw: bytes, archive: zipfile.ZipFile) -> list[tuple[int, list[str]]]:
    # calamine unpacks the whole sheet at once, repeats included: a cell written once
    # with "repeated 1,000,000 times" is a few bytes of upload and a gigabyte unpacked.
    # Measure the sheet's extent first, streaming, and refuse it before calamine would.
    _check_ods_extent(archive)
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(raw)).get_sheet_by_index(0)
        first_row = sheet.start[0] + 1 if sheet.start else 1
        return [
            (number, [_cell_text(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(), first_row)
        ]
    except Exception:  # calamine's errors, whatever part is broken
        raise _unreadable("not a readable .ods spreadsheet") from None


def _check_ods_extent(archive: zipfile.ZipFile) -> None:
    """Refuse an .ods whose first sheet reaches past the bounds, counting repeated rows
    and cells as the reader will unpack them (trailing empty ones, which spreadsheets
    write to the sheet's end, are not unpacked and not counted), and the rows and cells
    as written (the parse keeps a row's cells, and an emptied element per row)."""
    from defusedxml.ElementTree import iterparse

    cell_tags = {f"{_ODS_TABLE}table-cell", f"{_ODS_TABLE}covered-table-cell"}
    value_type = f"{_ODS_OFFICE}value-type"
    rows_at = rows_written = columns_in_row = cells_written = last_full_column = 0
    try:
        with archive.open("content.xml") as content:
            for _, element in iterparse(content, events=("end",)):
                if element.tag in cell_tags:
                    columns_in_row += _repeats(element, "number-columns-repeated")
                    cells_written += 1
                    if element.get(value_type) or len(element):
                        last_full_column = columns_in_row
                    if last_full_column > MAX_SHEET_COLUMNS or cells_written > MAX_SHEET_COLUMNS:
                        raise _too_large(rows=False)
                    element.clear()
                elif element.tag == f"{_ODS_TABLE}table-row":
                    rows_at += _repeats(element, "number-rows-repeated")
                    rows_written += 1
                    if (last_full_column and rows_at > MAX_SHEET_ROWS) or (
                        rows_written > MAX_SHEET_ROWS
                    ):
                        raise _too_large(rows=True)
                    columns_in_row = cells_written = last_full_column = 0
                    element.clear()
                elif element.tag == f"{_ODS_TABLE}table":
                    return  # the first sheet is the one read
    except ValidationFailed:
        raise
    except Exception:  # not XML, no content.xml, a DTD defusedxml refuses
        raise _unreadable("not a readable .ods spreadsheet") from None


def _repeats(element, attribute: str) -> int:
    try:
        return max(1, int(element.get(f"{_ODS_TABLE}{attribute}", "1")))
    except ValueError:
        return 1


def _cell_text(value: object) -> str:
    """A workbook cell as the text a CSV would hold: dates in ISO (the day is what a
    mark is about, whatever time a cell carries), 42.0 as 42."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """The header and the rows after it; empty rows dropped.

    Moodle's exports open with two rows naming the course and the group and an empty
    row; a preamble like that (rows of at most two cells, then an empty row) is skipped.
    """
    blank = next((n for n, (_, row) in enumerate(rows) if not any(c.strip() for c in row)), None)
    if blank is not None:
        before = [row for _, row in rows[:blank] if any(c.strip() for c in row)]
        after = any(any(c.strip() for c in row) for _, row in rows[blank:])
        if before and after and all(sum(1 for c in row if c.strip()) <= 2 for row in before):
            rows = rows[blank:]
    # Spreadsheets append empty rows.
    return [(number, row) for number, row in rows if any(c.strip() for c in row)]


def _too_large(rows: bool) -> ValidationFailed:
    if rows:
        return _unreadable(f"more than {MAX_SHEET_ROWS:,} rows")
    return _unreadable(f"more than {MAX_SHEET_COLUMNS:,} columns")


def _unreadable(why: str) -> ValidationFailed:
    return ValidationFailed(
        "The attendance sheet cannot be read.", errors=[field_error("body", why, "body")]
    )
