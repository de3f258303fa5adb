"""Statement and parameter validation for xAPI 1.0.3 and 2.0.0 (IEEE 9274.1.1).

Pure module: JSON-decoded data in, a list of :class:`Problem` out. Every problem names the
field path (``statements[3].actor.mbox``) and the rule broken, so the HTTP layer can answer
400 Bad Request with a body that tells a content author exactly what to fix. Section
numbers refer to the 1.0.3 documents (``Data`` = xAPI-Data.md, ``Communication`` =
xAPI-Communication.md); 2.0 additions cite IEEE 9274.1.1 clauses.

The validator checks what the LRS conformance suite checks and what the specification
says an LRS MUST reject; it does not look at the database (voiding targets, id conflicts
and signatures are the storage layer's business).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from masteryai_lti.xapi.json_input import (
    JsonInputError,
    first_unstorable,
    loads,
    shown,
    too_deep,
)
from masteryai_lti.xapi.language import is_language_tag
from masteryai_lti.xapi.timestamps import TimestampError, is_duration, parse_timestamp

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
# How deeply an extension value may nest arrays and objects: the statement around it
# takes at most ~8 of json_input.MAX_DEPTH's levels.
EXTENSION_MAX_DEPTH = 48

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
)
# Every pattern ends in \Z, not $: $ also matches before a final line break.
# RFC 3987: an IRI starts with a scheme; no whitespace or characters RFC 3987 excludes.
_IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*\Z")
_SHA1_RE = re.compile(r"^[0-9a-fA-F]{40}\Z")
_SHA2_RE = re.compile(r"^(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})\Z")
_MAILTO_RE = re.compile(r"^mailto:[^@\s]+@[^@\s]+\Z")
# RFC 2045 media type: type "/" subtype, then optional parameters.
_MEDIA_TYPE_RE = re.compile(
    r"^[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?\Z"
)
# Data 2.4.10: accept every version starting "1.0." (semantic versioning, so pre-release
# and build suffixes such as 1.0.3-rc1 count) and the bare "1.0" the suite also sends.
VERSION_1_RE = re.compile(r"^1\.0(?:\.\d+(?:[-+][0-9A-Za-z.+-]*)?)?\Z")
VERSION_2_RE = re.compile(r"^2\.0(?:\.\d+(?:[-+][0-9A-Za-z.+-]*)?)?\Z")

IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
INTERACTION_TYPES = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    }
)
# Data 2.4.4.1 table "Interaction Components": which component lists each type may carry.
_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
_COMPONENTS_FOR_TYPE = {
    "choice": {"choices"},
    "sequencing": {"choices"},
    "likert": {"scale"},
    "matching": {"source", "target"},
    "performance": {"steps"},
}
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")

_STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
# Data 2.4.4.3: a SubStatement MUST NOT have "id", "stored", "version" or "authority".
_SUBSTATEMENT_KEYS = {
    "objectType",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
}
_AGENT_KEYS = {"objectType", "name", *IFI_KEYS}
_GROUP_KEYS = {"objectType", "name", "member", *IFI_KEYS}
_ACTIVITY_KEYS = {"objectType", "id", "definition"}
_DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    *_COMPONENT_LISTS,
}
_RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
_SCORE_KEYS = {"scaled", "raw", "min", "max"}
_CONTEXT_KEYS_1 = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}
# IEEE 9274.1.1 4.2.2.5 adds contextAgents and contextGroups: the only properties of a
# statement that 2.0 defines and 1.0.3 does not (the 9274.1.1 change list names no other).
CONTEXT_KEYS_2_ONLY = frozenset({"contextAgents", "contextGroups"})
_CONTEXT_KEYS_2 = _CONTEXT_KEYS_1 | CONTEXT_KEYS_2_ONLY
_ATTACHMENT_KEYS = {
    "usageType",
    "display",
    "description",
    "contentType",
    "length",
    "sha2",
    "fileUrl",
}


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (a field path) and what (the rule in words)."""

    path: str
    rule: str
    status: int = 400

    def as_dict(self) -> dict[str, str]:
        """The ``{"path", "message"}`` shape used in problem+json ``errors``."""
        return {"path": self.path, "message": self.rule}


