"""Concept graph: concepts and prerequisite edges forming a DAG (pure).

A graph is plain data so it can be checked, imported and exported without a
database; the service layer stores the same nodes and edges in tables and
rebuilds a :class:`ConceptGraph` to validate every change before it commits.

Exchange formats
----------------
JSON::

    {"concepts": [{"key": "fractions", "name": "Fractions", "description": "",
                   "prerequisites": ["division"]}, ...]}

CSV (one row per concept, prerequisites separated by ``|``)::

    key,name,description,prerequisites
    fractions,Fractions,,division|multiplication
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from masteryai_lti.core.spreadsheet_cells import neutralise, restore

CSV_COLUMNS = ("key", "name", "description", "prerequisites")
# Keys travel in URLs, CSV cells and xAPI mappings, so keep them to a safe alphabet.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,119}$")
PREREQUISITE_SEPARATOR = "|"


class GraphError(ValueError):
    """A graph change or document was refused; ``errors`` lists ``{path, message}``."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or [{"path": "", "message": message}]


class CycleError(GraphError):
    """Adding the edges would make a prerequisite cycle; ``cycle`` names it.

    ``cycle`` starts and ends on the same key, e.g. ``["a", "b", "c", "a"]``
    meaning a is a prerequisite of b, b of c, and c of a.
    """

    def __init__(self, cycle: list[str]):
        self.cycle = cycle
        message = "prerequisite cycle: " + " -> ".join(cycle)
        super().__init__(message, [{"path": "prerequisites", "message": message}])


@dataclass(frozen=True)
class Concept:
    """One node of the graph, identified by a key unique within the graph."""

    key: str
    name: str
    description: str = ""


