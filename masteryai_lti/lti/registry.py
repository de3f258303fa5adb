"""Platform registrations and deployments: the tenants of the LTI side.

Every entry point that adds a platform (``flask lti add-platform``, dynamic
registration, the development sandbox, tests) goes through
:func:`register_platform`; launches find their registration and deployment here.

Logins and launches read registrations through a small per-process cache
(:func:`registration_view`, :func:`registration_view_by_id`): a login and its
launch then cost no registration query. An entry is used only while

* it is younger than ``LTI_REGISTRATION_CACHE_SECONDS`` (default 30), and
* the shared generation token in the cache (Redis) is the one it was loaded
  under. Every committed ORM change of a registration or deployment (insert,
  update, delete, bulk ``update()``/``delete()``) replaces the token, so every
  process drops its entries at once. While the shared cache is unreachable
  nothing is served from here. Raw SQL that bypasses the ORM, or a change made
  while Redis was down, is picked up within the TTL.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, object_session

from masteryai_lti.core.errors import Conflict
from masteryai_lti.core.transactions import add_unless_taken
from masteryai_lti.extensions import cache, db
from masteryai_lti.identity import service as identity
from masteryai_lti.lti import quirks
from masteryai_lti.lti.models import LtiDeployment, LtiRegistration


def register_platform(
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str = "",
    key_set_url: str | None = None,
    key_set: dict | None = None,
    deployment_ids: Iterable[str] = (),
    institution_id: int | None = None,
    institution_slug: str | None = None,
    institution_name: str | None = None,
    auth_audience: str | None = None,
    platform_family: str | None = None,
    status: str = "active",
    platform_metadata: dict | None = None,
    deployment_source: str = "admin",
    create_only: bool = False,
) -> LtiRegistration:
    """Create or update the registration (issuer, client_id) and its deployments. Commits.

    The registration belongs to ``institution_id``, or to the institution with
    ``institution_slug`` (created with ``institution_name`` when absent), or to a
    new institution named after the platform. Re-registering the same pair updates
    its endpoints but never moves it to another institution. With ``create_only``
    an existing pair is a Conflict and nothing changes: for callers nobody
    authenticated (dynamic registration), since the pair is public — it is in
    every login URL — and updating would hand the tenant's logins and key set to
    whoever asked.
    """
    if not key_set_url and not key_set:
        raise Conflict("A platform needs a key set URL or a static key set.")
    registration = find_registration(issuer, client_id)
    if registration is not None and create_only:
        raise Conflict(
            f"This LMS (issuer {issuer}, client id {client_id}) is already registered "
            f"(registration {registration.id}); a registration is never replaced "
            "through dynamic registration."
        )
    if registration is None:
        if institution_id is None:
            institution = (
                identity.get_institution_by_slug(institution_slug) if institution_slug else None
            )
            if institution is None:
                institution = identity.create_institution(
                    institution_name or f"LMS {issuer}", slug=institution_slug
                )
            institution_id = institution.id
        registration = LtiRegistration(
            institution_id=institution_id, issuer=issuer, client_id=client_id
        )
        db.session.add(registration)
    elif institution_id is not None and registration.institution_id != institution_id:
        raise Conflict("This platform registration belongs to another institution.")
    registration.auth_login_url = auth_login_url
    registration.auth_token_url = auth_token_url
    registration.auth_audience = auth_audience
    registration.key_set_url = key_set_url
    registration.key_set = key_set
    registration.status = status
    registration.platform_family = platform_family or quirks.detect_family(
        issuer, platform_metadata
    )
    if platform_metadata is not None:
        registration.platform_metadata = platform_metadata
    db.session.flush()
    for deployment_id in deployment_ids:
        record_deployment(registration, deployment_id, source=deployment_source)
    db.session.commit()
    return registration


def find_registration(issuer: str, client_id: str | None) -> LtiRegistration | None:
    """The registration for (issuer, client_id).

    Without a client_id (LTI 1.3 core §5.1.1 makes it optional at login) the
    issuer must have exactly one registration.
    """
    if client_id:
        return db.session.scalar(
            select(LtiRegistration).where(
                LtiRegistration.issuer == issuer, LtiRegistration.client_id == client_id
            )
        )
    rows = db.session.scalars(
        select(LtiRegistration).where(LtiRegistration.issuer == issuer).limit(2)
    ).all()
    return rows[0] if len(rows) == 1 else None


def find_deployment(registration_id: int, deployment_id: str) -> LtiDeployment | None:
    """The known deployment ``deployment_id`` of a registration, or None."""
    return db.session.scalar(
        select(LtiDeployment).where(
            LtiDeployment.registration_id == registration_id,
            LtiDeployment.deployment_id == deployment_id,
        )
    )


def record_deployment(
    registration: LtiRegistration | RegistrationView, deployment_id: str, source: str = "launch"
) -> LtiDeployment:
    """Find or add a deployment of ``registration`` (idempotent, race-safe). No commit."""
    deployment = find_deployment(registration.id, deployment_id)
    if deployment is not None:
        return deployment
    deployment = LtiDeployment(
        registration_id=registration.id,
        institution_id=registration.institution_id,
        deployment_id=deployment_id,
        source=source,
    )
    if not add_unless_taken(deployment):
        deployment = find_deployment(registration.id, deployment_id)
    return deployment


# -- the cache logins and launches read -------------------------------------------------

DEFAULT_CACHE_SECONDS = 30
_GENERATION_KEY = "lti:registry:generation"
_MAX_ENTRIES = 2048
_CHANGED = "masteryai_lti_registry_changed"


@dataclass(frozen=True)
class RegistrationView:
    """An immutable snapshot of a registration row, as logins and launches read it."""

    id: int
    institution_id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    auth_audience: str | None
    key_set_url: str | None
    key_set: dict | None
    platform_family: str
    status: str
    # Deployment ids confirmed by a query while this snapshot was current.
    known_deployments: set[str] = field(default_factory=set, compare=False, repr=False)


class _Store:
    """Entries of one app: key -> (monotonic expiry, generation token, view)."""

    def __init__(self) -> None:
        self.entries: dict[tuple, tuple[float, str, RegistrationView]] = {}
        self.lock = threading.Lock()

    def get(self, key: tuple, generation: str | None) -> RegistrationView | None:
        entry = self.entries.get(key)
        if entry is None or generation is None:
            return None
        expires, loaded_under, view = entry
        if loaded_under != generation or time.monotonic() >= expires:
            return None
        return view

    def put(self, keys: Iterable[tuple], generation: str, view: RegistrationView) -> None:
        ttl = float(current_app.config.get("LTI_REGISTRATION_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
        if ttl <= 0:
            return
        with self.lock:
            if len(self.entries) >= _MAX_ENTRIES:
                self.entries.clear()
            for key in keys:
                self.entries[key] = (time.monotonic() + ttl, generation, view)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def _store() -> _Store:
    store = current_app.extensions.get("masteryai_lti_registry")
    if store is None:
        store = current_app.extensions.setdefault("masteryai_lti_registry", _Store())
    return store


def _generation() -> str | None:
    """The shared generation token; None when the shared cache does not answer."""
    token = cache.get(_GENERATION_KEY)
    if token is None and cache.set_if_absent(_GENERATION_KEY, secrets.token_hex(8)):
        token = cache.get(_GENERATION_KEY)
    return token


def invalidate_cached_registrations() -> None:
    """Drop every process's cached registrations (called after each committed change)."""
    if not has_app_context():
        return
    _store().clear()
    # Deleted, not overwritten: the next reader draws a new random token, and a delete
    # Redis misses starts a new cache generation (core.cache), so an old token cannot
    # come back with a Redis restarted from its data.
    cache.delete(_GENERATION_KEY)


