"""Use cases of courses and enrollments, scoped by tenant and role."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from blinker import Namespace
from sqlalchemy import Select, event, select
from sqlalchemy.orm import object_session

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Conflict, NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor, ensure_can_teach, visible_course
from masteryai_lti.core.transactions import OnCommit, add_unless_taken
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import User, UserIdentity

# No 0/O or 1/I/L: join codes are read aloud and typed from a board.
_JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

_signals = Namespace()
# Sent after the commit, once per course whose membership changed (someone enrolled,
# came back, left or changed role: a launch, a roster sync, the API, a join code), with
# the course id. Features that keep per-roster figures in a cache drop them; without
# this a student synced from the LMS stayed off the class table until the next event.
roster_changed = _signals.signal("courses.roster-changed")


def _announce_roster_changes(course_ids: set[int]) -> None:
    for course_id in sorted(course_ids):
        roster_changed.send(course_id)


_changed_rosters = OnCommit("courses-rosters", _announce_roster_changes)


def _note_roster_change(_mapper, _connection, target: Enrollment) -> None:
    session = object_session(target)
    if session is not None:
        _changed_rosters.add(session, [target.course_id])


for _event_name in ("after_insert", "after_update", "after_delete"):
    event.listen(Enrollment, _event_name, _note_roster_change)


def _new_join_code() -> str:
    return "".join(secrets.choice(_JOIN_ALPHABET) for _ in range(8))


def course_for_actor(actor: Actor, course_id: int) -> Course:
    """The course if the actor may see it, else NotFound (tenant + role scoping)."""
    return visible_course(actor, db.session.get(Course, course_id))


def visible_courses_query(actor: Actor) -> Select:
    """Courses the actor sees: all of the institution for admins, else their enrollments."""
    query = select(Course).where(Course.institution_id == actor.institution_id)
    if not actor.is_admin:
        query = query.join(Enrollment, Enrollment.course_id == Course.id).where(
            Enrollment.user_id == actor.user_id, Enrollment.status == "active"
        )
    return query.order_by(Course.id)


def create_course(actor: Actor, *, title: str, code: str | None, description: str) -> Course:
    """A teacher or admin creates a course in their institution and teaches it."""
    course = Course(
        institution_id=actor.institution_id,
        title=title.strip(),
        code=code,
        description=description or "",
        join_code=_new_join_code(),
    )
    db.session.add(course)
    db.session.flush()
    enroll(actor.institution_id, course.id, actor.user_id, "teacher", source="api")
    db.session.commit()
    return course


def update_course(actor: Actor, course_id: int, changes: dict) -> Course:
    """Change a course's title, code or description (its teachers and admins)."""
    course = course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    for field in ("title", "code", "description"):
        if field in changes:
            value = changes[field]
            setattr(course, field, value.strip() if field == "title" else value)
    db.session.commit()
    return course


def enroll(
    institution_id: int,
    course_id: int,
    user_id: int,
    role: str,
    source: str = "api",
    *,
    test_user: bool = False,
) -> Enrollment:
    """Make ``user_id`` an active member with ``role``: an idempotent upsert.

    ``test_user``: the LMS made this user to preview the course as a student (see
    ``Enrollment.test_user``). Does not commit: callers (launch, API) own the
    transaction; a roster sync writes its members set-wise (``lti.roster``).
    """
    enrollment = db.session.scalar(
        select(Enrollment).where(Enrollment.course_id == course_id, Enrollment.user_id == user_id)
    )
    if enrollment is None:
        enrollment = Enrollment(
            institution_id=institution_id,
            course_id=course_id,
            user_id=user_id,
            role=role,
            source=source,
            test_user=test_user,
        )
        if not add_unless_taken(enrollment):
            # A concurrent request enrolled the same user: take theirs.
            enrollment = db.session.scalar(
                select(Enrollment).where(
                    Enrollment.course_id == course_id, Enrollment.user_id == user_id
                )
            )
    if (
        enrollment.role != role
        or enrollment.status != "active"
        or enrollment.test_user != test_user
    ):
        enrollment.role = role
        enrollment.status = "active"
        enrollment.test_user = test_user
        enrollment.updated_at = utcnow()
    return enrollment


def enrollments_by_user(course_id: int) -> dict[int, Enrollment]:
    """Every enrollment of the course by user id, in one read (a roster sync's view)."""
    return {
        e.user_id: e
        for e in db.session.scalars(select(Enrollment).where(Enrollment.course_id == course_id))
    }


