"""The Activities and Agents resources: what the LRS knows about an activity or a person
(xAPI 1.0.3 Communication 2.4 and 2.5; 2.0 4.1.6.3 and 4.1.6.4).

Both are read from stored statements, so they need no tables of their own, and they
answer under the statement read scopes: ``read-all`` from every statement of the
institution, ``read-mine`` only from the statements the credential wrote (what it could
read through GET /statements anyway), and a write-only credential not at all (403).
"""

from __future__ import annotations

from sqlalchemy import select

from masteryai_lti.core.errors import Forbidden
from masteryai_lti.extensions import db
from masteryai_lti.xapi.credentials import CredentialInfo
from masteryai_lti.xapi.indexing import IFI_KINDS, agent_key
from masteryai_lti.xapi.models import XapiStatement

# Statements read to assemble one activity: enough for every language variant in use.
_SAMPLE = 200
_LANGUAGE_MAPS = ("name", "description")


def _merge_definition(merged: dict, definition: dict) -> None:
    # Older statements fill in what newer ones left out; language maps merge per key
    # (Communication 2.5: "all available information ... from any statements").
    for key, value in definition.items():
        if key in _LANGUAGE_MAPS and isinstance(value, dict):
            combined = dict(value)
            combined.update(merged.get(key) or {})
            merged[key] = combined
        elif key == "extensions" and isinstance(value, dict):
            combined = dict(value)
            combined.update(merged.get(key) or {})
            merged[key] = combined
        elif key not in merged:
            merged[key] = value


def _readable(credential: CredentialInfo) -> list:
    """Conditions limiting statements to those ``credential`` may read; 403 without a
    read scope."""
    if not credential.can_read:
        raise Forbidden(
            "This credential may not read statements (scope 'read-mine' or 'read-all')."
        )
    conditions = [XapiStatement.institution_id == credential.institution_id]
    if not credential.can_read_all:
        conditions.append(XapiStatement.credential_id == credential.id)
    return conditions


def activity_object(credential: CredentialInfo, activity_id: str) -> dict:
    """The Activity with every definition detail seen for ``activity_id`` (newest wins)."""
    documents = db.session.scalars(
        select(XapiStatement.statement)
        .where(*_readable(credential), XapiStatement.object_activity_id == activity_id)
        .order_by(XapiStatement.stored.desc(), XapiStatement.id.desc())
        .limit(_SAMPLE)
    )
    definition: dict = {}
    for document in documents:
        found = (document.get("object") or {}).get("definition")
        if isinstance(found, dict):
            _merge_definition(definition, found)
    activity = {"objectType": "Activity", "id": activity_id}
    if definition:
        activity["definition"] = definition
    return activity


def person_object(credential: CredentialInfo, agent: dict) -> dict:
    """The Person known by this agent's identifier: its identifiers and names as arrays."""
    readable = _readable(credential)
    person: dict = {"objectType": "Person"}
    for kind in IFI_KINDS:
        if kind in agent:
            person[kind] = [agent[kind]]
    names = []
    if agent.get("name"):
        names.append(agent["name"])
    key = agent_key({**agent, "objectType": "Agent"})
    documents = db.session.scalars(
        select(XapiStatement.statement)
        .where(*readable, XapiStatement.actor_key == key)
        .order_by(XapiStatement.stored.desc())
        .limit(_SAMPLE)
    )
    for document in documents:
        name = (document.get("actor") or {}).get("name")
        if isinstance(name, str) and name not in names:
            names.append(name)
    if names:
        person["name"] = names
    return person
