"""Tables of grade passback: the durable score outbox, the line items scores go to,
and the changes those line items still have to get (label, end date).

A score is written here in the same transaction as whatever produced it, then
delivered by a background drain; a platform that is down delays a score, it
never loses one (issue 3, item 6). Line item changes wait here the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.types import JsonDocument, UtcDateTime
from masteryai_lti.extensions import db

# pending: waiting for (another) delivery attempt; sent: the platform accepted it;
# failed: given up (refused by the platform, or too many attempts) until a teacher resends.
OUTBOX_STATUSES = ("pending", "sent", "failed")


class ScoreOutboxEntry(db.Model):
    """One score on its way to a platform's AGS score service."""

    __tablename__ = "lti_score_outbox"
    __table_args__ = (
        # The drain's query: due pending entries, oldest first.
        Index("ix_lti_score_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        # Latest timestamp per (link, learner), to keep timestamps increasing.
        Index(
            "ix_lti_score_outbox_resource_link_pk_lti_user_id", "resource_link_pk", "lti_user_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE"), index=True
    )
    resource_link_pk: Mapped[int] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE")
    )
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The learner's ``sub`` on that platform: AGS identifies users by it.
    lti_user_id: Mapped[str] = mapped_column(String(255))
    # Resolved on first delivery when the launch carried no lineitem URL.
    lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    # The AGS score JSON exactly as it will be posted, timestamp included, so a retry
    # days later sends the same score with its original time (AGS 2.0 §3.4.3).
    payload: Mapped[dict] = mapped_column(JsonDocument)
    score_timestamp: Mapped[datetime] = mapped_column(UtcDateTime)
    # What produced the score (mastery, pbl, manual...), shown to teachers.
    source: Mapped[str] = mapped_column(String(40), default="tool")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    # Read-only views of the payload, for listings.
    @property
    def score_given(self) -> float | None:
        """The score sent (None for a progress-only post)."""
        return self.payload.get("scoreGiven")

    @property
    def score_maximum(self) -> float | None:
        """The maximum the score is out of."""
        return self.payload.get("scoreMaximum")

    @property
    def activity_progress(self) -> str | None:
        """AGS activityProgress of the post."""
        return self.payload.get("activityProgress")

    @property
    def grading_progress(self) -> str | None:
        """AGS gradingProgress of the post."""
        return self.payload.get("gradingProgress")

    @property
    def comment(self) -> str | None:
        """The comment shown to the learner in the LMS, if any."""
        return self.payload.get("comment")


class GradedLineItem(db.Model):
    """The platform line item a graded resource link's scores go to.

    Only for links whose launches carried no ``lineitem`` URL: the tool found or
    created the line item itself and remembers it so it does not create another.
    """

    __tablename__ = "lti_graded_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    resource_link_pk: Mapped[int] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE"), unique=True
    )
    lineitem_url: Mapped[str] = mapped_column(String(1024))
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LineItemUpdate(db.Model):
    """The changes a graded resource link's line item still has to get on its platform.

    One row per link: a later change merges into the row instead of queueing behind
    the earlier one, so only the newest values are ever sent (an older due date can
    never arrive after a newer one). ``revision`` counts the merges: a delivery marks
    the row sent only if no change arrived while it was under way.
    """

    __tablename__ = "lti_line_item_updates"
    __table_args__ = (
        Index("ix_lti_line_item_updates_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE"), index=True
    )
    resource_link_pk: Mapped[int] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE"), unique=True
    )
    # The AGS fields to change, as sent: {"label": ..., "endDateTime": ... or None}.
    changes: Mapped[dict] = mapped_column(JsonDocument)
    revision: Mapped[int] = mapped_column(default=1)
    # What asked for the change (a project...), for logs.
    source: Mapped[str] = mapped_column(String(40), default="tool")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Set while a drain delivers the row: a change merged meanwhile makes the row due
    # again without letting a second drain send it at the same time.
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