@dataclass
class ConceptGraph:
    """A set of concepts and prerequisite edges that never contains a cycle.

    ``prerequisites[c]`` is the set of concept keys that must be ready before ``c``.
    """

    concepts: dict[str, Concept] = field(default_factory=dict)
    prerequisites: dict[str, set[str]] = field(default_factory=dict)

    # -- building -----------------------------------------------------------------

    def add_concept(self, concept: Concept) -> None:
        """Add or replace a concept (its edges are kept)."""
        validate_key(concept.key)
        self.concepts[concept.key] = concept
        self.prerequisites.setdefault(concept.key, set())

    def remove_concept(self, key: str) -> None:
        """Remove a concept and every edge that touches it."""
        self._require(key)
        del self.concepts[key]
        del self.prerequisites[key]
        for prereqs in self.prerequisites.values():
            prereqs.discard(key)

    def add_prerequisite(self, concept_key: str, prerequisite_key: str) -> None:
        """Make ``prerequisite_key`` a prerequisite of ``concept_key``.

        Raises :class:`CycleError` naming the cycle when the edge would close one.
        """
        self._require(concept_key)
        self._require(prerequisite_key)
        if concept_key == prerequisite_key:
            raise CycleError([concept_key, concept_key])
        # A path concept -> ... -> prerequisite (in "is prerequisite of" direction)
        # means the new edge prerequisite -> concept closes a cycle.
        path = self._path(concept_key, prerequisite_key)
        if path is not None:
            raise CycleError([prerequisite_key, *path])
        self.prerequisites[concept_key].add(prerequisite_key)

    def remove_prerequisite(self, concept_key: str, prerequisite_key: str) -> None:
        """Drop one edge; unknown edges are ignored."""
        self.prerequisites.get(concept_key, set()).discard(prerequisite_key)

    def set_prerequisites(self, concept_key: str, prerequisite_keys: Iterable[str]) -> None:
        """Replace all prerequisites of a concept atomically (the graph is unchanged on error)."""
        self._require(concept_key)
        new = set(prerequisite_keys)
        for key in new:
            self._require(key)
        old = self.prerequisites[concept_key]
        self.prerequisites[concept_key] = set()
        try:
            for key in sorted(new):
                self.add_prerequisite(concept_key, key)
        except GraphError:
            self.prerequisites[concept_key] = old
            raise

    # -- reading ------------------------------------------------------------------

    def edges(self) -> list[tuple[str, str]]:
        """All edges as sorted ``(prerequisite_key, concept_key)`` pairs."""
        return sorted((p, c) for c, ps in self.prerequisites.items() for p in ps)

    def dependants(self, key: str) -> set[str]:
        """Concepts that list ``key`` as a direct prerequisite."""
        return {c for c, ps in self.prerequisites.items() if key in ps}

    def ancestors(self, key: str) -> set[str]:
        """Every concept that ``key`` transitively depends on."""
        seen: set[str] = set()
        stack = list(self.prerequisites.get(key, ()))
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(self.prerequisites.get(k, ()))
        return seen

    def descendants(self, key: str) -> set[str]:
        """Every concept that transitively depends on ``key``."""
        children = self._children()
        seen: set[str] = set()
        stack = list(children.get(key, ()))
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(children.get(k, ()))
        return seen

    def topological_order(self) -> list[str]:
        """Keys with every prerequisite before its dependants; ties broken by key."""
        remaining = {k: set(ps) for k, ps in self.prerequisites.items()}
        order: list[str] = []
        while remaining:
            ready = sorted(k for k, ps in remaining.items() if not ps)
            if not ready:  # unreachable while edges only enter through add_prerequisite
                raise CycleError(find_cycle(self.prerequisites) or [])
            for k in ready:
                del remaining[k]
            for ps in remaining.values():
                ps.difference_update(ready)
            order.extend(ready)
        return order

    def depth(self) -> dict[str, int]:
        """Longest prerequisite chain below each concept (roots are 0)."""
        result: dict[str, int] = {}
        for key in self.topological_order():
            result[key] = 1 + max((result[p] for p in self.prerequisites[key]), default=-1)
        return result

    # -- exchange -----------------------------------------------------------------

    def to_dict(self) -> dict:
        """The JSON exchange document, concepts in topological order."""
        return {
            "concepts": [
                {
                    "key": k,
                    "name": self.concepts[k].name,
                    "description": self.concepts[k].description,
                    "prerequisites": sorted(self.prerequisites[k]),
                }
                for k in self.topological_order()
            ]
        }

    def to_json(self) -> str:
        """Serialise as the JSON exchange document."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_csv(self) -> str:
        """Serialise as CSV, one row per concept."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.to_dict()["concepts"]:
            # Names come from whichever teacher wrote the graph (graphs are shared
            # and copied between courses): never a formula in the reader's spreadsheet.
            writer.writerow(
                [
                    neutralise(row["key"]),
                    neutralise(row["name"]),
                    neutralise(row["description"]),
                    neutralise(PREREQUISITE_SEPARATOR.join(row["prerequisites"])),
                ]
            )
        return out.getvalue()

    @classmethod
    def from_dict(cls, document: Mapping) -> ConceptGraph:
        """Build a graph from the JSON exchange document, validating every field.

        Raises :class:`GraphError` listing each problem with its path, or
        :class:`CycleError` naming a cycle.
        """
        rows = parse_concepts(document)
        graph = cls()
        for concept, _ in rows:
            graph.add_concept(concept)
        cycle = find_cycle({c.key: set(ps) for c, ps in rows})
        if cycle:
            raise CycleError(cycle)
        for concept, prereqs in rows:
            graph.prerequisites[concept.key] = set(prereqs)
        return graph

    @classmethod
    def from_json(cls, text: str) -> ConceptGraph:
        """Parse the JSON exchange document."""
        return cls.from_dict(document_from_json(text))

    @classmethod
    def from_csv(cls, text: str) -> ConceptGraph:
        """Parse the CSV exchange format (header row required, extra columns ignored)."""
        return cls.from_dict(document_from_csv(text))

    def merge(self, document: Mapping) -> None:
        """Create or update the document's concepts and set their prerequisites.

        Prerequisites may name concepts already in this graph. All or nothing: on a
        :class:`GraphError` (or a :class:`CycleError` naming the cycle) the graph is
        left as it was.
        """
        rows = parse_concepts(document, known=self.concepts.keys())
        trial = ConceptGraph(
            dict(self.concepts), {k: set(v) for k, v in self.prerequisites.items()}
        )
        for concept, _ in rows:
            trial.add_concept(concept)
        for concept, prereqs in rows:
            trial.prerequisites[concept.key] = set(prereqs)
        cycle = find_cycle(trial.prerequisites)
        if cycle:
            raise CycleError(cycle)
        self.concepts, self.prerequisites = trial.concepts, trial.prerequisites

    # -- internals ----------------------------------------------------------------

    def _require(self, key: str) -> None:
        if key not in self.concepts:
            raise GraphError(f"unknown concept {key!r}", [{"path": "key", "message": "unknown"}])

    def _children(self) -> dict[str, set[str]]:
        children: dict[str, set[str]] = {k: set() for k in self.prerequisites}
        for c, ps in self.prerequisites.items():
            for p in ps:
                children.setdefault(p, set()).add(c)
        return children

    def _path(self, start: str, goal: str) -> list[str] | None:
        """A path start -> ... -> goal following "is prerequisite of" edges, or None."""
        children = self._children()
        parent: dict[str, str | None] = {start: None}
        queue = [start]
        while queue:
            node = queue.pop(0)
            if node == goal:
                path = [node]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])  # type: ignore[arg-type]
                return list(reversed(path))
            for child in sorted(children.get(node, ())):
                if child not in parent:
                    parent[child] = node
                    queue.append(child)
        return None