def _user_for_enrollment(actor: Actor, user_id: int | None, email: str | None) -> User:
    user = None
    if user_id is not None:
        user = db.session.get(User, user_id)
    elif email:
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    # Only users of the actor's institution: another tenant's are reported absent like
    # any foreign id, and so are accounts of no institution (self-registered students).
    # Enrolling one used to move it into the course's institution, so any teacher
    # (a self-registered one owns an institution) could take over any such account;
    # they join with the course's join code instead, which they choose to use.
    if user is None or user.institution_id is None or user.institution_id != actor.institution_id:
        raise NotFound("No such user.")
    return user


def add_member(
    actor: Actor, course_id: int, *, role: str, user_id: int | None = None, email: str | None = None
) -> Enrollment:
    """A course's teacher (or an admin) enrolls a user of the institution."""
    course = course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    user = _user_for_enrollment(actor, user_id, email)
    if role == "teacher" and user.role == "student":
        raise ValidationFailed(
            "A student account cannot teach a course.",
            errors=[field_error("role", "Students can only be enrolled as students.")],
        )
    enrollment = enroll(course.institution_id, course.id, user.id, role, source="api")
    db.session.commit()
    return enrollment


def remove_member(actor: Actor, course_id: int, user_id: int) -> None:
    """Unenroll: the membership becomes inactive; the student's history stays."""
    course = course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    enrollment = db.session.scalar(
        select(Enrollment).where(
            Enrollment.course_id == course.id,
            Enrollment.user_id == user_id,
            Enrollment.status == "active",
        )
    )
    if enrollment is None:
        raise NotFound("That user is not a member of this course.")
    enrollment.status = "inactive"
    db.session.commit()


def members(actor: Actor, course_id: int) -> list[tuple[Enrollment, User]]:
    """Active members with their users (teachers and admins only)."""
    course = course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    rows = db.session.execute(
        select(Enrollment, User)
        .join(User, User.id == Enrollment.user_id)
        .where(Enrollment.course_id == course.id, Enrollment.status == "active")
        .order_by(Enrollment.role, User.full_name, User.id)
    )
    return [(enrollment, user) for enrollment, user in rows]


def join_course_by_code(user: User, join_code: str) -> Enrollment:
    """A student joins the course with ``join_code``; does not commit.

    Joining never lowers a role: a teacher of the course who uses its code (to check
    it works, say) stays its teacher. A membership that ended comes back as a student
    one: the code is the students' way in, not a way back to teaching.
    """
    course = db.session.scalar(select(Course).where(Course.join_code == join_code.strip().upper()))
    if course is None:
        raise ValidationFailed(
            "No course has this join code.",
            errors=[field_error("join_code", "Unknown join code.")],
        )
    if user.institution_id not in (None, course.institution_id):
        raise Conflict("This account belongs to another institution.")
    user.institution_id = course.institution_id
    current = db.session.scalar(
        select(Enrollment).where(
            Enrollment.course_id == course.id,
            Enrollment.user_id == user.id,
            Enrollment.status == "active",
        )
    )
    if current is not None:
        return current
    return enroll(course.institution_id, course.id, user.id, "student", source="join_code")


def join_course(actor: Actor, join_code: str) -> Enrollment:
    """A logged-in student joins a course by code."""
    user = db.session.get(User, actor.user_id)
    enrollment = join_course_by_code(user, join_code)
    db.session.commit()
    return enrollment


def _class_students(course_id: int) -> Select:
    # The class: active students, not the LMS's test student (a teacher previewing).
    return select(Enrollment.user_id).where(
        Enrollment.course_id == course_id,
        Enrollment.role == "student",
        Enrollment.status == "active",
        Enrollment.test_user.is_(False),
    )


def student_ids(course_id: int) -> list[int]:
    """Ids of the course's class: its active students (the roster the engines see).

    The LMS's test student is not among them; :func:`is_student` still lets it use
    what a student uses.
    """
    return list(db.session.scalars(_class_students(course_id)))


def is_student(course_id: int, user_id: int) -> bool:
    """Whether ``user_id`` is an active student of the course, test student included."""
    return (
        db.session.scalar(
            select(Enrollment.id).where(
                Enrollment.course_id == course_id,
                Enrollment.user_id == user_id,
                Enrollment.role == "student",
                Enrollment.status == "active",
            )
        )
        is not None
    )


def _active_students(course_id: int):
    return _class_students(course_id).scalar_subquery()


