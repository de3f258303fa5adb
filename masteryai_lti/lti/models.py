"""LTI 1.3 tables: platform registrations (tenants), deployments, tool keys, nonces,
resource links and launches.

A registration is one (issuer, client_id) pair; hosted Canvas uses one issuer for
many client_ids, so the issuer alone is not unique. Each registration belongs to
one institution (DESIGN.md section 3).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.types import JsonDocument, UtcDateTime
from masteryai_lti.extensions import db

KEY_STATUSES = ("active", "retired")
# Whose key it is: the tool's own, or the development sandbox platform's.
KEY_PURPOSES = ("tool", "sandbox_platform")


def platform_user_key(issuer: str, sub: str = "") -> str:
    """The value of a user's ``lti`` identity: the platform's issuer and its ``sub`` for
    them (with no ``sub``, the prefix every user of that platform shares). Launches,
    roster syncs, grade passback and the sandbox LMS all find users by it."""
    return f"{issuer}|{sub}"


class LtiRegistration(db.Model):
    """A platform the tool trusts: issuer + client_id, its endpoints and keys."""

    __tablename__ = "lti_registrations"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024), default="")
    # Some platforms' token endpoints want a different "aud" than their token URL.
    auth_audience: Mapped[str | None] = mapped_column(String(1024))
    key_set_url: Mapped[str | None] = mapped_column(String(1024))
    # A static key set instead of (or before) a URL: the sandbox uses it.
    key_set: Mapped[dict | None] = mapped_column(JsonDocument)
    # canvas, moodle or generic: picks the module in lti/quirks/.
    platform_family: Mapped[str] = mapped_column(String(40), default="generic")
    # Dynamic registrations may wait for the tool admin's approval.
    status: Mapped[str] = mapped_column(String(20), default="active")
    # What the platform said about itself (openid-configuration, registration reply).
    platform_metadata: Mapped[dict | None] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", passive_deletes=True
    )


class LtiDeployment(db.Model):
    """A deployment id of a registration (one install of the tool in the platform)."""

    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE"), index=True
    )
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[str] = mapped_column(String(255))
    # admin (configured), launch (first seen in a launch), registration (dynamic).
    source: Mapped[str] = mapped_column(String(20), default="admin")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    registration: Mapped[LtiRegistration] = relationship(back_populates="deployments")


class ToolKey(db.Model):
    """An RSA key pair the tool signs with; published at /lti/jwks until deleted.

    Lifecycle (1EdTech Security Framework §6.3 key rotation): active → retired →
    deleted. Signing uses the newest active key; retired keys stay published so
    tokens signed just before a rotation still verify on the platform.
    """

    __tablename__ = "lti_tool_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20), default="tool")
    status: Mapped[str] = mapped_column(String(20), default="active")
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UsedNonce(db.Model):
    """An id_token nonce already accepted, kept until the token could no longer be valid.

    Redis answers the once-only question first; this table is the record every
    process shares when Redis is down or absent (the embedded default).
    """

    __tablename__ = "lti_used_nonces"
    __table_args__ = (UniqueConstraint("issuer", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    nonce: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ResourceLink(db.Model):
    """A placement of the tool in a course, with the service claims its launches carried.

    The AGS and NRPS claims are kept as the platform sent them (latest launch wins),
    so grade passback and roster sync can run without a user present.
    """

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("registration_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    # What the link opens (custom parameters set by deep linking), e.g.
    # {"kind": "adaptive_assignment", "id": "..."}.
    target: Mapped[dict | None] = mapped_column(JsonDocument)
    custom: Mapped[dict | None] = mapped_column(JsonDocument)
    # AGS endpoint claim: {"scope": [...], "lineitems": url, "lineitem": url?}.
    ags_endpoint: Mapped[dict | None] = mapped_column(JsonDocument)
    ags_lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    ags_lineitems_url: Mapped[str | None] = mapped_column(String(1024))
    # NRPS claim: {"context_memberships_url": url, "service_versions": [...]}.
    nrps_claim: Mapped[dict | None] = mapped_column(JsonDocument)
    nrps_context_memberships_url: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class LaunchRecord(db.Model):
    """One successful launch: who, where, which message, and its validated claims.

    The claims let a later request (the deep-linking return) act on the launch
    without trusting anything the browser sends back except the launch id.
    """

    __tablename__ = "lti_launches"
    __table_args__ = (Index("ix_lti_launches_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random public id (the browser only ever sees this one).
    launch_id: Mapped[str] = mapped_column(String(64), unique=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("lti_registrations.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    resource_link_pk: Mapped[int | None] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="SET NULL")
    )
    message_type: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    # cookie or platform_storage: how the login state was bound to the browser.
    state_binding: Mapped[str] = mapped_column(String(20), default="cookie")
    claims: Mapped[dict] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
