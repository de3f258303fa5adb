"""Project-based learning tables: projects, groups, evaluations and evidence.

A *project* belongs to a course and carries its rubric as a document (the rubric is
edited and read whole, and evaluations name its criteria by key). Students work in
*groups*; a student is in at most one group of a project. The teacher evaluates each
group's work against the rubric; members rate each other's contribution with the same
rubric, which moderates the group score into individual scores (``scoring.py``).
*Evidence* is what a group shows for its work: files, links and notes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.types import JsonDocument, UtcDateTime
from masteryai_lti.extensions import db

# draft: only teachers see it; open: students work, add evidence and rate peers;
# closed: the work is in, nothing more is added, scores are final once released.
PROJECT_STATUSES = ("draft", "open", "closed")
EVIDENCE_KINDS = ("file", "link", "note")


class _InProjectGroup:
    """Columns of a row that belongs to one group of one project (and its tenant)."""

    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("pbl_projects.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("pbl_groups.id", ondelete="CASCADE"), index=True
    )


class _RubricRatings:
    """A rubric rating: the level chosen on each criterion, and a comment."""

    # {criterion key: points of the chosen level}
    ratings: Mapped[dict] = mapped_column(JsonDocument)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Project(db.Model):
    """A course project with its rubric and how peer ratings moderate the group score."""

    __tablename__ = "pbl_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    rubric: Mapped[dict] = mapped_column(JsonDocument)
    peer_weight: Mapped[float] = mapped_column(Float, default=0.5)
    self_assessment: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    non_submission_penalty: Mapped[float] = mapped_column(Float, default=0.0)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Students of the course in no group join one with room themselves (and leave it)
    # while the project is open; otherwise only teachers place them.
    group_sign_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How many members a group may reach by students signing up (None: only the
    # 30-member cap of every group). Teachers may place more.
    max_group_size: Mapped[int | None] = mapped_column(Integer)
    # When the teacher last sent the individual scores to the gradebook (None: never).
    scores_released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ProjectGroup(db.Model):
    """A group of students working on one project together."""

    __tablename__ = "pbl_groups"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("pbl_projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class GroupMember(_InProjectGroup, db.Model):
    """A student's place in a group; one group per student per project."""

    __tablename__ = "pbl_group_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class GroupEvaluation(_InProjectGroup, _RubricRatings, db.Model):
    """A teacher's rubric evaluation of a group's work (one per teacher and group)."""

    __tablename__ = "pbl_group_evaluations"
    __table_args__ = (UniqueConstraint("group_id", "evaluator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class PeerEvaluation(_InProjectGroup, _RubricRatings, db.Model):
    """One member's rubric rating of a teammate's contribution (or their own).

    Its comment is for the teacher: ratings between classmates stay anonymous.
    """

    __tablename__ = "pbl_peer_evaluations"
    __table_args__ = (UniqueConstraint("project_id", "rater_id", "ratee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ratee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Evidence(_InProjectGroup, db.Model):
    """A file, link or note a group shows for its work, optionally for one criterion."""

    __tablename__ = "pbl_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    criterion_key: Mapped[str | None] = mapped_column(String(40))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EvidenceFile(db.Model):
    """The bytes of a file evidence, apart so that listing evidence never loads them.

    Kept in the database, not on a local disk: app processes are stateless and may run
    on several machines, and a backup of the database is then a backup of the work.
    """

    __tablename__ = "pbl_evidence_files"

    evidence_id: Mapped[int] = mapped_column(
        ForeignKey("pbl_evidence.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