def student_ids_by_email(course_id: int) -> dict[str, set[int]]:
    """The course's active students by lower-cased email: account or LMS-given address.

    A teacher knows students by email, not by the tool's ids. LMS users carry their
    address as an ``mbox`` identity (from the launch or the roster), standalone
    accounts as ``User.email``; both count.
    """
    active = _active_students(course_id)
    accounts = select(User.email, User.id).where(User.id.in_(active), User.email.is_not(None))
    mailboxes = select(UserIdentity.value, UserIdentity.user_id).where(
        UserIdentity.user_id.in_(active), UserIdentity.kind == "mbox"
    )
    found: dict[str, set[int]] = {}
    for address, user_id in [*db.session.execute(accounts), *db.session.execute(mailboxes)]:
        email = address.removeprefix("mailto:").strip().lower()
        found.setdefault(email, set()).add(user_id)
    return found


def email_addresses(user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's e-mail address as a teacher knows it: the account's, else the first
    the LMS gave (an ``mbox`` identity); users with neither are absent."""
    found: dict[int, str] = {}
    for ids in _in_slices(user_ids):
        mailboxes = select(UserIdentity.user_id, UserIdentity.value).where(
            UserIdentity.user_id.in_(ids), UserIdentity.kind == "mbox"
        )
        for user_id, address in db.session.execute(mailboxes.order_by(UserIdentity.id)):
            found.setdefault(user_id, address.removeprefix("mailto:"))
        accounts = select(User.id, User.email).where(User.id.in_(ids), User.email.is_not(None))
        found.update(dict(db.session.execute(accounts).all()))
    return found


def student_ids_by_lms_user_id(course_id: int) -> dict[str, set[int]]:
    """The course's active students by the user id their LMS gives them (the LTI subject).

    Moodle's exports call it "Student ID". Identities are stored as ``issuer|subject``;
    a course may have students from several platforms, so a subject can name several.
    """
    found: dict[str, set[int]] = {}
    rows = db.session.execute(
        select(UserIdentity.value, UserIdentity.user_id).where(
            UserIdentity.user_id.in_(_active_students(course_id)), UserIdentity.kind == "lti"
        )
    )
    for value, user_id in rows:
        found.setdefault(value.rpartition("|")[2], set()).add(user_id)
    return found


def _in_slices(user_ids: Iterable[int], size: int = 1000):
    """The distinct ids in sorted slices: SQLite caps the bound parameters of one
    statement, so a whole class goes to an IN list a thousand at a time."""
    wanted = sorted(set(user_ids))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


def full_names(user_ids: list[int]) -> dict[int, str]:
    """Display names of these users (as the LMS or the account gave them)."""
    names: dict[int, str] = {}
    for chunk in _in_slices(user_ids):
        rows = db.session.execute(select(User.id, User.full_name).where(User.id.in_(chunk)))
        names.update({user_id: name for user_id, name in rows})
    return names


def students_among(course_id: int, user_ids: Iterable[int]) -> set[int]:
    """Which of these users are active students of the course, the LMS's test student
    included (as :func:`is_student` says of one)."""
    found: set[int] = set()
    for chunk in _in_slices(user_ids):
        found.update(
            db.session.scalars(
                select(Enrollment.user_id).where(
                    Enrollment.course_id == course_id,
                    Enrollment.user_id.in_(chunk),
                    Enrollment.role == "student",
                    Enrollment.status == "active",
                )
            )
        )
    return found


def is_institution_course(institution_id: int, course_id: int) -> bool:
    """Whether ``course_id`` is a course of the institution (ids from outside are
    anyone's to write: a statement may name another school's course)."""
    return (
        db.session.scalar(
            select(Course.id).where(Course.id == course_id, Course.institution_id == institution_id)
        )
        is not None
    )


def get_course_by_context(institution_id: int, lti_context_id: str) -> Course | None:
    """The institution's course for an LMS context id, or None."""
    return db.session.scalar(
        select(Course).where(
            Course.institution_id == institution_id, Course.lti_context_id == lti_context_id
        )
    )


def upsert_lms_course(
    institution_id: int, lti_context_id: str, title: str, code: str | None = None
) -> Course:
    """Find or create the course for an LMS context, keeping its title current. No commit."""
    course = get_course_by_context(institution_id, lti_context_id)
    if course is None:
        course = Course(
            institution_id=institution_id,
            lti_context_id=lti_context_id,
            title=title or lti_context_id,
            code=code,
            join_code=None,
        )
        if not add_unless_taken(course):
            course = get_course_by_context(institution_id, lti_context_id)
    elif title and course.title != title:
        course.title = title
    if course is None:  # pragma: no cover - only if the row vanished between two statements
        raise NotFound("The course could not be created.")
    return course
