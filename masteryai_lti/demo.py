"""The demo data set: one institution, one teacher, thirty students, one course."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from masteryai_lti.core.security import hash_password
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
from masteryai_lti.identity.models import Institution, User

DEMO_PASSWORD = "demo-password"
DEMO_SLUG = "demo"
DEMO_SCHOOL = "Demo School"
STUDENT_COUNT = 30
# The demo course as an LMS course: the development sandbox LMS launches into this
# context, so a teacher opening the tool from the sandbox sees the demo class.
DEMO_COURSE = {"id": "demo-algebra-1", "label": "ALG1", "title": "Algebra I"}
# The demo student the sandbox LMS launches as, so a newcomer's student launch lands on
# a student with a month of history, project groups and scores instead of an empty view.
SANDBOX_STUDENT = {"email": "student01@demo.example", "full_name": "Student 01"}


@dataclass
class DemoData:
    """What the demo command made (or found), for feature seeders to build on."""

    institution: Institution
    teacher: User
    students: list[User]
    course: Course


def _user(
    institution: Institution, email: str, full_name: str, role: str, password_hash, admin=False
) -> User:
    user = identity.find_user_by_email(email)
    if user is None:
        user = User(
            institution_id=institution.id,
            email=email,
            password_hash=password_hash(),
            full_name=full_name,
            role=role,
            is_institution_admin=admin,
        )
        db.session.add(user)
        db.session.flush()
    return user


def seed_demo() -> DemoData:
    """Create the demo data once; running it again finds and returns the same rows."""
    institution = identity.get_institution_by_slug(DEMO_SLUG) or identity.create_institution(
        DEMO_SCHOOL, slug=DEMO_SLUG
    )
    # One bcrypt hash for every demo account (they share a password): 31 hashes at the
    # production cost would add ~10 s to a newcomer's first start.
    hashed: list[str] = []

    def password_hash() -> str:
        if not hashed:
            hashed.append(hash_password(DEMO_PASSWORD))
        return hashed[0]

    teacher = _user(
        institution, "teacher@demo.example", "Dana Teacher", "teacher", password_hash, admin=True
    )
    students = [
        _user(
            institution,
            f"student{n:02d}@demo.example",
            f"Student {n:02d}",
            "student",
            password_hash,
        )
        for n in range(1, STUDENT_COUNT + 1)
    ]
    course = db.session.scalar(
        select(Course).where(
            Course.institution_id == institution.id, Course.code == DEMO_COURSE["label"]
        )
    )
    if course is None:
        course = Course(
            institution_id=institution.id,
            title=DEMO_COURSE["title"],
            code=DEMO_COURSE["label"],
            description="Demo course with thirty students.",
            join_code="DEMOALG1",
            lti_context_id=DEMO_COURSE["id"],
        )
        db.session.add(course)
        db.session.flush()
    elif course.lti_context_id is None:  # seeded before the sandbox launched into it
        course.lti_context_id = DEMO_COURSE["id"]
    courses.enroll(institution.id, course.id, teacher.id, "teacher", source="demo")
    for student in students:
        courses.enroll(institution.id, course.id, student.id, "student", source="demo")
    db.session.commit()
    return DemoData(institution=institution, teacher=teacher, students=students, course=course)
