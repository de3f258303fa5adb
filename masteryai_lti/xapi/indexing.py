"""What the statements table indexes about a statement, and the response formats.

Pure functions over statement dicts (already validated):
- ``agent_key``: one string per Agent/Identified Group — objectType plus its one
  inverse functional identifier — so the ``agent`` filter is an equality lookup
  (xAPI 1.0.3 Communication 2.1.3: equal when the same IFI and the same objectType).
- ``index_fields``: actor, verb, object, registration and the "related" agent keys and
  activity ids that ``related_agents`` / ``related_activities`` widen a query to.
- ``format_statement``: the ``ids`` and ``canonical`` response formats, and
  ``merge_definition``, how the LRS combines the definitions it saw of one Activity.
"""

from __future__ import annotations

from typing import Any

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
IFI_KINDS = ("mbox", "mbox_sha1sum", "openid", "account")
# Marks in ``agent_keys`` for the members of a Group that is the actor or the object:
# the ``agent`` filter matches such statements too (Communication 2.1.3), and a mark
# goes through the same refs b-tree as the related agents. Agent keys start "agent|" or
# "group|", so a mark is never mistaken for one.
MEMBER_MARK = "member|"


def actor_identity(agent: dict) -> tuple[str, str] | None:
    """(kind, value) of an agent's IFI in the identity service's vocabulary, or None.

    ``account`` becomes ``"homePage|name"``, as ``UserIdentity`` stores it.
    """
    for kind in IFI_KINDS:
        value = agent.get(kind)
        if value is None:
            continue
        if kind == "account":
            return kind, f"{value.get('homePage', '')}|{value.get('name', '')}"
        return kind, str(value)
    return None


def agent_key(agent: dict | None) -> str | None:
    """``agent|mbox|mailto:a@b`` or ``group|account|home|name``; None for anonymous groups."""
    if not isinstance(agent, dict):
        return None
    identity = actor_identity(agent)
    if identity is None:
        return None
    object_type = "group" if agent.get("objectType") == "Group" else "agent"
    return f"{object_type}|{identity[0]}|{identity[1]}"


def _agents_of(actor: dict | None) -> list[str]:
    """Keys of an actor, and of the members of a group (anonymous or identified)."""
    if not isinstance(actor, dict):
        return []
    keys = []
    key = agent_key(actor)
    if key:
        keys.append(key)
    if actor.get("objectType") == "Group":
        for member in actor.get("member") or []:
            member_key = agent_key(member)
            if member_key:
                keys.append(member_key)
    return keys


def member_mark(key: str) -> str:
    """The ``agent_keys`` entry saying that the agent ``key`` is a member of the
    statement's actor or object Group."""
    return MEMBER_MARK + key


def _member_marks(agent: dict | None) -> list[str]:
    if not isinstance(agent, dict) or agent.get("objectType") != "Group":
        return []
    marks = []
    for member in agent.get("member") or []:
        key = agent_key(member)
        if key:
            marks.append(member_mark(key))
    return marks


def _related(statement: dict, agents: list[str], activities: list[str]) -> None:
    agents.extend(_agents_of(statement.get("actor")))
    target = statement.get("object") or {}
    target_type = target.get("objectType", "Activity")
    if target_type in ("Agent", "Group"):
        agents.extend(_agents_of(target))
    elif target_type == "Activity" and target.get("id"):
        activities.append(target["id"])
    elif target_type == "SubStatement":
        _related(target, agents, activities)
    context = statement.get("context") or {}
    agents.extend(_agents_of(context.get("instructor")))
    agents.extend(_agents_of(context.get("team")))
    for group in (context.get("contextActivities") or {}).values():
        items = group if isinstance(group, list) else [group]
        activities.extend(item["id"] for item in items if isinstance(item, dict) and "id" in item)
    agents.extend(_agents_of(statement.get("authority")))


def index_fields(statement: dict) -> dict[str, Any]:
    """The indexed columns of a complete statement (id, stored and authority set)."""
    target = statement.get("object") or {}
    target_type = target.get("objectType", "Activity")
    agents: list[str] = []
    activities: list[str] = []
    _related(statement, agents, activities)
    agents.extend(_member_marks(statement.get("actor")))
    if target_type == "Group":
        agents.extend(_member_marks(target))
    context = statement.get("context") or {}
    return {
        "actor_key": agent_key(statement.get("actor")),
        "verb_id": statement["verb"]["id"],
        "object_type": target_type,
        "object_activity_id": target.get("id") if target_type == "Activity" else None,
        "object_agent_key": agent_key(target) if target_type in ("Agent", "Group") else None,
        "object_statement_id": target.get("id") if target_type == "StatementRef" else None,
        "registration": context.get("registration"),
        "is_voiding": statement["verb"]["id"] == VOIDED_VERB and target_type == "StatementRef",
        "agent_keys": sorted(set(agents)),
        "activity_ids": sorted(set(activities)),
    }


def _ids_agent(agent: dict) -> dict:
    shaped = {key: agent[key] for key in ("objectType", *IFI_KINDS) if key in agent}
    if agent.get("objectType") == "Group" and not actor_identity(agent):
        shaped["member"] = [_ids_agent(member) for member in agent.get("member") or []]
    return shaped


