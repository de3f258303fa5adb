"""Platform registrations and deployments: the tenants of the LTI side.

Every entry point that adds a platform (``flask lti add-platform``, dynamic
registration, the development sandbox, tests) goes through
:func:`register_platform`; launches find their registration and deployment here.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from masteryai_lti.core.errors import Conflict
from masteryai_lti.extensions import db
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
) -> LtiRegistration:
    """Create or update the registration (issuer, client_id) and its deployments. Commits.

    The registration belongs to ``institution_id``, or to the institution with
    ``institution_slug`` (created with ``institution_name`` when absent), or to a
    new institution named after the platform. Re-registering the same pair updates
    its endpoints but never moves it to another institution.
    """
    if not key_set_url and not key_set:
        raise Conflict("A platform needs a key set URL or a static key set.")
    registration = find_registration(issuer, client_id)
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
    registration: LtiRegistration, deployment_id: str, source: str = "launch"
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
    try:
        with db.session.begin_nested():
            db.session.add(deployment)
    except IntegrityError:
        deployment = find_deployment(registration.id, deployment_id)
    return deployment
