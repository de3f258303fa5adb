"""Engagement tables: events (every channel), attendance, per-course settings, snapshots."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.types import JsonDocument, UtcDateTime
from masteryai_lti.extensions import db

EVENT_KINDS = ("attendance", "submission", "quiz", "interaction", "resource_view", "launch")
ATTENDANCE_STATUSES = ("present", "late", "absent", "excused")

# BigInteger ids on PostgreSQL; SQLite only autoincrements INTEGER primary keys.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class EngagementEvent(db.Model):
    """One signal from any channel (xAPI projection, LTI launch, attendance, API).

    Idempotent on (institution_id, source, source_id): a re-sent statement or a
    re-imported attendance sheet does not count twice. ``day`` is the ordinal of the
    date in the institution's time zone, denormalised so course aggregates group on an
    integer (recounted when the zone changes).
    """

    __tablename__ = "engagement_events"
    __table_args__ = (
        UniqueConstraint("institution_id", "source", "source_id"),
        Index("ix_engagement_events_course_day", "course_id", "day"),
        Index("ix_engagement_events_course_user_day", "course_id", "user_id", "day"),
        # Graded work (items with due dates) is read per course on every recompute.
        Index(
            "ix_engagement_events_graded",
            "course_id",
            "user_id",
            "object_id",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    day: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    score: Mapped[float | None] = mapped_column(Float)
    object_id: Mapped[str | None] = mapped_column(String(512))
    extra: Mapped[dict | None] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EngagementDay(db.Model):
    """Per (course, student, day) event counts by kind: the rollup course views read.

    Kept in step with `EngagementEvent` by the service (same transaction), so a
    course view reads at most students x days rows instead of every event.
    A quiz with a due date is graded work and counts under ``submission``.
    """

    __tablename__ = "engagement_days"
    __table_args__ = (UniqueConstraint("course_id", "user_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[int] = mapped_column(Integer)
    attendance: Mapped[int] = mapped_column(Integer, default=0)
    submission: Mapped[int] = mapped_column(Integer, default=0)
    quiz: Mapped[int] = mapped_column(Integer, default=0)
    interaction: Mapped[int] = mapped_column(Integer, default=0)
    resource_view: Mapped[int] = mapped_column(Integer, default=0)
    launch: Mapped[int] = mapped_column(Integer, default=0)


class AttendanceRecord(db.Model):
    """A teacher-entered attendance mark for one student and one session date."""

    __tablename__ = "attendance_records"
    __table_args__ = (UniqueConstraint("course_id", "user_id", "session_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


GRADED_KINDS = ("submission", "quiz")


class GradedItem(db.Model):
    """A course's graded work and when it is due: an assignment or a graded quiz.

    Declared by a teacher (API) or by the LMS (an assignment's due date at launch).
    Events of this kind about this object are graded work for it: their ``due_at``
    is taken from here, and a student with none of them has missing work.
    """

    __tablename__ = "engagement_graded_items"
    __table_args__ = (UniqueConstraint("course_id", "object_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    object_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    title: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class EngagementSettings(db.Model):
    """Per-course factor weights (summing to 100), at-risk thresholds and the share of
    students who usually fail or withdraw (null: the risk model's own)."""

    __tablename__ = "engagement_settings"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    weights: Mapped[dict] = mapped_column(JsonDocument)
    flag_at: Mapped[float] = mapped_column(Float, default=0.5)
    clear_below: Mapped[float] = mapped_column(Float, default=0.4)
    outcome_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class EngagementSnapshot(db.Model):
    """A student's index and risk on one day, written by the periodic recompute.

    The history view and the hysteresis (was the student flagged before?) read these.
    """

    __tablename__ = "engagement_snapshots"
    __table_args__ = (
        UniqueConstraint("course_id", "user_id", "taken_on"),
        Index("ix_engagement_snapshots_course_taken_on", "course_id", "taken_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    taken_on: Mapped[date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(10))
    risk: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    # The first day of the run of flagged days this one belongs to (None when not flagged).
    flagged_since: Mapped[date | None] = mapped_column(Date)
    factors: Mapped[dict] = mapped_column(JsonDocument)
