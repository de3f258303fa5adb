"""Courses (standalone or LMS contexts) and who is in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.types import UtcDateTime
from masteryai_lti.extensions import db

ENROLLMENT_ROLES = ("teacher", "student")


class Course(db.Model):
    """A course of an institution; for LMS courses ``lti_context_id`` is the context id."""

    __tablename__ = "courses"
    __table_args__ = (UniqueConstraint("institution_id", "lti_context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    # Lets a self-registered student join; unique across the service.
    join_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    lti_context_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Enrollment(db.Model):
    """A user's membership of a course, with the role they hold there."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # api, join_code, lti (a launch), nrps (roster sync), demo
    source: Mapped[str] = mapped_column(String(20), default="api")
    # The LMS's own test student (Canvas Student View: LTI role …#TestUser): a teacher
    # seeing the course as a student. It uses the course as a student does but is
    # left out of the class (tables, at-risk list, medians, roster counts).
    test_user: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
