"""Authentication API: register, login, refresh, logout, me; institution invitations."""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from masteryai_lti.core.policy import current_actor, require_roles
from masteryai_lti.core.schemas import EmailAddress, ProblemSchema, not_blank
from masteryai_lti.extensions import limiter
from masteryai_lti.identity import service

blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/api/v1/auth",
    description="Accounts and tokens for standalone use (LMS users arrive through LTI).",
)
institutions_blp = Blueprint(
    "institutions",
    __name__,
    url_prefix="/api/v1/institutions",
    description="Your institution (tenant) and its invitations.",
)

BEARER = [{"bearerAuth": []}]


class RegisterSchema(Schema):
    email = EmailAddress(required=True)
    password = fields.String(
        required=True, validate=validate.Length(min=8, max=256), load_only=True
    )
    full_name = fields.String(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    role = fields.String(required=True, validate=validate.OneOf(["teacher", "student"]))
    invitation_code = fields.String(
        load_default=None,
        metadata={"description": "An admin's invitation into an existing institution."},
    )
    join_code = fields.String(
        load_default=None, metadata={"description": "Students: enroll in this course."}
    )
    institution_name = fields.String(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "Teachers without invitation: name of their new institution."},
    )


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String(allow_none=True)
    full_name = fields.String()
    role = fields.String()
    institution_id = fields.Integer(allow_none=True)
    is_admin = fields.Boolean()


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=320))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


class TokenPairSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String(metadata={"example": "bearer"})
    expires_in = fields.Integer(metadata={"description": "Access token lifetime in seconds."})


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=10, max=200))


class InvitationInSchema(Schema):
    email = EmailAddress(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["admin", "teacher", "student"]))


class InvitationOutSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    role = fields.String()
    expires_at = fields.DateTime()
    code = fields.String(metadata={"description": "Shown once; give it to the invitee."})


class InstitutionSettingsSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    time_zone = fields.String(
        metadata={
            "description": "IANA time zone of the school (default UTC); engagement counts "
            "its days, due days and 'today' in it. Changing it recounts the days stored.",
            "example": "America/New_York",
        }
    )


def _account_key() -> str:
    """The per-account login limit's key: the e-mail address the body names.

    A key function must never raise: flask-limiter takes any exception for a broken
    store and falls back to fresh in-memory counters, which let a flood through. A
    body too large or not JSON names no account; such a request is keyed by address
    (and still gets its 413 or 400 from the view).
    """
    fallback = f"ip:{request.remote_addr}"
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        return fallback
    try:
        body = request.get_json(silent=True)
    except Exception:  # a chunked body over the limit, a client that went away
        return fallback
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not email.strip():
        return fallback
    # Hashed: the key stays short whatever the client sent.
    return "account:" + hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()


@blp.route("/register", methods=["POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT_PER_IP"])
@blp.arguments(RegisterSchema)
@blp.response(201, UserSchema)
@blp.alt_response(409, schema=ProblemSchema, description="E-mail address already registered")
@blp.alt_response(422, schema=ProblemSchema, description="Invalid field")
@blp.alt_response(429, schema=ProblemSchema, description="Too many attempts; see Retry-After")
def register(payload):
    """Create an account (teachers get an institution of their own unless invited).

    An address already registered is a 409, so this endpoint tells whether an address
    has an account: the usual trade-off for a clear sign-up error. It is rate-limited
    per client address to keep that from becoming a fast way to probe addresses.
    """
    return service.register_user(**payload)


@blp.route("/login", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_IP"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"], key_func=_account_key)
@blp.arguments(LoginSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, schema=ProblemSchema, description="Wrong e-mail address or password")
@blp.alt_response(429, schema=ProblemSchema, description="Too many attempts; see Retry-After")
def login(payload):
    """Exchange e-mail and password for an access token and a refresh token."""
    return service.login(payload["email"], payload["password"])


@blp.route("/refresh", methods=["POST"])
@blp.arguments(RefreshSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, schema=ProblemSchema, description="Invalid, expired or reused token")
def refresh(payload):
    """Rotate a refresh token; reusing a spent one revokes its whole family."""
    return service.refresh(payload["refresh_token"])


@blp.route("/logout", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(RefreshSchema)
@blp.response(204)
@blp.alt_response(401, schema=ProblemSchema, description="Not authenticated")
def logout(payload):
    """Revoke the given refresh token (and its family)."""
    service.logout(current_actor().user_id, payload["refresh_token"])


@blp.route("/me", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, UserSchema)
@blp.alt_response(401, schema=ProblemSchema, description="Not authenticated")
def me():
    """The authenticated user."""
    return service.get_user(current_actor().user_id)


@institutions_blp.route("/invitations", methods=["POST"])
@institutions_blp.doc(security=BEARER)
@require_roles("admin")
@institutions_blp.arguments(InvitationInSchema)
@institutions_blp.response(201, InvitationOutSchema)
@institutions_blp.alt_response(403, schema=ProblemSchema, description="Admins only")
def invite(payload):
    """Invite someone into your institution with a role (admins only)."""
    invitation, code = service.create_invitation(current_actor(), **payload)
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "expires_at": invitation.expires_at,
        "code": code,
    }


@institutions_blp.route("/<int:institution_id>/settings", methods=["GET"])
@institutions_blp.doc(security=BEARER)
@institutions_blp.response(200, InstitutionSettingsSchema)
@institutions_blp.alt_response(403, schema=ProblemSchema, description="Admins only")
@institutions_blp.alt_response(404, schema=ProblemSchema, description="Not your institution")
def get_settings(institution_id: int):
    """Your institution's settings: its time zone (admins only)."""
    return service.institution_settings(current_actor(), institution_id)


@institutions_blp.route("/<int:institution_id>/settings", methods=["PATCH"])
@institutions_blp.doc(security=BEARER)
@institutions_blp.arguments(InstitutionSettingsSchema)
@institutions_blp.response(200, InstitutionSettingsSchema)
@institutions_blp.alt_response(403, schema=ProblemSchema, description="Admins only")
@institutions_blp.alt_response(404, schema=ProblemSchema, description="Not your institution")
@institutions_blp.alt_response(422, schema=ProblemSchema, description="Unknown time zone")
def patch_settings(payload, institution_id: int):
    """Change your institution's time zone (admins only); the engagement days already
    counted are recounted in the new zone in the background."""
    actor = current_actor()
    if "time_zone" not in payload:
        return service.institution_settings(actor, institution_id)
    return service.update_institution_settings(
        actor, institution_id, time_zone=payload["time_zone"]
    )
