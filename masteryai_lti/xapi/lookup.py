"""The Activities and Agents resources: what the LRS knows about an activity or a person
(xAPI 1.0.3 Communication 2.4 and 2.5; 2.0 4.1.6.3 and 4.1.6.4).

Both are read from stored statements, so they need no tables of their own, and they
answer under the statement read scopes: ``read-all`` from every statement of the
institution, ``read-mine`` only from the statements the credential wrote (what it could
read through GET /statements anyway), and a write-only credential not at all (403).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Text, bindparam, func, literal, select, true, union_all
from sqlalchemy.dialects.postgresql import ARRAY

from masteryai_lti.core.errors import Forbidden
from masteryai_lti.extensions import db
from masteryai_lti.xapi.credentials import CredentialInfo
from masteryai_lti.xapi.indexing import IFI_KINDS, agent_key, merge_definition
from masteryai_lti.xapi.models import XapiStatement

# Statements read to assemble one activity: enough for every language variant in use.
_SAMPLE = 200


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


def activity_definitions(
    credential: CredentialInfo, activity_ids: Iterable[str]
) -> dict[str, dict]:
    """The definition the LRS holds for each of ``activity_ids`` (those it has one for),
    in one query however many there are.

    Each is merged from the newest ``_SAMPLE`` statements ``credential`` may read whose
    object is that Activity, newest details winning (``merge_definition``). A
    definition repeated by many statements is read once: the database groups equal
    definitions and reports the newest position of each, which merges the same.
    """
    ids = sorted({activity_id for activity_id in activity_ids if activity_id})
    if not ids:
        return {}
    readable = _readable(credential)
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.execute(_definitions_lateral(readable, ids)).all()
    else:
        rows = []
        for start in range(0, len(ids), _UNION_CHUNK):
            chunk = ids[start : start + _UNION_CHUNK]
            rows.extend(db.session.execute(_definitions_union(readable, chunk)).all())
    found: dict[str, list[tuple[int, dict]]] = {}
    for activity_id, definition, rank in rows:
        if isinstance(definition, str):
            definition = json.loads(definition)
        if isinstance(definition, dict):
            found.setdefault(activity_id, []).append((rank, definition))
    merged: dict[str, dict] = {}
    for activity_id, definitions in found.items():
        combined: dict = {}
        for _, definition in sorted(definitions, key=lambda item: item[0]):
            merge_definition(combined, definition)
        if combined:
            merged[activity_id] = combined
    return merged


_DEFINITION = XapiStatement.statement[("object", "definition")]
_NEWEST = (XapiStatement.stored.desc(), XapiStatement.id.desc())
# SQLite caps a compound SELECT at 500 terms.
_UNION_CHUNK = 400


def _grouped(ranked):
    """Equal definitions of one activity as one row, with the newest position of any."""
    return (
        select(ranked.c.activity_id, ranked.c.definition, func.min(ranked.c.position))
        .where(ranked.c.definition.is_not(None))
        .group_by(ranked.c.activity_id, ranked.c.definition)
    )


def _definitions_lateral(readable: list, ids: list[str]):
    # PostgreSQL: one index probe of (institution, object_activity_id, stored) per id.
    ids_param = bindparam("activity_ids", ids, type_=ARRAY(Text))
    wanted = func.unnest(ids_param).table_valued("activity_id").render_derived()
    recent = (
        select(_DEFINITION.label("definition"), XapiStatement.stored, XapiStatement.id)
        .where(*readable, XapiStatement.object_activity_id == wanted.c.activity_id)
        .order_by(*_NEWEST)
        .limit(_SAMPLE)
        .lateral("recent")
    )
    ranked = (
        select(
            wanted.c.activity_id,
            recent.c.definition,
            func.row_number()
            .over(
                partition_by=wanted.c.activity_id,
                order_by=(recent.c.stored.desc(), recent.c.id.desc()),
            )
            .label("position"),
        )
        .select_from(wanted.join(recent, true()))
        .subquery("ranked")
    )
    return _grouped(ranked)


def _definitions_union(readable: list, ids: list[str]):
    # SQLite has no LATERAL: one limited, ranked branch per id.
    branches = []
    for activity_id in ids:
        recent = (
            select(
                literal(activity_id, Text).label("activity_id"),
                _DEFINITION.label("definition"),
                XapiStatement.stored,
                XapiStatement.id,
            )
            .where(*readable, XapiStatement.object_activity_id == activity_id)
            .order_by(*_NEWEST)
            .limit(_SAMPLE)
            .subquery()
        )
        branches.append(
            select(
                recent.c.activity_id,
                recent.c.definition,
                func.row_number()
                .over(order_by=(recent.c.stored.desc(), recent.c.id.desc()))
                .label("position"),
            )
        )
    return _grouped(union_all(*branches).subquery("ranked"))


def activity_object(credential: CredentialInfo, activity_id: str) -> dict:
    """The Activity with every definition detail seen for ``activity_id`` (newest wins)."""
    definition = activity_definitions(credential, [activity_id]).get(activity_id)
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
