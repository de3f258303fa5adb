"""The sandbox platform: its registration in the tool and the id_tokens it issues."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

import jwt

from masteryai_lti.demo import DEMO_COURSE, DEMO_SCHOOL, DEMO_SLUG, SANDBOX_STUDENT
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
from masteryai_lti.lti import keys, registry
from masteryai_lti.lti.models import LtiRegistration, platform_user_key

CLIENT_ID = "masteryai-sandbox"
DEPLOYMENT_ID = "sandbox-deployment"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
PURPOSE = "sandbox_platform"

PEOPLE = {
    "teacher": {
        "sub": "sandbox-teacher",
        "name": "Sandbox Teacher",
        "email": "teacher@sandbox.invalid",
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
    },
    # One of the demo's students (see ``link_demo_student``).
    "student": {
        "sub": "sandbox-student",
        "name": SANDBOX_STUDENT["full_name"],
        "email": SANDBOX_STUDENT["email"],
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    },
}


def ensure_registration(issuer: str, auth_url: str) -> LtiRegistration:
    """Register the sandbox (for this host's issuer URL) with its static key set."""
    keys.ensure_key(PURPOSE)
    existing = registry.find_registration(issuer, CLIENT_ID)
    key_set = keys.public_jwks(PURPOSE)
    if existing is not None and existing.key_set == key_set and existing.auth_login_url == auth_url:
        link_demo_student(existing)
        return existing
    registration = registry.register_platform(
        issuer=issuer,
        client_id=CLIENT_ID,
        auth_login_url=auth_url,
        key_set=key_set,
        deployment_ids=[DEPLOYMENT_ID],
        # The demo school's LMS: its launches land in the demo course (with demo data).
        institution_slug=DEMO_SLUG,
        institution_name=DEMO_SCHOOL,
        platform_family="generic",
    )
    link_demo_student(registration)
    return registration


def link_demo_student(registration: LtiRegistration) -> None:
    """Make the sandbox's student the demo student of the same e-mail, if the demo is
    seeded and nobody has launched as the sandbox student from this issuer yet.

    The issuer is this host's address, known only once the sandbox is opened, so the
    demo cannot link it when it seeds: without the link a student launch would make a
    new user, in no project group and with no history to show.
    """
    # The key a launch finds its user by.
    value = platform_user_key(registration.issuer, PEOPLE["student"]["sub"])
    institution_id = registration.institution_id
    if identity.find_user_by_identity(institution_id, "lti", value) is not None:
        return
    student = identity.find_user_by_email(PEOPLE["student"]["email"])
    if student is None or student.institution_id != institution_id:
        return
    identity.link_identity(institution_id, student.id, "lti", value)
    db.session.commit()


def id_token(
    *,
    issuer: str,
    person: str,
    nonce: str,
    launch_url: str,
    deep_link_return: str,
    deep_link: bool,
    now: int,
    link: dict | None = None,
) -> str:
    """A signed id_token for ``person`` (teacher or student) in the sandbox course;
    ``link`` ({"id", "title", "custom"}) is a link the tool placed by deep linking, which
    the launch then opens as an LMS activity would."""
    who = PEOPLE[person]
    claims = {
        "iss": issuer,
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "sub": who["sub"],
        "name": who["name"],
        "email": who["email"],
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        LTI + "version": "1.3.0",
        LTI + "deployment_id": DEPLOYMENT_ID,
        LTI + "target_link_uri": launch_url,
        LTI + "roles": who["roles"],
        LTI + "context": DEMO_COURSE,
        LTI + "tool_platform": {"guid": "masteryai-sandbox", "name": "MasteryAI sandbox LMS"},
    }
    if deep_link:
        claims[LTI + "message_type"] = "LtiDeepLinkingRequest"
        claims[LTI_DL + "deep_linking_settings"] = {
            "deep_link_return_url": deep_link_return,
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "data": "sandbox-" + secrets.token_hex(4),
        }
    else:
        claims[LTI + "message_type"] = "LtiResourceLinkRequest"
        claims[LTI + "resource_link"] = {"id": "sandbox-link-1", "title": "Sandbox activity"}
        if link is not None:
            claims[LTI + "resource_link"] = {"id": link["id"], "title": link["title"]}
            claims[LTI + "custom"] = link["custom"]
    key = keys.signing_key(PURPOSE)
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def placed_link(item: dict) -> dict:
    """What the sandbox keeps of a content item the tool returned: the resource link an
    LMS would create for it (same item, same link id, so reopening is the same activity)."""
    custom = item.get("custom") or {}
    fingerprint = json.dumps([item.get("title"), custom], sort_keys=True).encode()
    return {
        "id": "sandbox-dl-" + hashlib.sha256(fingerprint).hexdigest()[:12],
        "title": item.get("title") or "MasteryAI activity",
        "custom": {str(k): str(v) for k, v in custom.items()},
    }


LINK_HINT = "link."


def link_hint(person: str, link: dict) -> str:
    """The lti_message_hint that launches ``link`` as ``person``: the sandbox's own note
    to itself, handed through the tool's login and back to the sandbox's /auth."""
    raw = json.dumps({"as": person, **link}, separators=(",", ":")).encode()
    return LINK_HINT + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_link_hint(hint: str) -> tuple[str, dict] | None:
    """``(person, link)`` from a hint made by :func:`link_hint`, else None."""
    if not hint.startswith(LINK_HINT):
        return None
    body = hint[len(LINK_HINT) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        person = data["as"]
        link = {"id": str(data["id"]), "title": str(data["title"]), "custom": dict(data["custom"])}
    except (ValueError, KeyError, TypeError):
        return None
    if person not in PEOPLE:
        return None
    return person, link