def _best_language(language_map: dict, accepted: list[str]) -> dict:
    if not language_map:
        return language_map
    lowered = {key.lower(): key for key in language_map}
    for wanted in accepted:
        wanted = wanted.lower()
        if wanted in lowered:
            return {lowered[wanted]: language_map[lowered[wanted]]}
        for lower, key in lowered.items():
            if lower.split("-")[0] == wanted.split("-")[0]:
                return {key: language_map[key]}
    if "und" in language_map:
        return {"und": language_map["und"]}
    first = next(iter(language_map))
    return {first: language_map[first]}


_LANGUAGE_MAPS = {"display", "name", "description"}


def _canonical(value: Any, accepted: list[str], key: str | None = None) -> Any:
    if isinstance(value, dict):
        if key in _LANGUAGE_MAPS and all(isinstance(v, str) for v in value.values()):
            return _best_language(value, accepted)
        if key == "extensions":
            return value
        return {k: _canonical(v, accepted, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(item, accepted, key) for item in value]
    return value


def merge_definition(merged: dict, definition: dict) -> None:
    """Fill ``merged`` from an older Activity definition: what ``merged`` lacks is taken,
    and language maps and extensions merge per key with ``merged``'s entries winning
    (Communication 2.5: "all available information ... from any statements")."""
    for key, value in definition.items():
        if key in ("name", "description", "extensions") and isinstance(value, dict):
            combined = dict(value)
            combined.update(merged.get(key) or {})
            merged[key] = combined
        elif key not in merged:
            merged[key] = value


def activity_ids_in(statement: dict) -> list[str]:
    """Ids of every Activity in a statement: object, context activities, and those of
    a sub-statement."""
    activities: list[str] = []
    _related(statement, [], activities)
    return activities


def _with_definition(activity: Any, definitions: dict[str, dict]) -> Any:
    if not isinstance(activity, dict) or activity.get("id") not in definitions:
        return activity
    definition = dict(definitions[activity["id"]])
    own = activity.get("definition")
    if isinstance(own, dict):
        merge_definition(definition, own)
    return {**activity, "definition": definition}


def _with_definitions(part: dict, definitions: dict[str, dict]) -> dict:
    out = dict(part)
    target = out.get("object")
    if isinstance(target, dict):
        kind = target.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = _with_definition(target, definitions)
        elif kind == "SubStatement":
            out["object"] = _with_definitions(target, definitions)
    context = out.get("context")
    if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
        out["context"] = {
            **context,
            "contextActivities": {
                name: [_with_definition(item, definitions) for item in items]
                if isinstance(items, list)
                else _with_definition(items, definitions)
                for name, items in context["contextActivities"].items()
            },
        }
    return out


def _ids(statement: dict) -> dict:
    shaped = dict(statement)
    shaped["actor"] = _ids_agent(statement["actor"])
    shaped["verb"] = {"id": statement["verb"]["id"]}
    target = statement.get("object") or {}
    target_type = target.get("objectType", "Activity")
    if target_type == "Activity":
        shaped["object"] = {"id": target["id"]}
    elif target_type in ("Agent", "Group"):
        shaped["object"] = _ids_agent(target)
    elif target_type == "SubStatement":
        shaped["object"] = {"objectType": "SubStatement", **_ids(target)}
        shaped["object"].pop("id", None)
    if "authority" in statement:
        shaped["authority"] = _ids_agent(statement["authority"])
    context = statement.get("context")
    if context:
        context = dict(context)
        for role in ("instructor", "team"):
            if role in context:
                context[role] = _ids_agent(context[role])
        if "contextActivities" in context:
            context["contextActivities"] = {
                name: [
                    {"id": item["id"]} for item in (items if isinstance(items, list) else [items])
                ]
                for name, items in context["contextActivities"].items()
            }
        if "contextAgents" in context:
            context["contextAgents"] = [
                {**item, "agent": _ids_agent(item["agent"])} for item in context["contextAgents"]
            ]
        if "contextGroups" in context:
            context["contextGroups"] = [
                {**item, "group": _ids_agent(item["group"])} for item in context["contextGroups"]
            ]
        shaped["context"] = context
    return shaped


def format_statement(
    statement: dict,
    fmt: str,
    accepted_languages: list[str],
    definitions: dict[str, dict] | None = None,
) -> dict:
    """Shape a stored statement for the ``format`` parameter (exact, ids, canonical).

    ``canonical`` gives each Activity (object, context activities, and a sub-statement's)
    the definition the LRS holds for it, ``definitions`` by activity id, completed by
    the statement's own; then every language map keeps the reader's best language.
    """
    if fmt == "ids":
        return _ids(statement)
    if fmt == "canonical":
        if definitions:
            statement = _with_definitions(statement, definitions)
        return _canonical(statement, accepted_languages)
    return statement


def accepted_languages(header: str | None) -> list[str]:
    """Language tags of an Accept-Language header, best first."""
    if not header:
        return []
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]
