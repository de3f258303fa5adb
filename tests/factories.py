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