@dataclass
class StatementValidationError(ValueError):
    """Raised by :func:`ensure_valid_statements`; carries every problem found."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{p.path or '(root)'}: {p.rule}" for p in self.problems)


def is_uuid(value: object) -> bool:
    """True for a UUID in standard string form (Data 4.4)."""
    return isinstance(value, str) and _UUID_RE.match(value) is not None


def is_iri(value: object) -> bool:
    """True for an absolute IRI: it has a scheme (Data 2.2.s4.b1.b8, XAPI-00011)."""
    return isinstance(value, str) and _IRI_RE.match(value) is not None


def is_xapi_2(version: str) -> bool:
    """True when ``version`` (from X-Experience-API-Version) selects the 2.0 rules."""
    return str(version).startswith("2.")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class _Checker:
    """Walks one statement collecting problems; one instance per statement."""

    def __init__(self, version: str) -> None:
        self.v2 = is_xapi_2(version)
        self.problems: list[Problem] = []

    def fail(self, path: str, rule: str) -> None:
        # Paths are built as parent + ".key" (cheap on the valid path, which is the
        # common one); a statement at the root leaves a leading dot to drop here.
        self.problems.append(Problem(path[1:] if path.startswith(".") else path, rule))

    # -- generic shapes -------------------------------------------------------------

    def _object(self, value: object, path: str, what: str) -> bool:
        if isinstance(value, dict):
            return True
        if value is None:
            # Data 2.2.s4.b1.b3 (XAPI-00004): null only inside extensions.
            self.fail(path, f"{what} must not be null (null is allowed only inside extensions)")
        else:
            self.fail(path, f"{what} must be a JSON object, not {_kind(value)}")
        return False

    def _keys(self, obj: dict, allowed: set[str], path: str, what: str) -> None:
        for key, value in obj.items():
            if key not in allowed:
                # Data 2.2.s4.b1.b1: properties not defined by the spec are rejected.
                self.fail(path + "." + key, f"'{key}' is not a property of {what}")
            elif value is None:
                self.fail(
                    path + "." + key,
                    f"'{key}' must not be null (null is allowed only inside extensions)",
                )

    def _required(self, obj: dict, keys: tuple[str, ...], path: str, what: str) -> bool:
        ok = True
        for key in keys:
            if key not in obj:
                self.fail(path + "." + key, f"{what} requires '{key}'")
                ok = False
        return ok

    def _string(self, value: object, path: str, what: str) -> bool:
        if isinstance(value, str):
            return True
        if value is not None:  # null already reported by _keys
            self.fail(path, f"{what} must be a string, not {_kind(value)}")
        return False

    def _bool(self, value: object, path: str, what: str) -> None:
        if value is not None and not isinstance(value, bool):
            self.fail(path, f"{what} must be true or false, not {_kind(value)}")

    def _number(self, value: object, path: str, what: str) -> bool:
        if value is None:
            return False
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"{what} must be a number, not {_kind(value)}")
            return False
        if isinstance(value, float) and not math.isfinite(value):
            # Python's json reads NaN, Infinity and 1e400; JSON (RFC 8259 6) has no such
            # numbers and PostgreSQL's jsonb refuses them.
            self.fail(path, f"{what} must be a finite number")
            return False
        return True

    def _iri(self, value: object, path: str, what: str) -> None:
        if self._string(value, path, what) and not is_iri(value):
            self.fail(path, f"{what} must be an IRI with a scheme, e.g. http://example.com/x")

    def _uuid(self, value: object, path: str, what: str) -> None:
        if self._string(value, path, what) and not is_uuid(value):
            self.fail(path, f"{what} must be a UUID in standard string form (Data 4.4)")

    def _timestamp(self, value: object, path: str, what: str) -> None:
        if not self._string(value, path, what):
            return
        try:
            parse_timestamp(value)
        except TimestampError as exc:
            self.fail(path, f"{what} is not an ISO 8601 timestamp: {exc} (Data 4.5)")

    def language_map(self, value: object, path: str, what: str) -> None:
        """Data 4.2: keys are RFC 5646 tags, values strings."""
        if value is None or not self._object(value, path, what):
            return
        for tag, text in value.items():
            child = path + "." + tag
            if not is_language_tag(tag):
                self.fail(child, f"'{tag}' in {what} is not an RFC 5646 language tag")
            if not isinstance(text, str):
                self.fail(child, f"{what} values must be strings, not {_kind(text)}")

    def extensions(self, value: object, path: str) -> None:
        """Data 2.4.4.1 / 4.1: keys are IRIs; values may be any JSON, null included.

        Extensions are the only free-form JSON of a statement, so the only place it can
        nest without bound: deeper than ``EXTENSION_MAX_DEPTH`` is refused, as are
        values no store can keep (NUL, unpaired surrogates, non-finite numbers).
        """
        if value is None or not self._object(value, path, "extensions"):
            return
        for key, item in value.items():
            child = path + "." + shown(key)
            if not is_iri(key):
                self.fail(child, "extension keys must be IRIs with a scheme")
            if isinstance(item, dict | list) and too_deep(item, EXTENSION_MAX_DEPTH):
                self.fail(
                    child,
                    f"extension value is nested more than {EXTENSION_MAX_DEPTH} levels deep",
                )
            elif isinstance(item, str | float | dict | list):
                found = first_unstorable(item, child, EXTENSION_MAX_DEPTH)
                if found is not None:
                    self.fail(*found)

    # -- actors -----------------------------------------------------------------------

    def _ifis(self, obj: dict, path: str, what: str) -> int:
        count = 0
        for key in IFI_KEYS:
            if key not in obj:
                continue
            count += 1
            value = obj[key]
            child = path + "." + key
            if key == "mbox":
                if self._string(value, child, "mbox") and not _MAILTO_RE.match(value):
                    self.fail(child, "mbox must be a mailto IRI, e.g. mailto:ann@example.com")
            elif key == "mbox_sha1sum":
                if self._string(value, child, "mbox_sha1sum") and not _SHA1_RE.match(value):
                    self.fail(child, "mbox_sha1sum must be the 40 hex digits of a SHA-1 hash")
            elif key == "openid":
                self._iri(value, child, "openid")
            else:
                self.account(value, child)
        if count > 1:
            self.fail(
                path, f"{what} must have exactly one inverse functional identifier, found {count}"
            )
        return count

    def account(self, value: object, path: str) -> None:
        """Data 2.4.2.4: homePage (IRL) and name (string), both required."""
        if value is None or not self._object(value, path, "account"):
            return
        self._keys(value, {"homePage", "name"}, path, "an Account")
        self._required(value, ("homePage", "name"), path, "an Account")
        if "homePage" in value:
            self._iri(value["homePage"], path + ".homePage", "account.homePage")
        if "name" in value:
            self._string(value["name"], path + ".name", "account.name")

    def agent(self, value: object, path: str, *, require_type: bool = False) -> None:
        """Data 2.4.2.1: an Agent has exactly one IFI; objectType is "Agent" if present."""
        if not self._object(value, path, "an Agent"):
            return
        self._keys(value, _AGENT_KEYS, path, "an Agent")
        self._object_type_field(value, path, ("Agent",), required=require_type)
        if "name" in value:
            self._string(value["name"], path + ".name", "name")
        if self._ifis(value, path, "an Agent") == 0:
            self.fail(path, "an Agent must have exactly one of mbox, mbox_sha1sum, openid, account")

    def group(self, value: object, path: str) -> None:
        """Data 2.4.2.2: identified (one IFI, members optional) or anonymous (members)."""
        if not self._object(value, path, "a Group"):
            return
        self._keys(value, _GROUP_KEYS, path, "a Group")
        self._object_type_field(value, path, ("Group",), required=True)
        if "name" in value:
            self._string(value["name"], path + ".name", "name")
        ifis = self._ifis(value, path, "an identified Group")
        members = value.get("member")
        member_path = path + ".member"
        if "member" in value and members is not None:
            if not isinstance(members, list):
                self.fail(member_path, f"member must be an array of Agents, not {_kind(members)}")
                return
            for index, member in enumerate(members):
                item = f"{member_path}[{index}]"
                if isinstance(member, dict) and member.get("objectType") == "Group":
                    # Data 2.4.2.2.s2.b2: a Group MUST NOT contain Group objects.
                    self.fail(item, "a Group's members must be Agents, not Groups")
                else:
                    self.agent(member, item)
        if ifis == 0:
            if "member" not in value:
                self.fail(member_path, "an anonymous Group (no identifier) requires 'member'")
            elif isinstance(members, list) and not members:
                self.fail(member_path, "an anonymous Group must list at least one member")

    def actor(self, value: object, path: str, *, as_object: bool = False) -> None:
        """An Agent or a Group, told apart by objectType (Data 2.4.2)."""
        if isinstance(value, dict) and value.get("objectType") == "Group":
            self.group(value, path)
        else:
            self.agent(value, path, require_type=as_object)

    def authority(self, value: object, path: str) -> None:
        """Data 2.4.9: an Agent, or a two-member anonymous Group for 3-legged OAuth."""
        if isinstance(value, dict) and value.get("objectType") == "Group":
            self.group(value, path)
            if any(key in value for key in IFI_KEYS):
                self.fail(path, "an authority Group must be anonymous (OAuth consumer + user)")
            members = value.get("member")
            if isinstance(members, list) and len(members) != 2:
                self.fail(
                    path + ".member",
                    "an authority Group must have exactly two members (Data 2.4.9.s3.b2)",
                )
        else:
            self.agent(value, path)

    def _object_type_field(
        self, obj: dict, path: str, allowed: tuple[str, ...], *, required: bool
    ) -> None:
        child = path + ".objectType"
        if "objectType" not in obj:
            if required:
                self.fail(child, f"objectType is required here and must be {' or '.join(allowed)}")
            return
        kind = obj["objectType"]
        if kind is None:
            return  # reported by _keys
        if not isinstance(kind, str) or kind not in allowed:
            self.fail(
                child, f"objectType must be {' or '.join(repr(a) for a in allowed)}, not {kind!r}"
            )

    # -- verb, object -------------------------------------------------------------------

    def verb(self, value: object, path: str) -> None:
        """Data 2.4.3: id (IRI, required) and display (language map)."""
        if not self._object(value, path, "verb"):
            return
        self._keys(value, {"id", "display"}, path, "a Verb")
        if self._required(value, ("id",), path, "a Verb"):
            self._iri(value["id"], path + ".id", "verb.id")
        if "display" in value:
            self.language_map(value["display"], path + ".display", "verb.display")

    def activity(self, value: object, path: str) -> None:
        """Data 2.4.4.1: id (IRI, required), optional definition."""
        if not self._object(value, path, "an Activity"):
            return
        self._keys(value, _ACTIVITY_KEYS, path, "an Activity")
        self._object_type_field(value, path, ("Activity",), required=False)
        if self._required(value, ("id",), path, "an Activity"):
            self._iri(value["id"], path + ".id", "activity id")
        if "definition" in value:
            self.definition(value["definition"], path + ".definition")

    def definition(self, value: object, path: str) -> None:
        """Data 2.4.4.1 Activity Definition, interaction activities included."""
        if value is None or not self._object(value, path, "an Activity definition"):
            return
        self._keys(value, _DEFINITION_KEYS, path, "an Activity definition")
        for key in ("name", "description"):
            if key in value:
                self.language_map(value[key], path + "." + key, f"definition.{key}")
        if "type" in value:
            self._iri(value["type"], path + ".type", "definition.type")
        if "moreInfo" in value:
            self._iri(value["moreInfo"], path + ".moreInfo", "definition.moreInfo")
        if "extensions" in value:
            self.extensions(value["extensions"], path + ".extensions")
        interaction = value.get("interactionType")
        if "interactionType" in value and interaction is not None:
            if not isinstance(interaction, str) or interaction not in INTERACTION_TYPES:
                self.fail(
                    path + ".interactionType",
                    f"interactionType must be one of {', '.join(sorted(INTERACTION_TYPES))}",
                )
        if "correctResponsesPattern" in value:
            pattern = value["correctResponsesPattern"]
            child = path + ".correctResponsesPattern"
            if "interactionType" not in value:
                # Data 2.4.4.1.s8.b1: interaction properties need an interactionType.
                self.fail(child, "correctResponsesPattern requires interactionType")
            if pattern is not None and not isinstance(pattern, list):
                self.fail(
                    child,
                    f"correctResponsesPattern must be an array of strings, not {_kind(pattern)}",
                )
            elif isinstance(pattern, list):
                for index, item in enumerate(pattern):
                    if item is None:
                        self.fail(f"{child}[{index}]", "a correct response must not be null")
                    else:
                        self._string(item, f"{child}[{index}]", "a correct response")
        allowed = (
            _COMPONENTS_FOR_TYPE.get(interaction, set()) if isinstance(interaction, str) else set()
        )
        for key in _COMPONENT_LISTS:
            if key not in value:
                continue
            child = path + "." + key
            if "interactionType" not in value:
                self.fail(child, f"'{key}' requires interactionType")
            elif (
                isinstance(interaction, str)
                and interaction in INTERACTION_TYPES
                and key not in allowed
            ):
                self.fail(child, f"'{key}' is not used with interactionType {interaction!r}")
            self.components(value[key], child)

    def components(self, value: object, path: str) -> None:
        """Interaction components: ``{id, description}`` with unique ids (Data 2.4.4.1.s15)."""
        if value is None:
            return
        if not isinstance(value, list):
            self.fail(path, f"interaction components must be an array, not {_kind(value)}")
            return
        seen: set[str] = set()
        for index, component in enumerate(value):
            item = f"{path}[{index}]"
            if not self._object(component, item, "an interaction component"):
                continue
            self._keys(component, {"id", "description"}, item, "an interaction component")
            if self._required(component, ("id",), item, "an interaction component"):
                cid = component["id"]
                if self._string(cid, item + ".id", "component id"):
                    if cid in seen:
                        self.fail(item + ".id", f"interaction component id {cid!r} is repeated")
                    seen.add(cid)
            if "description" in component:
                self.language_map(component["description"], item + ".description", "description")

    def statement_ref(self, value: dict, path: str) -> None:
        """Data 2.4.4.2: objectType "StatementRef" and a UUID id, nothing else."""
        self._keys(value, {"objectType", "id"}, path, "a StatementRef")
        self._object_type_field(value, path, ("StatementRef",), required=True)
        if self._required(value, ("id",), path, "a StatementRef"):
            self._uuid(value["id"], path + ".id", "StatementRef id")

    def object(self, value: object, path: str, *, in_substatement: bool = False) -> str | None:
        """Data 2.4.4: the object by its objectType; returns the kind found."""
        if not self._object(value, path, "object"):
            return None
        kind = value.get("objectType", "Activity")
        if kind == "Activity":
            self.activity(value, path)
        elif kind in ("Agent", "Group"):
            self.actor(value, path, as_object=True)
        elif kind == "StatementRef":
            self.statement_ref(value, path)
        elif kind == "SubStatement":
            if in_substatement:
                # Data 2.4.4.3.s2.b3: a SubStatement MUST NOT contain a SubStatement.
                self.fail(path + ".objectType", "a SubStatement cannot contain a SubStatement")
            else:
                self.substatement(value, path)
        else:
            self.fail(
                path + ".objectType",
                "objectType must be Activity, Agent, Group, SubStatement or StatementRef, "
                f"not {kind!r}",
            )
            return None
        return kind

    def substatement(self, value: dict, path: str) -> None:
        """Data 2.4.4.3: like a Statement without id, stored, version, authority."""
        for key in ("id", "stored", "version", "authority"):
            if key in value:
                self.fail(path + "." + key, f"a SubStatement must not have '{key}' (Data 2.4.4.3)")
        self._keys(
            value,
            _SUBSTATEMENT_KEYS | {"id", "stored", "version", "authority"},
            path,
            "a SubStatement",
        )
        self.body(value, path, in_substatement=True)

    # -- result, context, attachments ---------------------------------------------------

    def result(self, value: object, path: str) -> None:
        """Data 2.4.5."""
        if not self._object(value, path, "result"):
            return
        self._keys(value, _RESULT_KEYS, path, "a Result")
        if "score" in value:
            self.score(value["score"], path + ".score")
        for key in ("success", "completion"):
            if key in value:
                self._bool(value[key], path + "." + key, f"result.{key}")
        if "response" in value:
            self._string(value["response"], path + ".response", "result.response")
        if "duration" in value:
            duration = value["duration"]
            child = path + ".duration"
            if self._string(duration, child, "result.duration") and not is_duration(duration):
                self.fail(
                    child, "result.duration must be an ISO 8601 duration such as PT1H30M (Data 4.6)"
                )
        if "extensions" in value:
            self.extensions(value["extensions"], path + ".extensions")

    def score(self, value: object, path: str) -> None:
        """Data 2.4.5.1: scaled in [-1, 1]; min <= raw <= max; min < max."""
        if value is None or not self._object(value, path, "score"):
            return
        self._keys(value, _SCORE_KEYS, path, "a Score")
        numbers = {
            key: value[key]
            for key in _SCORE_KEYS
            if key in value and self._number(value[key], path + "." + key, f"score.{key}")
        }
        scaled = numbers.get("scaled")
        if scaled is not None and not -1 <= scaled <= 1:
            self.fail(path + ".scaled", "score.scaled must be between -1 and 1")
        low, high, raw = numbers.get("min"), numbers.get("max"), numbers.get("raw")
        if low is not None and high is not None and not low < high:
            self.fail(path + ".max", "score.max must be greater than score.min")
        if raw is not None and low is not None and raw < low:
            self.fail(path + ".raw", "score.raw must not be less than score.min")
        if raw is not None and high is not None and raw > high:
            self.fail(path + ".raw", "score.raw must not be greater than score.max")

    def context(self, value: object, path: str, object_kind: str | None) -> None:
        """Data 2.4.6 (and IEEE 9274.1.1 4.2.2.5 contextAgents/contextGroups)."""
        if not self._object(value, path, "context"):
            return
        self._keys(value, _CONTEXT_KEYS_2 if self.v2 else _CONTEXT_KEYS_1, path, "a Context")
        if "registration" in value:
            self._uuid(value["registration"], path + ".registration", "context.registration")
        if value.get("instructor") is not None:
            self.actor(value["instructor"], path + ".instructor")
        if value.get("team") is not None:
            team = value["team"]
            if isinstance(team, dict) and team.get("objectType") != "Group":
                # Data 2.4.6.s3 table: team is a Group, so objectType "Group" is required.
                self.fail(path + ".team", "context.team must be a Group (objectType 'Group')")
            self.group(team, path + ".team")
        if value.get("contextActivities") is not None:
            self.context_activities(value["contextActivities"], path + ".contextActivities")
        for key in ("revision", "platform"):
            if key in value:
                self._string(value[key], path + "." + key, f"context.{key}")
                if object_kind is not None and object_kind != "Activity":
                    # Data 2.4.6.s4.b1/b2: only meaningful when the object is an Activity.
                    self.fail(
                        path + "." + key,
                        f"context.{key} is allowed only when the object is an Activity",
                    )
        if "language" in value:
            child = path + ".language"
            if self._string(value["language"], child, "context.language") and not is_language_tag(
                value["language"]
            ):
                self.fail(child, "context.language must be an RFC 5646 language tag")
        if value.get("statement") is not None:
            ref = value["statement"]
            child = path + ".statement"
            if self._object(ref, child, "context.statement"):
                self.statement_ref(ref, child)
        if "extensions" in value:
            self.extensions(value["extensions"], path + ".extensions")
        if self.v2:
            self.context_members(value, path, "contextAgents", "contextAgent", "agent")
            self.context_members(value, path, "contextGroups", "contextGroup", "group")

    def context_activities(self, value: object, path: str) -> None:
        """Data 2.4.6.2: parent/grouping/category/other, each an Activity or an array."""
        if not self._object(value, path, "contextActivities"):
            return
        self._keys(value, set(CONTEXT_ACTIVITY_KEYS), path, "contextActivities")
        for key in CONTEXT_ACTIVITY_KEYS:
            items = value.get(key)
            if items is None:
                continue
            child = path + "." + key
            if isinstance(items, list):
                for index, item in enumerate(items):
                    self._context_activity(item, f"{child}[{index}]")
            else:
                self._context_activity(items, child)

    def _context_activity(self, item: object, path: str) -> None:
        if isinstance(item, dict) and item.get("objectType", "Activity") != "Activity":
            self.fail(path + ".objectType", "context activities must be Activities")
            return
        self.activity(item, path)

    def context_members(self, context: dict, path: str, key: str, kind: str, member: str) -> None:
        """IEEE 9274.1.1 4.2.2.5: arrays of {objectType, agent|group, relevantTypes}."""
        if context.get(key) is None:
            return
        items = context[key]
        list_path = path + "." + key
        if not isinstance(items, list):
            self.fail(list_path, f"{key} must be an array of {kind} objects, not {_kind(items)}")
            return
        for index, item in enumerate(items):
            item_path = f"{list_path}[{index}]"
            if not self._object(item, item_path, f"a {kind}"):
                continue
            self._keys(item, {"objectType", member, "relevantTypes"}, item_path, f"a {kind}")
            if item.get("objectType") != kind:
                self.fail(item_path + ".objectType", f"objectType must be {kind!r}")
            if self._required(item, (member,), item_path, f"a {kind}"):
                if member == "agent":
                    self.agent(item["agent"], item_path + ".agent")
                else:
                    self.group(item["group"], item_path + ".group")
            if item.get("relevantTypes") is not None:
                types = item["relevantTypes"]
                types_path = item_path + ".relevantTypes"
                if not isinstance(types, list) or not types:
                    self.fail(types_path, "relevantTypes must be a non-empty array of IRIs")
                else:
                    for number, iri in enumerate(types):
                        self._iri(iri, f"{types_path}[{number}]", "a relevant type")

    def attachments(self, value: object, path: str) -> None:
        """Data 2.4.11: usageType, display, contentType, length, sha2 required."""
        if not isinstance(value, list):
            if value is not None:
                self.fail(path, f"attachments must be an array, not {_kind(value)}")
            return
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if not self._object(item, item_path, "an attachment"):
                continue
            self._keys(item, _ATTACHMENT_KEYS, item_path, "an Attachment")
            self._required(
                item,
                ("usageType", "display", "contentType", "length", "sha2"),
                item_path,
                "an Attachment",
            )
            if "usageType" in item:
                self._iri(item["usageType"], item_path + ".usageType", "usageType")
            for key in ("display", "description"):
                if key in item:
                    self.language_map(item[key], item_path + "." + key, key)
            if "contentType" in item:
                child = item_path + ".contentType"
                if self._string(
                    item["contentType"], child, "contentType"
                ) and not _MEDIA_TYPE_RE.match(item["contentType"]):
                    self.fail(
                        child, "contentType must be an Internet Media Type such as text/plain"
                    )
            if "length" in item and item["length"] is not None:
                length = item["length"]
                if isinstance(length, bool) or not isinstance(length, int) or length < 0:
                    self.fail(item_path + ".length", "length must be a non-negative integer")
            if "sha2" in item:
                child = item_path + ".sha2"
                if self._string(item["sha2"], child, "sha2") and not _SHA2_RE.match(item["sha2"]):
                    self.fail(child, "sha2 must be the hex digest of a SHA-2 hash")
            if "fileUrl" in item:
                self._iri(item["fileUrl"], item_path + ".fileUrl", "fileUrl")

    # -- statement --------------------------------------------------------------------

    def body(self, value: dict, path: str, *, in_substatement: bool) -> None:
        """The parts a Statement and a SubStatement share."""
        what = "a SubStatement" if in_substatement else "a Statement"
        self._required(value, ("actor", "verb", "object"), path, what)
        if value.get("actor") is not None:
            self.actor(value["actor"], path + ".actor")
        if value.get("verb") is not None:
            self.verb(value["verb"], path + ".verb")
        object_kind = None
        if value.get("object") is not None:
            object_kind = self.object(
                value["object"], path + ".object", in_substatement=in_substatement
            )
        if value.get("result") is not None:
            self.result(value["result"], path + ".result")
        if value.get("context") is not None:
            self.context(value["context"], path + ".context", object_kind)
        if "timestamp" in value:
            self._timestamp(value["timestamp"], path + ".timestamp", "timestamp")
        if "attachments" in value:
            self.attachments(value["attachments"], path + ".attachments")
        verb = value.get("verb")
        if (
            isinstance(verb, dict)
            and verb.get("id") == VOIDED_VERB
            and object_kind != "StatementRef"
        ):
            # Data 2.3.2.s2.b2: a voiding statement's object is a StatementRef.
            if object_kind is not None:
                self.fail(path + ".object", "a voiding statement's object must be a StatementRef")

    def statement(self, value: object, path: str) -> None:
        """Data 2.4: one Statement."""
        if not self._object(value, path, "a Statement"):
            return
        self._keys(value, _STATEMENT_KEYS, path, "a Statement")
        if "id" in value:
            self._uuid(value["id"], path + ".id", "id")
        self.body(value, path, in_substatement=False)
        if "stored" in value:
            self._timestamp(value["stored"], path + ".stored", "stored")
        if value.get("authority") is not None:
            self.authority(value["authority"], path + ".authority")
        if "version" in value:
            self.version(value["version"], path + ".version")

    def version(self, value: object, path: str) -> None:
        """Data 2.4.10 (XAPI-00101): 1.0 or 1.0.x; 2.0 also takes 2.0.x."""
        if not self._string(value, path, "version"):
            return
        if VERSION_1_RE.match(value) or (self.v2 and VERSION_2_RE.match(value)):
            return
        accepted = '"1.0", "1.0.x" or "2.0.x"' if self.v2 else '"1.0" or "1.0.x"'
        self.fail(path, f"version must be {accepted}, not {value!r}")


def validate_statement(obj: object, version: str = "1.0.3", path: str = "") -> list[Problem]:
    """Validate one Statement against the rules of ``version`` ("1.0.3" or "2.0.0").

    Returns the problems found (empty when valid); ``path`` prefixes every field path.
    """
    checker = _Checker(version)
    checker.statement(obj, path)
    return checker.problems


def validate_statements(payload: object, version: str = "1.0.3") -> list[Problem]:
    """Validate a POST body: one Statement object or an array of them.

    Paths read ``statements[3].actor.mbox`` for arrays and ``actor.mbox`` for a single
    statement. Two statements of one batch with the same id are a problem too
    (Communication 2.1.2.s2.b3): a batch stores all or nothing.
    """
    if isinstance(payload, list):
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for index, statement in enumerate(payload):
            path = f"statements[{index}]"
            problems.extend(validate_statement(statement, version, path))
            sid = statement.get("id") if isinstance(statement, dict) else None
            if is_uuid(sid):
                key = sid.lower()
                if key in seen:
                    problems.append(
                        Problem(
                            f"{path}.id", f"id repeats statements[{seen[key]}].id within one batch"
                        )
                    )
                else:
                    seen[key] = index
        return problems
    return validate_statement(payload, version)


def ensure_valid_statements(payload: object, version: str = "1.0.3") -> None:
    """Raise :class:`StatementValidationError` when :func:`validate_statements` finds problems."""
    problems = validate_statements(payload, version)
    if problems:
        raise StatementValidationError(problems)


# -- parameters of the Statement resource (Communication 2.1.3) --------------------------

_GET_PARAMETERS = {
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
}
_SINGLE_FETCH_COMPANIONS = {"statementId", "voidedStatementId", "attachments", "format"}
_BOOLEAN_PARAMETERS = ("related_activities", "related_agents", "attachments", "ascending")
FORMATS = ("ids", "exact", "canonical")


@dataclass(frozen=True)
class StatementQuery:
    """Parsed GET /statements parameters; only valid values ever land here."""

    statement_id: str | None = None
    voided_statement_id: str | None = None
    agent: dict[str, Any] | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: str | None = None
    until: str | None = None
    # None: not given (the default page size); 0: "the maximum the server will allow".
    limit: int | None = None
    format: str = "exact"
    attachments: bool = False
    ascending: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _parse_bool(text: str) -> bool | None:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return None


def validate_agent_parameter(
    text: str, version: str = "1.0.3", path: str = "agent"
) -> tuple[dict | None, list[Problem]]:
    """Parse the JSON ``agent`` parameter: an Agent or identified Group (Communication 2.1.3)."""
    try:
        value = loads(text, root=path)
    except JsonInputError as exc:
        if exc.path != path:  # valid JSON, with a value no store can keep
            return None, [Problem(exc.path, exc.message)]
        return None, [Problem(path, "agent must be a JSON-encoded Agent or Group object")]
    checker = _Checker(version)
    checker.actor(value, path)
    if isinstance(value, dict) and not any(key in value for key in IFI_KEYS):
        if not checker.problems:
            checker.fail(
                path, "agent must be identified by one of mbox, mbox_sha1sum, openid, account"
            )
    return (value if not checker.problems else None), checker.problems


def parse_statement_query(
    params: Mapping[str, str], version: str = "1.0.3", *, allow: frozenset[str] = frozenset()
) -> tuple[StatementQuery | None, list[Problem]]:
    """Validate GET/HEAD /statements parameters (Communication 2.1.3, XAPI-00012).

    ``params`` maps names to single string values. ``allow`` lists extra names the caller
    handles itself (for instance the 1.0.3 alternate-syntax ``method``); they are kept in
    ``StatementQuery.extra``. Returns ``(query, [])`` or ``(None, problems)``.
    """
    problems: list[Problem] = []
    extra: dict[str, str] = {}
    for name, text in params.items():
        if name in allow:
            extra[name] = text
        elif name not in _GET_PARAMETERS:
            problems.append(Problem(name, f"'{name}' is not a parameter of the Statement resource"))
    present = {name for name in params if name in _GET_PARAMETERS}
    values: dict[str, Any] = {}

    if "statementId" in present and "voidedStatementId" in present:
        problems.append(
            Problem("voidedStatementId", "statementId and voidedStatementId cannot be combined")
        )
    if present & {"statementId", "voidedStatementId"}:
        for name in sorted(present - _SINGLE_FETCH_COMPANIONS):
            problems.append(
                Problem(name, f"'{name}' cannot be combined with statementId or voidedStatementId")
            )
    for name, attribute in (
        ("statementId", "statement_id"),
        ("voidedStatementId", "voided_statement_id"),
        ("registration", "registration"),
    ):
        if name in present:
            if is_uuid(params[name]):
                values[attribute] = params[name]
            else:
                problems.append(Problem(name, f"{name} must be a UUID"))
    if "agent" in present:
        agent, agent_problems = validate_agent_parameter(params["agent"], version)
        problems.extend(agent_problems)
        values["agent"] = agent
    for name in ("verb", "activity"):
        if name in present:
            if is_iri(params[name]):
                values[name] = params[name]
            else:
                problems.append(Problem(name, f"{name} must be an IRI"))
    for name in ("since", "until"):
        if name in present:
            try:
                parse_timestamp(params[name])
                values[name] = params[name]
            except TimestampError as exc:
                problems.append(Problem(name, f"{name} must be an ISO 8601 timestamp: {exc}"))
    if "limit" in present:
        text = params["limit"]
        if text.isdigit():
            values["limit"] = int(text)
        else:
            problems.append(Problem("limit", "limit must be a non-negative integer"))
    if "format" in present:
        if params["format"] in FORMATS:
            values["format"] = params["format"]
        else:
            problems.append(Problem("format", "format must be ids, exact or canonical"))
    for name in _BOOLEAN_PARAMETERS:
        if name in present:
            parsed = _parse_bool(params[name])
            if parsed is None:
                problems.append(Problem(name, f"{name} must be true or false"))
            else:
                values[name] = parsed
    if problems:
        return None, problems
    return StatementQuery(extra=extra, **values), []


def validate_put_parameters(
    params: Mapping[str, str], statement: object, *, allow: frozenset[str] = frozenset()
) -> list[Problem]:
    """PUT /statements: ``statementId`` required, a UUID, equal to the body's id if any."""
    problems = [
        Problem(name, f"'{name}' is not a parameter of PUT /statements")
        for name in params
        if name != "statementId" and name not in allow
    ]
    sid = params.get("statementId")
    if sid is None:
        problems.append(
            Problem("statementId", "PUT /statements requires the statementId parameter")
        )
    elif not is_uuid(sid):
        problems.append(Problem("statementId", "statementId must be a UUID"))
    elif isinstance(statement, dict) and is_uuid(statement.get("id")):
        if statement["id"].lower() != sid.lower():
            problems.append(
                Problem("id", "the statement id differs from the statementId parameter")
            )
    return problems


def validate_post_parameters(
    params: Mapping[str, str], *, allow: frozenset[str] = frozenset()
) -> list[Problem]:
    """POST /statements takes no query parameters except those in ``allow``."""
    return [
        Problem(name, f"'{name}' is not a parameter of POST /statements")
        for name in params
        if name not in allow
    ]
