"""Use cases of accounts: registration, login, token rotation, identities."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from blinker import Namespace
from flask import current_app, g
from flask_jwt_extended import create_access_token
from sqlalchemy import false, insert, select, update
from sqlalchemy.exc import IntegrityError

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
    field_error,
)
from masteryai_lti.core.security import (
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
from masteryai_lti.core.storable import fits_64_bits
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import Institution, Invitation, RefreshToken, User, UserIdentity

_users_seen_callbacks: list[Callable[[int, frozenset[int]], None]] = []

_signals = Namespace()
# Sent after the commit with the institution's id when its time zone changed: features
# that stored days counted in the old zone recount them (engagement does).
time_zone_changed = _signals.signal("identity.time-zone-changed")

# The access-token claim naming its session: the refresh-token family it was issued in
# ("sid", the JWT claim registered for a session id, RFC 8417 / OpenID Connect).
SESSION_CLAIM = "sid"


@dataclass(frozen=True)
class TokenPair:
    """What a successful login or refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


def on_users_seen(
    callback: Callable[[int, frozenset[int]], None],
) -> Callable[[int, frozenset[int]], None]:
    """Register ``callback(institution_id, user_ids)``, run when identities of these
    people are linked: once per :func:`link_identity`, once per batch of
    :func:`link_new_identities` (a roster sync links thousands at once).

    The xAPI projection uses it to attach statements that arrived before the person
    was known (DESIGN.md section 4). Usable as a decorator.
    """
    if callback not in _users_seen_callbacks:
        _users_seen_callbacks.append(callback)
    return callback


def _users_seen(institution_id: int, user_ids: frozenset[int]) -> None:
    for callback in list(_users_seen_callbacks):
        callback(institution_id, user_ids)


def _slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60] or "institution"


def create_institution(name: str, slug: str | None = None) -> Institution:
    """Create a tenant with a unique slug derived from ``name`` unless given."""
    base = slug or _slugify(name)
    candidate = base
    while db.session.scalar(select(Institution.id).where(Institution.slug == candidate)):
        if slug:
            raise Conflict(f"An institution with slug {slug!r} exists.")
        candidate = f"{base}-{secrets.token_hex(3)}"
    institution = Institution(name=name, slug=candidate)
    db.session.add(institution)
    db.session.flush()
    return institution


def valid_time_zone(name: object, path: str = "time_zone") -> str:
    """``name`` if it is an IANA time zone this server knows ("Europe/Paris", "UTC"),
    else ValidationFailed at ``path``."""
    if isinstance(name, str) and 0 < len(name) <= 64 and name == name.strip():
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return name
    raise ValidationFailed(
        "Unknown time zone.",
        errors=[field_error(path, f"{name!r} is not an IANA time zone such as Europe/Paris")],
    )


def _administered_institution(actor, institution_id: int) -> Institution:
    """The actor's own institution, which they administer: 403 for a non-admin, 404 for
    another tenant's (whether it exists is none of their business)."""
    if not actor.is_admin:
        raise Forbidden("Only the institution's admins manage its settings.")
    institution = db.session.get(Institution, institution_id)
    if institution is None or institution.id != actor.institution_id:
        raise NotFound("No such institution.")
    return institution


def institution_settings(actor, institution_id: int) -> Institution:
    """An institution's settings (its admins only)."""
    return _administered_institution(actor, institution_id)


def update_institution_settings(actor, institution_id: int, *, time_zone: str) -> Institution:
    """Change an institution's settings (its admins only); 422 at ``time_zone`` for a
    zone nobody knows, nothing changed."""
    institution = _administered_institution(actor, institution_id)
    return set_time_zone(institution, time_zone)


def set_time_zone(institution: Institution, time_zone: str) -> Institution:
    """Give the institution this time zone and commit; when it changed, tell the features
    that count days in it (`time_zone_changed`) once the change is visible to them."""
    zone = valid_time_zone(time_zone)
    changed = institution.time_zone != zone
    institution.time_zone = zone
    db.session.commit()
    if changed:
        time_zone_changed.send(institution.id)
    return institution


def get_institution_by_slug(slug: str) -> Institution | None:
    """The institution with ``slug``, or None."""
    return db.session.scalar(select(Institution).where(Institution.slug == slug))


def find_user_by_email(email: str) -> User | None:
    """The standalone account with this login e-mail (case-insensitive), or None."""
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def _invitation_for(code: str, email: str) -> Invitation:
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.code_hash == token_digest(code))
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.expires_at <= utcnow()
        or invitation.email != email
    ):
        raise ValidationFailed(
            "The invitation code is not valid for this e-mail address.",
            errors=[field_error("invitation_code", "Unknown, used or expired invitation.")],
        )
    return invitation