def document_from_json(text: str) -> dict:
    """Decode the JSON exchange document (structure is checked by :func:`parse_concepts`)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc


def document_from_csv(text: str) -> dict:
    """Turn the CSV exchange format into the JSON exchange document."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "key" not in reader.fieldnames:
        raise GraphError(
            "CSV needs a header row with at least a 'key' column",
            [{"path": "header", "message": "missing 'key' column"}],
        )
    return {
        "concepts": [
            {
                "key": restore((row.get("key") or "").strip()),
                "name": restore((row.get("name") or "").strip()),
                "description": restore((row.get("description") or "").strip()),
                "prerequisites": restore((row.get("prerequisites") or "").strip()),
            }
            for row in reader
        ]
    }


def parse_concepts(document: Mapping, known: Iterable[str] = ()) -> list[tuple[Concept, list[str]]]:
    """Validate an exchange document: ``[(concept, prerequisite keys)]`` in document order.

    Prerequisites must name a concept of the document or one of ``known``. Raises
    :class:`GraphError` listing every problem with its path (cycles are not checked here).
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("concepts"), list):
        raise GraphError(
            "document must be an object with a 'concepts' list",
            [{"path": "concepts", "message": "must be a list"}],
        )
    rows: list[tuple[Concept, list[str]]] = []
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, raw in enumerate(document["concepts"]):
        path = f"concepts[{i}]"
        if not isinstance(raw, Mapping):
            errors.append({"path": path, "message": "must be an object"})
            continue
        key = raw.get("key")
        name = raw.get("name") or key
        description = raw.get("description") or ""
        prereqs = raw.get("prerequisites") or []
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            errors.append({"path": f"{path}.key", "message": _KEY_MESSAGE})
            continue
        if key in seen:
            errors.append({"path": f"{path}.key", "message": f"duplicate key {key!r}"})
            continue
        seen.add(key)
        if not isinstance(name, str) or not isinstance(description, str):
            errors.append({"path": path, "message": "name and description must be strings"})
            continue
        if isinstance(prereqs, str):
            prereqs = [p for p in prereqs.split(PREREQUISITE_SEPARATOR) if p]
        if not isinstance(prereqs, list) or not all(isinstance(p, str) for p in prereqs):
            errors.append({"path": f"{path}.prerequisites", "message": "must be a list of keys"})
            continue
        rows.append((Concept(key, name.strip(), description), [p.strip() for p in prereqs]))
    known_keys = seen | set(known)
    for i, (_concept, prereqs) in enumerate(rows):
        for j, p in enumerate(prereqs):
            if p not in known_keys:
                errors.append(
                    {
                        "path": f"concepts[{i}].prerequisites[{j}]",
                        "message": f"unknown concept {p!r}",
                    }
                )
    if errors:
        raise GraphError(f"{len(errors)} problem(s) in the concept graph", errors)
    return rows


_KEY_MESSAGE = "key must be 1-120 characters: letters, digits, '_', '.', ':' or '-'"


def validate_key(key: str) -> None:
    """Raise :class:`GraphError` unless ``key`` is a valid concept key."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise GraphError(_KEY_MESSAGE, [{"path": "key", "message": _KEY_MESSAGE}])


def find_cycle(prerequisites: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle as ``[a, b, ..., a]`` in "is prerequisite of" order, or None.

    ``prerequisites`` maps each concept to its prerequisites. Iterative DFS so a
    long chain imported from CSV cannot hit the recursion limit.
    """
    children: dict[str, list[str]] = {}
    for c, ps in prerequisites.items():
        children.setdefault(c, [])
        for p in ps:
            children.setdefault(p, []).append(c)
    for kids in children.values():
        kids.sort()
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(children, white)
    for root in sorted(children):
        if colour[root] != white:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        colour[root] = grey
        while stack:
            node, i = stack[-1]
            kids = children[node]
            if i < len(kids):
                stack[-1] = (node, i + 1)
                kid = kids[i]
                if colour[kid] == grey:
                    return path[path.index(kid) :] + [kid]
                if colour[kid] == white:
                    colour[kid] = grey
                    stack.append((kid, 0))
                    path.append(kid)
            else:
                colour[node] = black
                stack.pop()
                path.pop()
    return None
