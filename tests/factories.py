"""``make_*`` factories for test data; call them inside an app context."""

from __future__ import annotations

import io
import itertools

from flask_jwt_extended import create_access_token

from masteryai_lti.core.security import hash_password
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
from masteryai_lti.identity.models import Institution, User

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def make_institution(name: str | None = None, slug: str | None = None) -> Institution:
    n = next(_counter)
    institution = identity.create_institution(name or f"School {n}", slug=slug)
    db.session.commit()
    return institution


def make_user(
    institution: Institution | None = None,
    *,
    role: str = "student",
    email: str | None = None,
    full_name: str | None = None,
    admin: bool = False,
    password: str = PASSWORD,
) -> User:
    n = next(_counter)
    user = User(
        institution_id=institution.id if institution else None,
        email=email or f"user{n}@school.example",
        password_hash=hash_password(password),
        full_name=full_name or f"User {n}",
        role=role,
        is_institution_admin=admin,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_course(institution: Institution, teacher: User | None = None, **fields) -> Course:
    n = next(_counter)
    course = Course(
        institution_id=institution.id,
        title=fields.pop("title", f"Course {n}"),
        join_code=fields.pop("join_code", f"JOIN{n:04d}"),
        **fields,
    )
    db.session.add(course)
    db.session.flush()
    if teacher is not None:
        courses.enroll(institution.id, course.id, teacher.id, "teacher")
    db.session.commit()
    return course


def make_enrollment(course: Course, user: User, role: str = "student") -> Enrollment:
    enrollment = courses.enroll(course.institution_id, course.id, user.id, role)
    db.session.commit()
    return enrollment


def bearer(user: User) -> dict[str, str]:
    """An Authorization header for ``user`` (needs an app context)."""
    token = create_access_token(identity=str(user.id))
    return {"Authorization": f"Bearer {token}"}


def make_workbook(rows: list[list[object]], title: str = "Attendances") -> bytes:
    """An .xlsx workbook of one worksheet holding ``rows`` (as Moodle's exports have it)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_ods(rows: list[list[object]], title: str = "Attendances", tail: str = "") -> bytes:
    """An OpenDocument spreadsheet laid out as Moodle's ODS writer writes one: every row
    padded with empty cells to the widest, dates and numbers as typed values. ``tail``:
    raw XML appended to the sheet, for rows a spreadsheet program writes by itself."""
    import zipfile
    from datetime import date, datetime
    from xml.sax.saxutils import escape, quoteattr

    def cell(value: object) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, datetime | date):
            kind = f'office:value-type="date" office:date-value="{value.isoformat()}"'
        elif isinstance(value, int | float):
            kind = f'office:value-type="float" office:value="{value}"'
        else:
            kind = 'office:value-type="string"'
        return f"<table:table-cell {kind}><text:p>{escape(str(value))}</text:p></table:table-cell>"

    width = max((len(row) for row in rows), default=0)
    body = "".join(
        "<table:table-row>"
        + "".join(cell(v) for v in row)
        + "<table:table-cell/>" * (width - len(row))
        + "</table:table-row>\n"
        for row in rows
    )
    office = "urn:oasis:names:tc:opendocument:xmlns"
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-content xmlns:office="{office}:office:1.0" '
        f'xmlns:table="{office}:table:1.0" xmlns:text="{office}:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet><table:table table:name={quoteattr(title)}>"
        + "<table:table-column/>"
        * width
        + f"{body}{tail}</table:table></office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest:manifest xmlns:manifest="{office}:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        # The ODF package rule: "mimetype" first and stored, so the type shows unzipped.
        archive.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return out.getvalue()