def register_user(
    *,
    email: str,
    password: str,
    full_name: str,
    role: str,
    invitation_code: str | None = None,
    join_code: str | None = None,
    institution_name: str | None = None,
) -> User:
    """Create a standalone account.

    Self-registration never grants power over others: a teacher without an
    invitation gets a new institution of their own (as its admin); joining an
    existing institution as a teacher needs an admin's invitation; a student
    joins nothing, or the course whose ``join_code`` they give.
    """
    email = email.strip().lower()
    if find_user_by_email(email) is not None:
        raise Conflict("An account with this e-mail address exists.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        role=role,
    )
    invitation = _invitation_for(invitation_code, email) if invitation_code else None
    if invitation is not None:
        user.institution_id = invitation.institution_id
        user.role = invitation.role
        invitation.accepted_at = utcnow()
    elif role == "teacher":
        institution = create_institution(institution_name or f"{user.full_name or email}'s school")
        user.institution_id = institution.id
        user.is_institution_admin = True
    elif role != "student":
        raise ValidationFailed(
            "Only teachers and students may register themselves.",
            errors=[field_error("role", "Must be teacher or student.")],
        )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("An account with this e-mail address exists.") from None
    if join_code and user.role == "student":
        from masteryai_lti.courses import service as courses

        courses.join_course_by_code(user, join_code)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials, else Unauthorized (same answer either way)."""
    user = find_user_by_email(email)
    if not verify_password(password, user.password_hash if user else None) or not (
        user and user.is_active
    ):
        raise Unauthorized("Wrong e-mail address or password.")
    return user


def _issue_pair(user: User, family_id: str | None = None) -> TokenPair:
    config = current_app.config
    access_minutes = config["ACCESS_TOKEN_EXPIRE_MINUTES"]
    family_id = family_id or secrets.token_hex(16)
    access = create_access_token(
        identity=str(user.id),
        # ``sid``: the session (refresh-token family) the token belongs to, so that
        # revoking the family refuses its access tokens too (access_token_revoked).
        additional_claims={
            "role": user.role,
            "institution_id": user.institution_id,
            SESSION_CLAIM: family_id,
        },
        expires_delta=timedelta(minutes=access_minutes),
    )
    refresh = new_token()
    now = utcnow()
    db.session.add(
        RefreshToken(
            user_id=user.id,
            institution_id=user.institution_id,
            token_hash=token_digest(refresh),
            family_id=family_id,
            issued_at=now,
            expires_at=now + timedelta(days=config["REFRESH_TOKEN_EXPIRE_DAYS"]),
        )
    )
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=access_minutes * 60)


def login(email: str, password: str) -> TokenPair:
    """Check credentials and issue an access token and a new refresh-token family."""
    user = authenticate(email, password)
    pair = _issue_pair(user)
    db.session.commit()
    return pair


def user_id_of_subject(subject: object) -> int:
    """The user id an access token's ``sub`` names, else Unauthorized (never a 500)."""
    if isinstance(subject, str) and subject.isascii() and subject.isdigit():
        if fits_64_bits(subject):
            return int(subject)
    raise Unauthorized("Invalid token: its subject is not a user id.")


def access_token_revoked(claims: Mapping) -> bool:
    """Whether an access token's session was revoked (logout, or a refresh token reused).

    Called for every request with a bearer token. One query answers it and loads the
    token's user, which :func:`~masteryai_lti.core.policy.current_actor` then takes
    from ``g`` instead of asking again, so revocation costs no extra round trip.
    Tokens without a session claim (LTI launch sessions, tokens from before sessions
    were named) are not tied to a refresh-token family and are never revoked here.
    A subject that is no user id is an invalid token (401).
    """
    user_id = user_id_of_subject(claims.get("sub"))
    session_id = claims.get(SESSION_CLAIM)
    ended = (
        false()
        if session_id is None
        else select(RefreshToken.id)
        .where(
            RefreshToken.family_id == str(session_id),
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_not(None),
        )
        .exists()
    )
    row = db.session.execute(select(User, ended).where(User.id == user_id)).first()
    user, revoked = (row[0], bool(row[1])) if row is not None else (None, False)
    g.masteryai_token_user = (user_id, user)
    return revoked


def _revoke_family(family_id: str) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def refresh(refresh_token: str) -> TokenPair:
    """Rotate: spend ``refresh_token`` and issue a successor in its family.

    A token presented a second time was stolen or replayed: the whole family is
    revoked, so neither the thief nor the owner can continue without logging in.
    """
    stored = db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(refresh_token))
    )
    now = utcnow()
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise Unauthorized("The refresh token is not valid.")
    # Spend it atomically: of two concurrent uses only one can flip used_at.
    spent = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == stored.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if spent != 1:
        _revoke_family(stored.family_id)
        db.session.commit()
        raise Unauthorized("The refresh token was already used; every session of it is revoked.")
    user = db.session.get(User, stored.user_id)
    if user is None or not user.is_active:
        db.session.commit()
        raise Unauthorized("This account no longer exists or is disabled.")
    pair = _issue_pair(user, family_id=stored.family_id)
    db.session.commit()
    return pair


def logout(user_id: int, refresh_token: str) -> None:
    """Revoke the refresh-token family of ``refresh_token`` if it belongs to ``user_id``."""
    stored = db.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(refresh_token))
    )
    if stored is None or stored.user_id != user_id:
        raise Unauthorized("The refresh token is not valid.")
    _revoke_family(stored.family_id)
    db.session.commit()