def _view(row) -> RegistrationView:
    return RegistrationView(
        id=row.id,
        institution_id=row.institution_id,
        issuer=row.issuer,
        client_id=row.client_id,
        auth_login_url=row.auth_login_url,
        auth_token_url=row.auth_token_url or "",
        auth_audience=row.auth_audience,
        key_set_url=row.key_set_url,
        key_set=row.key_set,
        platform_family=row.platform_family or "generic",
        status=row.status,
    )


_registrations = LtiRegistration.__table__


def _load(key: tuple, condition) -> RegistrationView | None:
    store = _store()
    generation = _generation()  # read before the row: a change committed later bumps it
    view = store.get(key, generation)
    if view is not None:
        return view
    rows = db.session.execute(select(_registrations).where(condition).limit(2)).all()
    if len(rows) != 1:
        return None
    view = _view(rows[0])
    if generation is not None:
        store.put({key, ("id", view.id), ("pair", view.issuer, view.client_id)}, generation, view)
    return view


def registration_view(issuer: str, client_id: str | None) -> RegistrationView | None:
    """Like :func:`find_registration`, as a snapshot from the per-process cache."""
    if client_id:
        condition = (_registrations.c.issuer == issuer) & (_registrations.c.client_id == client_id)
    else:
        condition = _registrations.c.issuer == issuer
    return _load(("pair", issuer, client_id), condition)


def registration_view_by_id(registration_id: int) -> RegistrationView | None:
    """The registration with primary key ``registration_id``, from the per-process cache."""
    return _load(("id", registration_id), _registrations.c.id == registration_id)


def deployment_is_known(view: RegistrationView, deployment_id: str) -> bool:
    """Whether ``deployment_id`` is a recorded deployment of the registration."""
    if deployment_id in view.known_deployments:
        return True
    if find_deployment(view.id, deployment_id) is None:
        return False
    view.known_deployments.add(deployment_id)
    return True


def _mark_changed(_mapper, _connection, target) -> None:
    session = object_session(target)
    if session is not None:
        session.info[_CHANGED] = True
    if has_app_context():
        _store().clear()  # this process re-reads at once, even before the commit


for _model in (LtiRegistration, LtiDeployment):
    for _event_name in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _event_name, _mark_changed)


@event.listens_for(Session, "do_orm_execute")
def _bulk_change(state) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        if state.bind_mapper.class_ in (LtiRegistration, LtiDeployment):
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    # Fired for savepoints too; only the outermost commit makes a change visible.
    if not session.in_nested_transaction() and session.info.pop(_CHANGED, False):
        invalidate_cached_registrations()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None and session.info.pop(_CHANGED, False):
        # Rows may have been changed and rolled back; this process forgets what it cached.
        if has_app_context():
            _store().clear()
