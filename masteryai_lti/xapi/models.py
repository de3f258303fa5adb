"""Tables of the xAPI feature: statements, attachments, LRS credentials, engagement rules.

The statements table is also the projection outbox: ``projection_state`` starts
``pending`` in the transaction that stores the statement, so a crash between storing
and projecting loses nothing (the projector picks pending rows up again), and
projection writes are idempotent on the statement id downstream.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.types import JsonDocument, UtcDateTime
from masteryai_lti.extensions import db

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
RowId = BigInteger().with_variant(Integer(), "sqlite")

# Projection states of a statement row (the outbox).
PENDING = "pending"
PROJECTED = "projected"
UNKNOWN_ACTOR = "unknown_actor"  # kept; re-projected when the person is first seen
SKIPPED = "skipped"  # voided, voiding, or nothing to project
FAILED = "failed"

SCOPES = ("write", "read-mine", "read-all")


class XapiStatement(db.Model):
    """One stored statement: the JSON as served plus the columns every filter uses."""

    __tablename__ = "xapi_statements"
    __table_args__ = (
        UniqueConstraint("institution_id", "statement_id"),
        Index("ix_xapi_statements_page", "institution_id", "stored", "id"),
        Index("ix_xapi_statements_actor", "institution_id", "actor_key", "stored"),
        Index("ix_xapi_statements_verb", "institution_id", "verb_id", "stored"),
        Index("ix_xapi_statements_activity", "institution_id", "object_activity_id", "stored"),
        Index("ix_xapi_statements_object_agent", "institution_id", "object_agent_key"),
        Index("ix_xapi_statements_registration", "institution_id", "registration"),
        Index("ix_xapi_statements_target", "institution_id", "object_statement_id"),
        Index(
            "ix_xapi_statements_outbox",
            "projection_state",
            "id",
            postgresql_where=text("projection_state = 'pending'"),
            sqlite_where=text("projection_state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    # No index of its own: every index below leads with institution_id.
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    statement_id: Mapped[uuid.UUID] = mapped_column(db.Uuid)
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("xapi_credentials.id", ondelete="SET NULL")
    )
    stored: Mapped[datetime] = mapped_column(UtcDateTime)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime)
    actor_key: Mapped[str | None] = mapped_column(Text)
    verb_id: Mapped[str] = mapped_column(Text)
    object_type: Mapped[str] = mapped_column(String(20))
    object_activity_id: Mapped[str | None] = mapped_column(Text)
    object_agent_key: Mapped[str | None] = mapped_column(Text)
    object_statement_id: Mapped[uuid.UUID | None] = mapped_column(db.Uuid)
    registration: Mapped[uuid.UUID | None] = mapped_column(db.Uuid)
    is_voiding: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_keys: Mapped[list] = mapped_column(JsonDocument)
    activity_ids: Mapped[list] = mapped_column(JsonDocument)
    has_attachments: Mapped[bool] = mapped_column(Boolean, default=False)
    statement: Mapped[dict] = mapped_column(JsonDocument)
    # The learner the actor resolved to when projected (None while unknown).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    projection_state: Mapped[str] = mapped_column(String(20), default=PENDING)
    projected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    projection_note: Mapped[str | None] = mapped_column(Text)


class XapiStatementRef(db.Model):
    """An agent or activity a statement mentions anywhere (actor, object, context,
    sub-statement): what ``related_agents`` / ``related_activities`` queries look up.

    ``ref_hash`` is the md5 of the agent key or activity IRI (fixed width, so any IRI
    fits the b-tree; queries recheck the statement's own list). A b-tree over these
    rows costs a fraction of a GIN index on the JSON arrays per insert: with GIN the
    database spent ~0.3-0.7 ms of CPU per stored statement, a third of ingest.
    """

    __tablename__ = "xapi_statement_refs"

    institution_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # agent | activity
    ref_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    statement_pk: Mapped[int] = mapped_column(
        RowId, ForeignKey("xapi_statements.id", ondelete="CASCADE"), primary_key=True
    )


class XapiAttachment(db.Model):
    """Attachment bytes, stored once per institution and content hash."""

    __tablename__ = "xapi_attachments"
    __table_args__ = (UniqueConstraint("institution_id", "sha2"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    sha2: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(255))
    length: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class XapiCredential(db.Model):
    """An LRS's (or content's) HTTP Basic credential for one institution.

    The secret is kept only as HMAC-SHA-256 under the app secret: API secrets are
    long random strings, so a fast keyed hash is as strong as bcrypt for them and
    costs microseconds per request.
    """

    __tablename__ = "xapi_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_digest: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JsonDocument)
    # With read-mine only, the statements this credential may read are those it wrote.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class XapiEngagementRule(db.Model):
    """An institution's override of the verb / activity type -> engagement kind defaults.

    ``kind`` is an engagement kind or ``ignore``. A rule names a verb, an activity
    type, or both; the most specific matching rule wins (see ``vocabulary``).
    """

    __tablename__ = "xapi_engagement_rules"
    __table_args__ = (UniqueConstraint("institution_id", "verb_id", "activity_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    verb_id: Mapped[str | None] = mapped_column(String(512))
    activity_type: Mapped[str | None] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class XapiPullState(db.Model):
    """Where ``flask xapi pull`` stopped for one remote LRS, so it can resume."""

    __tablename__ = "xapi_pull_states"
    __table_args__ = (UniqueConstraint("institution_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(1000))
    next_url: Mapped[str | None] = mapped_column(Text)
    last_stored: Mapped[str | None] = mapped_column(String(40))
    pulled: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


# Kinds of xAPI documents (Communication 2.3, 2.6, 2.7; 2.0 4.1.6.2, 4.1.6.5, 4.1.6.6).
STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"
DOCUMENT_KINDS = (STATE, ACTIVITY_PROFILE, AGENT_PROFILE)


class XapiDocument(db.Model):
    """One State, Activity Profile or Agent Profile document: the bytes as sent.

    A document is named by (kind, activity id, agent key, registration, document id);
    the parts a kind does not use are NULL. ``document_hash`` is the SHA-256 of that
    name and carries the uniqueness (NULLs are distinct in a unique constraint, and
    an IRI may be longer than a b-tree entry may be); ``context_hash`` names the
    (kind, activity, agent) a list or delete-all reads. Queries also compare the
    plain columns, so the hashes only choose rows, never decide alone.
    """

    __tablename__ = "xapi_documents"
    __table_args__ = (
        UniqueConstraint("institution_id", "document_hash"),
        Index("ix_xapi_documents_context", "institution_id", "context_hash", "updated"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    activity_id: Mapped[str | None] = mapped_column(Text)
    agent_key: Mapped[str | None] = mapped_column(Text)
    registration: Mapped[uuid.UUID | None] = mapped_column(db.Uuid)
    document_id: Mapped[str] = mapped_column(Text)
    context_hash: Mapped[str] = mapped_column(String(64))
    document_hash: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # SHA-1 hex of ``content`` (Communication 3.1 asks for a SHA-1 ETag).
    etag: Mapped[str] = mapped_column(String(40))
    updated: Mapped[datetime] = mapped_column(UtcDateTime)
    # The credential that last wrote it: a read-mine credential reads only its own.
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("xapi_credentials.id", ondelete="SET NULL")
    )