def get_user(user_id: int) -> User:
    """The user with ``user_id`` or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def create_invitation(
    actor, *, email: str, role: str, valid_days: int = 14
) -> tuple[Invitation, str]:
    """An admin invites ``email`` into their institution; returns the invitation and its code."""
    code = new_token(18)
    invitation = Invitation(
        institution_id=actor.institution_id,
        email=email.strip().lower(),
        role=role,
        code_hash=token_digest(code),
        invited_by_id=actor.user_id,
        expires_at=utcnow() + timedelta(days=valid_days),
    )
    db.session.add(invitation)
    db.session.commit()
    return invitation, code


def link_identity(institution_id: int, user_id: int, kind: str, value: str) -> bool:
    """Record that ``user_id`` is known as ``kind``/``value`` in the institution.

    Returns True when the link is new; then the ``on_users_seen`` callbacks run so
    data that arrived for this identity before the person was known is attached.
    Does not commit: the caller owns the transaction.
    """

    def holder() -> int | None:
        return db.session.scalar(
            select(UserIdentity.user_id).where(
                UserIdentity.institution_id == institution_id,
                UserIdentity.kind == kind,
                UserIdentity.value == value,
            )
        )

    found = holder()
    if found is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    UserIdentity(
                        institution_id=institution_id, user_id=user_id, kind=kind, value=value
                    )
                )
        except IntegrityError:
            # Another writer (a roster sync, a parallel launch) linked it in between:
            # their row stands, and is judged as if it had been there all along.
            found = holder()
        else:
            _users_seen(institution_id, frozenset([user_id]))
            return True
    if found != user_id:
        raise Conflict(f"The identity {kind}:{value} belongs to another user.")
    return False


def link_new_identities(institution_id: int, links: Sequence[tuple[int, str, str]]) -> None:
    """Record many links ``(user_id, kind, value)`` that nobody holds yet: one INSERT per
    thousand, then the ``on_users_seen`` callbacks once for all their users.

    For a caller that has read which identities exist (:func:`users_by_identities`) and
    links the rest at once, such as a roster sync. A link a concurrent writer made in
    between fails the INSERT with IntegrityError: the caller runs this in a savepoint,
    reads again and retries. Does not commit.
    """
    if not links:
        return
    db.session.execute(
        insert(UserIdentity),
        [
            {"institution_id": institution_id, "user_id": user_id, "kind": kind, "value": value}
            for user_id, kind, value in links
        ],
    )
    _users_seen(institution_id, frozenset(user_id for user_id, _, _ in links))


def find_user_by_identity(institution_id: int, kind: str, value: str) -> User | None:
    """The user known as ``kind``/``value`` in the institution, or None."""
    return db.session.scalar(
        select(User)
        .join(UserIdentity, UserIdentity.user_id == User.id)
        .where(
            UserIdentity.institution_id == institution_id,
            UserIdentity.kind == kind,
            UserIdentity.value == value,
        )
    )


def users_by_identities(
    institution_id: int, identities: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """User ids of the ``(kind, value)`` identities known in the institution (one query);
    identities nobody is linked to are absent."""
    wanted = set(identities)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(UserIdentity.kind, UserIdentity.value, UserIdentity.user_id).where(
            UserIdentity.institution_id == institution_id,
            UserIdentity.kind.in_(sorted({kind for kind, _ in wanted})),
            UserIdentity.value.in_(sorted({value for _, value in wanted})),
        )
    )
    return {(kind, value): user_id for kind, value, user_id in rows if (kind, value) in wanted}


def identity_values(institution_id: int, user_id: int, kind: str, prefix: str = "") -> list[str]:
    """Values by which ``user_id`` is known as ``kind``, only those with ``prefix`` if given."""
    return identity_values_of_users(institution_id, [user_id], kind, prefix).get(user_id, [])


# Ids per IN list: far below every driver's bound on bound parameters.
_USERS_PER_QUERY = 1000


def identity_values_of_users(
    institution_id: int, user_ids: Iterable[int], kind: str, prefix: str = ""
) -> dict[int, list[str]]:
    """For each of ``user_ids``, the values by which they are known as ``kind`` (only
    those with ``prefix`` if given), oldest first; users with none are absent. One query
    per thousand users: a release to the gradebook looks up a whole class at once."""
    wanted = sorted(set(user_ids))
    found: dict[int, list[str]] = {}
    for start in range(0, len(wanted), _USERS_PER_QUERY):
        query = select(UserIdentity.user_id, UserIdentity.value).where(
            UserIdentity.institution_id == institution_id,
            UserIdentity.user_id.in_(wanted[start : start + _USERS_PER_QUERY]),
            UserIdentity.kind == kind,
        )
        if prefix:
            query = query.where(UserIdentity.value.startswith(prefix, autoescape=True))
        for user_id, value in db.session.execute(query.order_by(UserIdentity.id)):
            found.setdefault(user_id, []).append(value)
    return found
