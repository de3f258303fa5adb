"""The one policy layer every endpoint uses: who is acting and what they may see.

Students see only their own records, teachers the courses they teach, admins
their whole institution (DESIGN.md section 3). Anything outside the actor's
institution is reported as absent (404), never as forbidden, so ids cannot be
probed across tenants.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import g
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from sqlalchemy import select

from masteryai_lti.core.errors import Forbidden, NotFound, Unauthorized
from masteryai_lti.extensions import db


@dataclass(frozen=True)
class Actor:
    """The authenticated user a request acts for."""

    user_id: int
    institution_id: int | None
    role: str
    is_admin: bool = False

    def has_role(self, *roles: str) -> bool:
        """Whether the actor holds one of ``roles`` (admins hold teacher too)."""
        if "admin" in roles and self.is_admin:
            return True
        if "teacher" in roles and (self.role == "teacher" or self.is_admin):
            return True
        return self.role in roles


def actor_for_user(user) -> Actor:
    """The Actor for a loaded ``User`` (used by LTI sessions and tests too)."""
    return Actor(
        user_id=user.id,
        institution_id=user.institution_id,
        role=user.role,
        is_admin=user.is_admin,
    )


def current_actor() -> Actor:
    """The actor of this request, from its bearer token (or an LTI session set on ``g``)."""
    actor = g.get("masteryai_actor")
    if actor is not None:
        return actor
    from masteryai_lti.identity.models import User
    from masteryai_lti.identity.service import user_id_of_subject

    verify_jwt_in_request()
    user_id = user_id_of_subject(get_jwt_identity())
    # The token check (identity.service.access_token_revoked) loaded the user already.
    loaded = g.get("masteryai_token_user")
    user = (
        loaded[1] if loaded is not None and loaded[0] == user_id else db.session.get(User, user_id)
    )
    if user is None or not user.is_active:
        raise Unauthorized("This account no longer exists or is disabled.")
    actor = actor_for_user(user)
    g.masteryai_actor = actor
    return actor


def require_roles(*roles: str):
    """Decorator: the request needs a bearer token whose user holds one of ``roles``."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if not actor.has_role(*roles):
                raise Forbidden(f"This action needs the role {' or '.join(roles)}.")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def course_role(actor: Actor, course_id: int) -> str | None:
    """The actor's active role in the course, or None."""
    from masteryai_lti.courses.models import Enrollment

    return db.session.scalar(
        select(Enrollment.role).where(
            Enrollment.course_id == course_id,
            Enrollment.user_id == actor.user_id,
            Enrollment.status == "active",
        )
    )


def visible_course(actor: Actor, course):
    """Return ``course`` if the actor may see it, else raise NotFound."""
    if course is None or actor.institution_id is None:
        raise NotFound("No such course.")
    if course.institution_id != actor.institution_id:
        raise NotFound("No such course.")
    if actor.is_admin or course_role(actor, course.id) is not None:
        return course
    raise NotFound("No such course.")


def ensure_can_teach(actor: Actor, course) -> None:
    """Raise unless the actor teaches ``course`` or administers its institution."""
    visible_course(actor, course)
    if actor.is_admin:
        return
    if course_role(actor, course.id) != "teacher":
        raise Forbidden("Only the course's teachers may do this.")


def ensure_can_view_student(actor: Actor, course, student_id: int) -> None:
    """Raise unless the actor is that student, teaches the course, or is an admin, and
    the student is (or was) enrolled in the course.

    Someone never enrolled is absent (404), as every other id outside the course is:
    an empty answer for any id would let a teacher probe ids without telling them apart.
    """
    from masteryai_lti.courses.models import Enrollment

    visible_course(actor, course)
    if actor.user_id != student_id and not (
        actor.is_admin or course_role(actor, course.id) == "teacher"
    ):
        raise Forbidden("Students see only their own records.")
    enrolled = db.session.scalar(
        select(Enrollment.id)
        .where(Enrollment.course_id == course.id, Enrollment.user_id == student_id)
        .limit(1)
    )
    if enrolled is None:
        raise NotFound("No such student in this course.")
