"""Mastery use cases: concept maps, item bank, attempts, mastery views, assignments.

Every attempt, whichever road it comes by (the homework player, xAPI projection,
bulk import), goes through :func:`record_attempt`, which stores it once per
source id and updates the student's mastery at once through the pure engine.
Functions taking an ``actor`` check tenant and role; :func:`record_attempt` is
called by trusted code (the xAPI projection) with ids it has already resolved.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from blinker import Namespace
from flask import current_app
from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
    field_error,
)
from masteryai_lti.core.policy import (
    Actor,
    course_role,
    ensure_can_teach,
    ensure_can_view_student,
)
from masteryai_lti.core.transactions import OnCommit
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.identity.models import User
from masteryai_lti.mastery import engine
from masteryai_lti.mastery.graph import (
    Concept as GraphConcept,
)
from masteryai_lti.mastery.graph import (
    ConceptGraph,
    CycleError,
    GraphError,
    document_from_csv,
    document_from_json,
)
from masteryai_lti.mastery.models import (
    ATTEMPT_SOURCES,
    DIFFICULTY_LABELS,
    ITEM_KINDS,
    ActivityMapping,
    Assignment,
    AssignmentItem,
    Attempt,
    AttemptConcept,
    Concept,
    ConceptMap,
    ConceptPrerequisite,
    CourseConceptMap,
    Item,
    ItemConcept,
    LearnerModel,
    MasteryState,
)
from masteryai_lti.mastery.recommender import (
    LABEL_DIFFICULTY,
    AnsweredItem,
    ConceptState,
    GeneratorSettings,
    ItemCandidate,
    generate_assignment,
    plan_concepts,
)
from masteryai_lti.mastery.weak_concepts import (
    AttemptEvidence,
    WeakConcept,
    WeakConceptSettings,
    detect_weak_concepts,
)

ITEM_CSV_COLUMNS = ("key", "kind", "prompt", "concepts", "difficulty", "choices", "answer")
ATTEMPT_CSV_COLUMNS = ("student", "item", "activity_id", "correct", "score", "timestamp")


_signals = Namespace()
# Sent (after the commit) when a student's answer completes an assignment opened from an
# LMS placement, with ``score_given`` and ``score_maximum``: the LTI feature posts the
# grade to that placement's gradebook column. Mastery itself knows nothing of LTI.
placed_assignment_completed = _signals.signal("mastery.placed-assignment-completed")

# Items in an assignment a student gets by opening an LMS placement.
PLACED_ASSIGNMENT_LENGTH = 10


@lru_cache(maxsize=1)
def _default_params() -> engine.MasteryParams:
    return engine.default_params()


def mastery_params() -> engine.MasteryParams:
    """Engine parameters: the shipped (fitted) defaults."""
    return _default_params()


def _threshold() -> float:
    return float(current_app.config.get("MASTERY_THRESHOLD", 70))


# -- concept maps and the graph ------------------------------------------------------


def _course(actor: Actor, course_id: int) -> Course:
    return courses.course_for_actor(actor, course_id)


def _teachable_course(actor: Actor, course_id: int) -> Course:
    course = _course(actor, course_id)
    ensure_can_teach(actor, course)
    return course


def course_concept_map(course_id: int) -> ConceptMap | None:
    """The concept map a course uses, or None."""
    return db.session.scalar(
        select(ConceptMap)
        .join(CourseConceptMap, CourseConceptMap.concept_map_id == ConceptMap.id)
        .where(CourseConceptMap.course_id == course_id)
    )


def _ensure_can_manage(actor: Actor, course: Course, concept_map: ConceptMap) -> None:
    """Raise unless the actor may change ``concept_map`` and read its item bank.

    A graph several courses use belongs to the course it was made for: a change to it
    changes every course using it, and its items carry their answers. So teachers of
    the owning course and the institution's admins manage it; a teacher whose course
    only uses it reads the graph and practises on it (README: teachers manage the
    courses they teach). ``course`` is one the actor teaches (checked by the caller).
    """
    owner = concept_map.owner_course_id
    if actor.is_admin or owner == course.id:
        return
    if owner is not None and course_role(actor, owner) == "teacher":
        return
    raise Forbidden(
        "This course uses a concept graph shared by its owning course: only that "
        "course's teachers and the institution's admins change it or see its item bank."
    )


def _map_for(actor: Actor, course_id: int, *, teach: bool = False) -> tuple[Course, ConceptMap]:
    """The course's map; ``teach``: for managing it (its items, concepts, mappings)."""
    course = _teachable_course(actor, course_id) if teach else _course(actor, course_id)
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        raise NotFound("This course has no concept graph yet.")
    if teach:
        _ensure_can_manage(actor, course, concept_map)
    return course, concept_map


def _ensure_map(actor: Actor, course_id: int) -> tuple[Course, ConceptMap]:
    """The course's map to change, creating an empty one on first use (teachers only)."""
    course = _teachable_course(actor, course_id)
    concept_map = course_concept_map(course.id)
    if concept_map is not None:
        _ensure_can_manage(actor, course, concept_map)
    else:
        concept_map = ConceptMap(
            institution_id=course.institution_id, name=course.title, owner_course_id=course.id
        )
        db.session.add(concept_map)
        db.session.flush()
        db.session.add(
            CourseConceptMap(
                course_id=course.id,
                institution_id=course.institution_id,
                concept_map_id=concept_map.id,
            )
        )
        db.session.flush()
    return course, concept_map


def list_concept_maps(actor: Actor) -> list[ConceptMap]:
    """Concept maps of the actor's institution (teachers and admins), to reuse."""
    if not actor.has_role("teacher", "admin"):
        raise Forbidden("Only teachers and admins browse concept graphs.")
    return list(
        db.session.scalars(
            select(ConceptMap)
            .where(ConceptMap.institution_id == actor.institution_id)
            .order_by(ConceptMap.id)
        )
    )


def use_concept_map(actor: Actor, course_id: int, concept_map_id: int) -> ConceptMap:
    """Make a course use an existing concept map of the same institution (reuse).

    The map stays its owning course's: teachers of this course read it, and change
    it only if they also teach that course (:func:`_ensure_can_manage`).
    """
    course = _teachable_course(actor, course_id)
    concept_map = db.session.get(ConceptMap, concept_map_id)
    if concept_map is None or concept_map.institution_id != course.institution_id:
        raise NotFound("No such concept graph.")
    link = db.session.get(CourseConceptMap, course.id)
    if link is None:
        db.session.add(
            CourseConceptMap(
                course_id=course.id,
                institution_id=course.institution_id,
                concept_map_id=concept_map.id,
            )
        )
    else:
        link.concept_map_id = concept_map.id
    db.session.commit()
    return concept_map


def _may_read_bank(actor: Actor, course: Course, concept_map: ConceptMap) -> bool:
    try:
        _ensure_can_manage(actor, course, concept_map)
    except Forbidden:
        return False
    return True


@dataclass
class MapCopy:
    """What :func:`copy_concept_map` made and carried over."""

    concept_map: ConceptMap
    copied_from_id: int
    concepts: int = 0
    prerequisites: int = 0
    items_copied: int = 0
    items_withheld: int = 0
    activity_mappings: int = 0
    students: int = 0


def copy_concept_map(actor: Actor, course_id: int, name: str | None = None) -> MapCopy:
    """Give a course using another course's concept graph its own copy of it (teachers).

    The copy belongs to the course, so its teachers change it from then on; the shared
    graph and the courses still using it are untouched. Copied: concepts (with their
    learned starting levels), prerequisites and xAPI activity mappings (no answers in
    them; without them the course's outside activities would stop counting). The items
    carry their answers, so they come along only for someone who may already read the
    shared bank (:func:`_ensure_can_manage`); for anyone else the copy starts with an
    empty bank and the count of items left behind says so.

    Learner state is keyed by concept id, so for everyone enrolled in the course each
    belief, mastery snapshot and evidence-trail row of a shared concept is copied to its
    copy: mastery reads the same right after. Assignments already generated keep their
    (shared) items; :func:`submit_answer` still takes them and the answer counts in the
    course's own graph (:func:`_resolve_target`). One transaction.
    """
    course = _teachable_course(actor, course_id)
    source = course_concept_map(course.id)
    if source is None:
        raise NotFound("This course has no concept graph yet.")
    if source.owner_course_id == course.id:
        raise Conflict("This course's concept graph is already its own: change it directly.")
    with_items = _may_read_bank(actor, course, source)
    target = ConceptMap(
        institution_id=course.institution_id,
        owner_course_id=course.id,
        name=(name or "").strip() or source.name,
        description=source.description or "",
    )
    db.session.add(target)
    db.session.flush()
    report = MapCopy(concept_map=target, copied_from_id=source.id)
    concepts = _copy_concepts(source, target, report)
    if with_items:
        _copy_items(source, target, concepts, report)
    else:
        report.items_withheld = db.session.scalar(
            select(func.count()).select_from(Item).where(Item.concept_map_id == source.id)
        )
    for mapping in db.session.scalars(
        select(ActivityMapping)
        .where(ActivityMapping.concept_map_id == source.id)
        .order_by(ActivityMapping.id)
    ):
        db.session.add(
            ActivityMapping(
                institution_id=target.institution_id,
                concept_map_id=target.id,
                activity_id=mapping.activity_id,
                concept_keys=list(mapping.concept_keys or []),
                difficulty_label=mapping.difficulty_label,
                difficulty=mapping.difficulty,
                difficulty_var=mapping.difficulty_var,
                response_count=mapping.response_count,
            )
        )
        report.activity_mappings += 1
    report.students = _carry_learners(
        course, source, target, {old.id: new.id for old, new in concepts}
    )
    db.session.get(CourseConceptMap, course.id).concept_map_id = target.id
    db.session.commit()
    return report


def _copy_concepts(
    source: ConceptMap, target: ConceptMap, report: MapCopy
) -> list[tuple[Concept, Concept]]:
    """Copy the concepts and prerequisite edges; ``(shared, copy)`` pairs."""
    pairs = []
    for concept in db.session.scalars(
        select(Concept).where(Concept.concept_map_id == source.id).order_by(Concept.id)
    ):
        copy = Concept(
            institution_id=target.institution_id,
            concept_map_id=target.id,
            key=concept.key,
            name=concept.name,
            description=concept.description or "",
            prior=dict(concept.prior) if concept.prior else None,
        )
        db.session.add(copy)
        pairs.append((concept, copy))
    db.session.flush()
    new_id = {old.id: new.id for old, new in pairs}
    edges = db.session.execute(
        select(ConceptPrerequisite.concept_id, ConceptPrerequisite.prerequisite_id).where(
            ConceptPrerequisite.concept_id.in_(list(new_id))
        )
    ).all()
    for concept_id, prerequisite_id in edges:
        db.session.add(
            ConceptPrerequisite(
                institution_id=target.institution_id,
                concept_id=new_id[concept_id],
                prerequisite_id=new_id[prerequisite_id],
            )
        )
    report.concepts, report.prerequisites = len(pairs), len(edges)
    return pairs


def _copy_items(
    source: ConceptMap,
    target: ConceptMap,
    concepts: list[tuple[Concept, Concept]],
    report: MapCopy,
) -> None:
    """Copy the item bank with its tags and what it learned of each item's difficulty."""
    new_id = {old.id: new.id for old, new in concepts}
    items = list(
        db.session.scalars(select(Item).where(Item.concept_map_id == source.id).order_by(Item.id))
    )
    copies = {}
    for item in items:
        copies[item.id] = Item(
            institution_id=target.institution_id,
            concept_map_id=target.id,
            key=item.key,
            kind=item.kind,
            prompt=item.prompt,
            choices=item.choices,
            answer=item.answer,
            difficulty_label=item.difficulty_label,
            difficulty=item.difficulty,
            difficulty_var=item.difficulty_var,
            response_count=item.response_count,
            correct_count=item.correct_count,
        )
        db.session.add(copies[item.id])
    db.session.flush()
    for item_id, concept_id in db.session.execute(
        select(ItemConcept.item_id, ItemConcept.concept_id).where(
            ItemConcept.item_id.in_(list(copies))
        )
    ).all():
        db.session.add(ItemConcept(item_id=copies[item_id].id, concept_id=new_id[concept_id]))
    report.items_copied = len(items)


def _carry_learners(
    course: Course, source: ConceptMap, target: ConceptMap, new_id: Mapping[int, int]
) -> int:
    """Copy what everyone enrolled in ``course`` has of each shared concept to its copy:
    engine beliefs, mastery snapshots and the evidence trail; returns how many students."""
    users = list(
        db.session.scalars(
            select(Enrollment.user_id).where(Enrollment.course_id == course.id).distinct()
        )
    )
    if not users or not new_id:
        return 0
    renames = {str(old): str(new) for old, new in new_id.items()}
    carried = set()
    for learner in db.session.scalars(
        select(LearnerModel)
        .where(LearnerModel.user_id.in_(users))
        .order_by(LearnerModel.user_id)
        .with_for_update()
    ):
        student = engine.StudentState.from_dict(learner.state)
        if not renames.keys() & student.concepts.keys():
            continue
        engine.copy_concepts(student, renames)
        learner.state = student.to_dict()
        learner.updated_at = utcnow()
        carried.add(learner.user_id)
    # Snapshots and trail are copied inside the database (INSERT ... SELECT): a class's
    # trail is a row per attempt and concept, hundreds of thousands for a term.
    db.session.flush()
    enrolled = select(Enrollment.user_id).where(Enrollment.course_id == course.id)
    shared, own = aliased(Concept), aliased(Concept)
    copy_of = and_(own.concept_map_id == target.id, own.key == shared.key)
    snapshot_columns = (
        "institution_id",
        "user_id",
        "concept_id",
        "mastery",
        "uncertainty",
        "peak_mastery",
        "attempts",
        "correct",
        "last_practiced_at",
    )
    db.session.execute(
        insert(MasteryState).from_select(
            snapshot_columns,
            select(
                MasteryState.institution_id,
                MasteryState.user_id,
                own.id,
                MasteryState.mastery,
                MasteryState.uncertainty,
                MasteryState.peak_mastery,
                MasteryState.attempts,
                MasteryState.correct,
                MasteryState.last_practiced_at,
            )
            .join(shared, shared.id == MasteryState.concept_id)
            .join(own, copy_of)
            .where(shared.concept_map_id == source.id, MasteryState.user_id.in_(enrolled)),
        )
    )
    db.session.execute(
        insert(AttemptConcept).from_select(
            ("attempt_id", "concept_id", "mastery_before", "mastery_after"),
            select(
                AttemptConcept.attempt_id,
                own.id,
                AttemptConcept.mastery_before,
                AttemptConcept.mastery_after,
            )
            .join(Attempt, Attempt.id == AttemptConcept.attempt_id)
            .join(shared, shared.id == AttemptConcept.concept_id)
            .join(own, copy_of)
            .where(shared.concept_map_id == source.id, Attempt.user_id.in_(enrolled)),
        )
    )
    db.session.flush()
    return len(carried)


def load_graph(concept_map_id: int) -> tuple[ConceptGraph, dict[str, Concept]]:
    """The pure graph of a concept map and its concept rows by key."""
    rows = list(
        db.session.scalars(
            select(Concept).where(Concept.concept_map_id == concept_map_id).order_by(Concept.key)
        )
    )
    by_id = {c.id: c for c in rows}
    graph = ConceptGraph()
    for c in rows:
        graph.add_concept(GraphConcept(c.key, c.name, c.description or ""))
    edges = db.session.execute(
        select(ConceptPrerequisite.concept_id, ConceptPrerequisite.prerequisite_id).where(
            ConceptPrerequisite.concept_id.in_(by_id)
        )
    )
    for concept_id, prereq_id in edges:
        graph.prerequisites[by_id[concept_id].key].add(by_id[prereq_id].key)
    return graph, {c.key: c for c in rows}


def get_graph(actor: Actor, course_id: int) -> tuple[ConceptMap, ConceptGraph]:
    """The course's concept graph (any member of the course may read it)."""
    _, concept_map = _map_for(actor, course_id)
    return concept_map, load_graph(concept_map.id)[0]


def _graph_error(exc: GraphError) -> ValidationFailed:
    if isinstance(exc, CycleError):
        return ValidationFailed(str(exc), errors=[field_error("prerequisites", str(exc))])
    return ValidationFailed(
        exc.message, errors=[field_error(e["path"], e["message"]) for e in exc.errors]
    )


def _write_graph(concept_map: ConceptMap, graph: ConceptGraph, *, prune: bool) -> None:
    """Make the stored map equal ``graph`` (``prune``: delete concepts not in it)."""
    _, rows = load_graph(concept_map.id)
    for key, concept in graph.concepts.items():
        row = rows.get(key)
        if row is None:
            row = Concept(
                institution_id=concept_map.institution_id,
                concept_map_id=concept_map.id,
                key=key,
                name=concept.name or key,
                description=concept.description,
            )
            db.session.add(row)
            rows[key] = row
        else:
            row.name = concept.name or key
            row.description = concept.description
    if prune:
        for key in [k for k in rows if k not in graph.concepts]:
            db.session.delete(rows.pop(key))
    db.session.flush()
    ids = [r.id for r in rows.values()]
    db.session.execute(delete(ConceptPrerequisite).where(ConceptPrerequisite.concept_id.in_(ids)))
    for prereq_key, concept_key in graph.edges():
        db.session.add(
            ConceptPrerequisite(
                institution_id=concept_map.institution_id,
                concept_id=rows[concept_key].id,
                prerequisite_id=rows[prereq_key].id,
            )
        )
    concept_map.updated_at = utcnow()
    db.session.flush()


def import_graph(
    actor: Actor, course_id: int, payload: str | Mapping, fmt: str = "json", replace: bool = False
) -> ConceptGraph:
    """Import concepts and prerequisites (JSON document or CSV text) into the course's map.

    Concepts in the document are created or updated and their prerequisites set
    to the document's; with ``replace`` concepts missing from it are deleted.
    The merged graph is checked before anything is written: a cycle is refused
    (422) with the cycle named.
    """
    _, concept_map = _ensure_map(actor, course_id)
    try:
        if fmt == "csv":
            document = document_from_csv(str(payload))
        elif isinstance(payload, Mapping):
            document = payload
        else:
            document = document_from_json(str(payload))
        # Prerequisites may point at concepts already stored (merge), unless replacing.
        merged = ConceptGraph() if replace else load_graph(concept_map.id)[0]
        merged.merge(document)
    except GraphError as exc:
        db.session.rollback()
        raise _graph_error(exc) from exc
    _write_graph(concept_map, merged, prune=replace)
    db.session.commit()
    return merged


def export_graph(actor: Actor, course_id: int, fmt: str = "json") -> str:
    """The course's concept graph as JSON or CSV text."""
    _, graph = get_graph(actor, course_id)
    return graph.to_csv() if fmt == "csv" else graph.to_json()


def upsert_concept(
    actor: Actor,
    course_id: int,
    key: str,
    *,
    name: str | None = None,
    description: str | None = None,
    prerequisites: Sequence[str] | None = None,
) -> Concept:
    """Create or update one concept; ``prerequisites`` (if given) replaces its edges."""
    _, concept_map = _ensure_map(actor, course_id)
    graph, rows = load_graph(concept_map.id)
    existing = graph.concepts.get(key)
    try:
        graph.add_concept(
            GraphConcept(
                key,
                name if name is not None else (existing.name if existing else key),
                description
                if description is not None
                else (existing.description if existing else ""),
            )
        )
        if prerequisites is not None:
            unknown = [p for p in prerequisites if p not in graph.concepts]
            if unknown:
                raise ValidationFailed(
                    "Unknown prerequisite concept(s): " + ", ".join(unknown),
                    errors=[
                        field_error(f"prerequisites[{i}]", f"unknown concept {p!r}")
                        for i, p in enumerate(prerequisites)
                        if p in unknown
                    ],
                )
            graph.set_prerequisites(key, prerequisites)
    except GraphError as exc:
        db.session.rollback()
        raise _graph_error(exc) from exc
    except ValidationFailed:
        db.session.rollback()
        raise
    _write_graph(concept_map, graph, prune=False)
    db.session.commit()
    return load_graph(concept_map.id)[1][key]


def delete_concept(actor: Actor, course_id: int, key: str) -> None:
    """Delete a concept with its edges, tags and mastery rows."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    row = db.session.scalar(
        select(Concept).where(Concept.concept_map_id == concept_map.id, Concept.key == key)
    )
    if row is None:
        raise NotFound("No such concept.")
    db.session.delete(row)
    db.session.commit()


def concept_rows(concept_map_id: int) -> dict[str, Concept]:
    """Concept rows of a map by key."""
    return {
        c.key: c
        for c in db.session.scalars(select(Concept).where(Concept.concept_map_id == concept_map_id))
    }


# -- item bank -------------------------------------------------------------------------


@dataclass
class ItemView:
    """An item with its concept keys (what the API shows)."""

    item: Item
    concept_keys: list[str]

    def __getattr__(self, name):
        return getattr(self.item, name)


def _label_difficulty(label: str) -> float:
    return LABEL_DIFFICULTY.get(label, 0.0)


def _validate_item(data: Mapping, concepts: Mapping[str, Concept], path: str = "") -> list[dict]:
    errors = []
    prefix = f"{path}." if path else ""
    kind = data.get("kind")
    if kind not in ITEM_KINDS:
        errors.append(field_error(f"{prefix}kind", f"must be one of {', '.join(ITEM_KINDS)}"))
    label = data.get("difficulty_label", "medium")
    if label not in DIFFICULTY_LABELS:
        errors.append(field_error(f"{prefix}difficulty_label", "must be easy, medium or hard"))
    keys = data.get("concepts") or []
    if not keys:
        errors.append(field_error(f"{prefix}concepts", "tag at least one concept"))
    for i, k in enumerate(keys):
        if k not in concepts:
            errors.append(field_error(f"{prefix}concepts[{i}]", f"unknown concept {k!r}"))
    answer = data.get("answer") or {}
    choices = data.get("choices") or []
    if kind == "multiple_choice":
        ids = [str(c.get("id")) for c in choices if isinstance(c, Mapping)]
        if len(ids) < 2 or len(ids) != len(choices):
            errors.append(field_error(f"{prefix}choices", "give at least two {id, text} choices"))
        correct = answer.get("correct")
        if not isinstance(correct, list) or not correct or not all(str(c) in ids for c in correct):
            errors.append(
                field_error(f"{prefix}answer.correct", "list the id(s) of the correct choice(s)")
            )
    elif kind == "numeric":
        value = answer.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(field_error(f"{prefix}answer.value", "must be a number"))
        tolerance = answer.get("tolerance", 0)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
            errors.append(field_error(f"{prefix}answer.tolerance", "must be a number >= 0"))
    elif kind == "short_text":
        accepted = answer.get("accepted")
        if (
            not isinstance(accepted, list)
            or not accepted
            or not all(isinstance(a, str) and a.strip() for a in accepted)
        ):
            errors.append(
                field_error(f"{prefix}answer.accepted", "list at least one accepted answer")
            )
    return errors


def _item_view(item: Item) -> ItemView:
    keys = list(
        db.session.scalars(
            select(Concept.key)
            .join(ItemConcept, ItemConcept.concept_id == Concept.id)
            .where(ItemConcept.item_id == item.id)
            .order_by(Concept.key)
        )
    )
    return ItemView(item, keys)


def _apply_item(item: Item, data: Mapping, concepts: Mapping[str, Concept]) -> None:
    label = data.get("difficulty_label", item.difficulty_label or "medium")
    if item.id is None or item.difficulty_label != label and not item.response_count:
        # An item nobody answered yet takes its difficulty from the label.
        item.difficulty = _label_difficulty(label)
    item.difficulty_label = label
    for name in ("kind", "prompt", "answer"):
        if name in data:
            setattr(item, name, data[name])
    if "choices" in data:
        item.choices = data["choices"] or None
    if "concepts" in data:
        if item.id is not None:
            db.session.execute(delete(ItemConcept).where(ItemConcept.item_id == item.id))
        db.session.flush()
        for k in dict.fromkeys(data["concepts"]):
            db.session.add(ItemConcept(item_id=item.id, concept_id=concepts[k].id))


def create_item(actor: Actor, course_id: int, data: Mapping) -> ItemView:
    """Add an item to the course's bank (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    concepts = concept_rows(concept_map.id)
    errors = _validate_item(data, concepts)
    if errors:
        raise ValidationFailed("The item is not valid.", errors=errors)
    key = data.get("key") or uuid.uuid4().hex[:12]
    if db.session.scalar(
        select(Item.id).where(Item.concept_map_id == concept_map.id, Item.key == key)
    ):
        raise Conflict(f"An item with key {key!r} already exists.")
    item = Item(
        institution_id=concept_map.institution_id,
        concept_map_id=concept_map.id,
        key=key,
        kind=data["kind"],
        prompt=data.get("prompt", ""),
        answer=data.get("answer") or {},
    )
    db.session.add(item)
    db.session.flush()
    _apply_item(item, data, concepts)
    db.session.commit()
    return _item_view(item)


def _item_in_map(concept_map: ConceptMap, item_id: int) -> Item:
    item = db.session.get(Item, item_id)
    if item is None or item.concept_map_id != concept_map.id:
        raise NotFound("No such item.")
    return item


def get_item(actor: Actor, course_id: int, item_id: int) -> ItemView:
    """One item with its answer (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    return _item_view(_item_in_map(concept_map, item_id))


def update_item(actor: Actor, course_id: int, item_id: int, changes: Mapping) -> ItemView:
    """Change an item; the merged item is validated like a new one."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    item = _item_in_map(concept_map, item_id)
    concepts = concept_rows(concept_map.id)
    current = _item_view(item)
    merged = {
        "kind": item.kind,
        "prompt": item.prompt,
        "choices": item.choices,
        "answer": item.answer,
        "difficulty_label": item.difficulty_label,
        "concepts": current.concept_keys,
        **changes,
    }
    errors = _validate_item(merged, concepts)
    if errors:
        raise ValidationFailed("The item is not valid.", errors=errors)
    _apply_item(item, changes, concepts)
    db.session.commit()
    return _item_view(item)


def delete_item(actor: Actor, course_id: int, item_id: int) -> None:
    """Remove an item from the bank (attempts keep their history)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    db.session.delete(_item_in_map(concept_map, item_id))
    db.session.commit()


def list_items(actor: Actor, course_id: int, concept_key: str | None = None) -> list[ItemView]:
    """The course's item bank, optionally only one concept's items (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    query = select(Item).where(Item.concept_map_id == concept_map.id).order_by(Item.id)
    if concept_key:
        query = (
            query.join(ItemConcept, ItemConcept.item_id == Item.id)
            .join(Concept, Concept.id == ItemConcept.concept_id)
            .where(Concept.key == concept_key)
        )
    return [_item_view(i) for i in db.session.scalars(query)]


def _item_document(view: ItemView) -> dict:
    return {
        "key": view.item.key,
        "kind": view.item.kind,
        "prompt": view.item.prompt,
        "concepts": view.concept_keys,
        "difficulty_label": view.item.difficulty_label,
        "choices": view.item.choices or [],
        "answer": view.item.answer,
    }


def export_items(actor: Actor, course_id: int, fmt: str = "json") -> str:
    """The bank as JSON (``{"items": [...]}``) or CSV (choices and answer as JSON cells)."""
    documents = [_item_document(v) for v in list_items(actor, course_id)]
    if fmt != "csv":
        return json.dumps({"items": documents}, indent=2, ensure_ascii=False)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ITEM_CSV_COLUMNS)
    for d in documents:
        writer.writerow(
            [
                d["key"],
                d["kind"],
                d["prompt"],
                "|".join(d["concepts"]),
                d["difficulty_label"],
                json.dumps(d["choices"], ensure_ascii=False) if d["choices"] else "",
                json.dumps(d["answer"], ensure_ascii=False),
            ]
        )
    return out.getvalue()


def _items_from_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"key", "kind", "prompt", "concepts", "answer"} - set(reader.fieldnames or ())
    if missing:
        raise ValidationFailed(
            "The CSV header lacks: " + ", ".join(sorted(missing)),
            errors=[field_error("header", f"missing column {m!r}") for m in sorted(missing)],
        )
    documents = []
    for n, row in enumerate(reader):
        try:
            choices = json.loads(row["choices"]) if (row.get("choices") or "").strip() else []
            answer = json.loads(row["answer"])
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                "A JSON cell could not be read.",
                errors=[field_error(f"items[{n}]", f"choices/answer: {exc.msg}")],
            ) from exc
        documents.append(
            {
                "key": row["key"].strip(),
                "kind": row["kind"].strip(),
                "prompt": row["prompt"],
                "concepts": [k.strip() for k in row["concepts"].split("|") if k.strip()],
                "difficulty_label": (row.get("difficulty") or "medium").strip() or "medium",
                "choices": choices,
                "answer": answer,
            }
        )
    return documents


def import_items(actor: Actor, course_id: int, payload, fmt: str = "json") -> dict:
    """Create or update items by key from JSON (``{"items": [...]}``) or CSV; all or nothing."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    if fmt == "csv":
        documents = _items_from_csv(str(payload))
    else:
        document = payload if isinstance(payload, Mapping) else _json_or_422(str(payload))
        documents = document.get("items") if isinstance(document, Mapping) else None
        if not isinstance(documents, list):
            raise ValidationFailed(
                'Send {"items": [...]}.', errors=[field_error("items", "must be a list")]
            )
    concepts = concept_rows(concept_map.id)
    errors: list[dict] = []
    seen: set[str] = set()
    for i, d in enumerate(documents):
        if not isinstance(d, Mapping):
            errors.append(field_error(f"items[{i}]", "must be an object"))
            continue
        errors.extend(_validate_item(d, concepts, f"items[{i}]"))
        key = d.get("key")
        if not isinstance(key, str) or not key.strip():
            errors.append(field_error(f"items[{i}].key", "required"))
        elif key in seen:
            errors.append(field_error(f"items[{i}].key", f"duplicate key {key!r}"))
        else:
            seen.add(key)
    if errors:
        raise ValidationFailed(f"{len(errors)} problem(s) in the items.", errors=errors)
    existing = {
        i.key: i
        for i in db.session.scalars(select(Item).where(Item.concept_map_id == concept_map.id))
    }
    created = updated = 0
    for d in documents:
        item = existing.get(d["key"])
        if item is None:
            item = Item(
                institution_id=concept_map.institution_id,
                concept_map_id=concept_map.id,
                key=d["key"],
                kind=d["kind"],
                prompt=d.get("prompt", ""),
                answer=d["answer"],
            )
            db.session.add(item)
            db.session.flush()
            created += 1
        else:
            updated += 1
        _apply_item(item, d, concepts)
    db.session.commit()
    return {"created": created, "updated": updated}


def _json_or_422(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            "The body is not valid JSON.", errors=[field_error("$", exc.msg)]
        ) from exc


_SPACES = re.compile(r"\s+")


def grade_response(item: Item, response) -> tuple[bool, float]:
    """Grade a response server-side: ``(correct, score 0..1)``.

    Multiple choice: ``{"choice": "b"}`` or ``{"choices": ["a", "c"]}`` (exact set);
    numeric: ``{"value": 2.5}`` within the tolerance (anything that is not a finite
    number: ValidationFailed); short text: ``{"text": "..."}``
    matched against the accepted answers ignoring case and spacing unless
    ``case_sensitive``.
    """
    if not isinstance(response, Mapping):
        response = {"value": response}
    answer = item.answer or {}
    if item.kind == "multiple_choice":
        given = response.get("choices")
        if given is None:
            given = [response.get("choice", response.get("value"))]
        given_set = {str(g) for g in given if g is not None}
        correct_set = {str(c) for c in answer.get("correct", [])}
        ok = given_set == correct_set
        return ok, 1.0 if ok else 0.0
    if item.kind == "numeric":
        raw = response.get("value", response.get("text"))
        try:
            value = float(str(raw).strip().replace(",", "."))
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            # A typo ("2.5x", "") is not a wrong answer: counting it would lower the
            # student's mastery for a slip of the keyboard. Nothing is recorded.
            raise ValidationFailed(
                "A numeric question takes a number.",
                errors=[field_error("response.value", "a number, such as 2.5 or 2,5")],
            )
        tolerance = float(answer.get("tolerance", 0) or 0)
        ok = abs(value - float(answer["value"])) <= tolerance + 1e-9
        return ok, 1.0 if ok else 0.0
    text = str(response.get("text", response.get("value", "")) or "")
    sensitive = bool(answer.get("case_sensitive"))

    def norm(s: str) -> str:
        s = _SPACES.sub(" ", s.strip())
        return s if sensitive else s.casefold()

    ok = norm(text) in {norm(a) for a in answer.get("accepted", [])}
    return ok, 1.0 if ok else 0.0


# -- activity mappings -------------------------------------------------------------------


def create_activity_mapping(
    actor: Actor,
    course_id: int,
    *,
    activity_id: str,
    concept_keys: Sequence[str],
    difficulty_label: str = "medium",
) -> ActivityMapping:
    """Count an outside xAPI activity as practice of ``concept_keys`` (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    concepts = concept_rows(concept_map.id)
    unknown = [k for k in concept_keys if k not in concepts]
    if not concept_keys or unknown:
        raise ValidationFailed(
            "Map the activity to known concepts.",
            errors=[field_error("concept_keys", "unknown: " + ", ".join(unknown) or "empty")],
        )
    mapping = db.session.scalar(
        select(ActivityMapping).where(
            ActivityMapping.concept_map_id == concept_map.id,
            ActivityMapping.activity_id == activity_id,
        )
    )
    if mapping is None:
        mapping = ActivityMapping(
            institution_id=concept_map.institution_id,
            concept_map_id=concept_map.id,
            activity_id=activity_id,
        )
        db.session.add(mapping)
    if mapping.difficulty_label != difficulty_label or mapping.id is None:
        if not mapping.response_count:
            mapping.difficulty = _label_difficulty(difficulty_label)
    mapping.concept_keys = list(dict.fromkeys(concept_keys))
    mapping.difficulty_label = difficulty_label
    db.session.commit()
    return mapping


def list_activity_mappings(actor: Actor, course_id: int) -> list[ActivityMapping]:
    """Activity mappings of the course's concept map (teachers)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    return list(
        db.session.scalars(
            select(ActivityMapping)
            .where(ActivityMapping.concept_map_id == concept_map.id)
            .order_by(ActivityMapping.id)
        )
    )


def delete_activity_mapping(actor: Actor, course_id: int, mapping_id: int) -> None:
    """Stop counting an outside activity (attempts already recorded stay)."""
    _, concept_map = _map_for(actor, course_id, teach=True)
    mapping = db.session.get(ActivityMapping, mapping_id)
    if mapping is None or mapping.concept_map_id != concept_map.id:
        raise NotFound("No such activity mapping.")
    db.session.delete(mapping)
    db.session.commit()


# -- attempts ----------------------------------------------------------------------------


def _resolve_target(
    institution_id: int, item_id: int | None, activity_id: str | None, course_id: int | None
) -> tuple[Item | None, ActivityMapping | None, list[Concept]]:
    """The item or mapping an attempt is about and the concepts it exercises."""
    if item_id is not None:
        item = db.session.get(Item, item_id)
        if item is None or item.institution_id != institution_id:
            raise NotFound("No such item.")
        concepts = list(
            db.session.scalars(
                select(Concept)
                .join(ItemConcept, ItemConcept.concept_id == Concept.id)
                .where(ItemConcept.item_id == item.id)
                .order_by(Concept.id)
            )
        )
        concept_map = course_concept_map(course_id) if course_id is not None else None
        if concept_map is not None and concept_map.id != item.concept_map_id:
            # An item of the graph the course used before (an assignment generated before
            # it copied that graph): the answer is practice of the course's own concepts.
            own = list(
                db.session.scalars(
                    select(Concept)
                    .where(
                        Concept.concept_map_id == concept_map.id,
                        Concept.key.in_([c.key for c in concepts]),
                    )
                    .order_by(Concept.id)
                )
            )
            concepts = own or concepts
        return item, None, concepts
    if not activity_id:
        return None, None, []
    query = select(ActivityMapping).where(
        ActivityMapping.institution_id == institution_id,
        ActivityMapping.activity_id == activity_id,
    )
    concept_map = course_concept_map(course_id) if course_id is not None else None
    if concept_map is not None:
        query = query.where(ActivityMapping.concept_map_id == concept_map.id)
    mapping = db.session.scalars(query.order_by(ActivityMapping.id)).first()
    if mapping is None:
        return None, None, []
    concepts = list(
        db.session.scalars(
            select(Concept)
            .where(
                Concept.concept_map_id == mapping.concept_map_id,
                Concept.key.in_(mapping.concept_keys or []),
            )
            .order_by(Concept.id)
        )
    )
    return None, mapping, concepts


def _learner(institution_id: int, user_id: int, *, lock: bool) -> LearnerModel:
    query = select(LearnerModel).where(LearnerModel.user_id == user_id)
    if lock:
        # Two attempts of one student at once must not overwrite each other's update.
        query = query.with_for_update()
    learner = db.session.scalar(query)
    if learner is None:
        learner = LearnerModel(
            institution_id=institution_id,
            user_id=user_id,
            state=engine.StudentState.new(mastery_params()).to_dict(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(learner)
        except IntegrityError:
            learner = db.session.scalar(query)
    return learner


def _prerequisite_ids(concept_map_ids: Iterable[int]) -> dict[str, list[str]]:
    """Engine-side prerequisites: concept id text -> prerequisite id texts."""
    rows = db.session.execute(
        select(ConceptPrerequisite.concept_id, ConceptPrerequisite.prerequisite_id)
        .join(Concept, Concept.id == ConceptPrerequisite.concept_id)
        .where(Concept.concept_map_id.in_(list(concept_map_ids)))
    )
    found: dict[str, list[str]] = {}
    for concept_id, prereq_id in rows:
        found.setdefault(str(concept_id), []).append(str(prereq_id))
    return found


def _concept_priors(concepts: Iterable[Concept]) -> dict[str, engine.ConceptPrior]:
    """Engine-side concept priors (starting levels) of the concepts that have one."""
    return {str(c.id): engine.ConceptPrior.from_dict(c.prior) for c in concepts if c.prior}


def _parse_bool(value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "t", "yes", "y", "correct"}:
        return True
    if text in {"0", "false", "f", "no", "n", "incorrect", "wrong"}:
        return False
    return None


def record_attempt(
    institution_id: int,
    user_id: int,
    *,
    occurred_at: datetime,
    source: str,
    source_id: str,
    correct: bool | None = None,
    score: float | None = None,
    item_id: int | None = None,
    activity_id: str | None = None,
    duration_s: float | None = None,
    course_id: int | None = None,
    response=None,
    lookups: dict | None = None,
) -> Attempt | None:
    """Store one attempt and update the student's mastery at once.

    The single entry point of all three roads (player, xAPI projection, bulk
    import). Idempotent on ``(institution_id, source, source_id)``: a repeat
    returns the stored attempt without counting it again. Returns None when the
    attempt is about no known concept (an xAPI activity nobody mapped). ``score``
    is scaled 0..1; when ``correct`` is None it is ``score >= 0.5``.

    ``lookups`` is a dict a caller recording many attempts in one transaction passes to
    every call, so the item or mapping, its concepts and their prerequisites are read
    once per target rather than once per attempt (the xAPI projection, per chunk).

    Flushes but does not commit: the caller owns the transaction.
    """
    if source not in ATTEMPT_SOURCES:
        raise ValueError(f"unknown attempt source {source!r}")
    if correct is None:
        if score is None:
            raise ValidationFailed(
                "An attempt needs correct or score.",
                errors=[field_error("correct", "give correct or a scaled score")],
            )
        correct = float(score) >= 0.5
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    existing = db.session.scalar(
        select(Attempt).where(
            Attempt.institution_id == institution_id,
            Attempt.source == source,
            Attempt.source_id == source_id,
        )
    )
    if existing is not None:
        return existing
    target_key = ("mastery-target", institution_id, item_id, activity_id, course_id)
    if lookups is not None and target_key in lookups:
        item, mapping, concepts = lookups[target_key]
    else:
        item, mapping, concepts = _resolve_target(institution_id, item_id, activity_id, course_id)
        if lookups is not None:
            lookups[target_key] = (item, mapping, concepts)
    if not concepts:
        return None
    attempt = Attempt(
        institution_id=institution_id,
        user_id=user_id,
        course_id=course_id,
        item_id=item.id if item else None,
        activity_id=activity_id,
        source=source,
        source_id=source_id,
        occurred_at=occurred_at,
        correct=bool(correct),
        score=score,
        duration_s=duration_s,
        response=response,
    )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        # The same source id arrived concurrently: the other request counted it.
        return db.session.scalar(
            select(Attempt).where(
                Attempt.institution_id == institution_id,
                Attempt.source == source,
                Attempt.source_id == source_id,
            )
        )
    _apply_to_mastery(institution_id, user_id, attempt, item, mapping, concepts, lookups)
    _link_assignment(user_id, attempt)
    db.session.flush()
    return attempt


def _item_state(params, target: Item | ActivityMapping | None) -> engine.ItemState:
    """The engine's view of what was answered (an unmapped activity: a neutral item)."""
    return engine.ItemState(
        difficulty=target.difficulty if target is not None else 0.0,
        var=target.difficulty_var
        if target is not None and target.difficulty_var is not None
        else params.item_var,
        responses=target.response_count if target is not None else 0,
    )


def _answer(
    params, student, item_state, keys: list[str], attempt: Attempt, threshold, prerequisites, priors
) -> dict:
    """Apply one attempt to ``student`` (and ``item_state``); returns each concept's
    mastery just before it, for the attempt's trail. Live attempts and the replay after
    a voided one go through here, so both learn alike."""
    before = {
        k: engine.concept_mastery(
            params, student, k, attempt.occurred_at, threshold, prerequisites, priors
        )
        for k in keys
    }
    engine.update(
        params,
        student,
        item_state,
        keys,
        attempt.correct,
        attempt.occurred_at,
        attempt.duration_s,
        prerequisites,
        priors,
    )
    return before


def _store_state(
    states: dict, institution_id: int, user_id: int, concept_id: int, after, practiced_at
) -> MasteryState:
    """Write a concept's mastery after an attempt into its row (made when missing)."""
    row = states.get(concept_id)
    if row is None:
        row = MasteryState(institution_id=institution_id, user_id=user_id, concept_id=concept_id)
        db.session.add(row)
    row.mastery = after.mastery
    row.uncertainty = after.uncertainty
    row.peak_mastery = after.peak_mastery if after.peak_mastery is not None else after.mastery
    row.attempts = after.attempts
    row.correct = after.correct
    row.last_practiced_at = practiced_at
    return row


def _apply_to_mastery(
    institution_id: int,
    user_id: int,
    attempt: Attempt,
    item: Item | None,
    mapping: ActivityMapping | None,
    concepts: list[Concept],
    lookups: dict | None = None,
) -> None:
    params = mastery_params()
    threshold = _threshold()
    learner = _learner(institution_id, user_id, lock=True)
    student = engine.StudentState.from_dict(learner.state)
    target = item or mapping
    item_state = _item_state(params, target)
    keys = [str(c.id) for c in concepts]
    map_ids = frozenset(c.concept_map_id for c in concepts)
    prerequisites_key = ("mastery-prerequisites", map_ids)
    if lookups is not None and prerequisites_key in lookups:
        prerequisites = lookups[prerequisites_key]
    else:
        prerequisites = _prerequisite_ids(map_ids)
        if lookups is not None:
            lookups[prerequisites_key] = prerequisites
    # Where students start on each concept, learned from everyone's first attempts.
    priors = _concept_priors(concepts)
    before = _answer(params, student, item_state, keys, attempt, threshold, prerequisites, priors)
    for concept in concepts:
        if str(concept.id) in priors:
            concept.prior = priors[str(concept.id)].to_dict()
    learner.state = student.to_dict()
    learner.updated_at = utcnow()
    if target is not None:
        target.difficulty = item_state.difficulty
        target.difficulty_var = item_state.var
        target.response_count = (target.response_count or 0) + 1
        if item is not None:
            item.correct_count = (item.correct_count or 0) + (1 if attempt.correct else 0)
    states = {
        s.concept_id: s
        for s in db.session.scalars(
            select(MasteryState).where(
                MasteryState.user_id == user_id,
                MasteryState.concept_id.in_([c.id for c in concepts]),
            )
        )
    }
    for concept in concepts:
        key = str(concept.id)
        after = engine.concept_mastery(
            params, student, key, attempt.occurred_at, threshold, prerequisites, priors
        )
        _store_state(states, institution_id, user_id, concept.id, after, attempt.occurred_at)
        db.session.add(
            AttemptConcept(
                attempt_id=attempt.id,
                concept_id=concept.id,
                mastery_before=before[key].mastery,
                mastery_after=after.mastery,
            )
        )


def _link_assignment(user_id: int, attempt: Attempt) -> None:
    """Mark the student's open assignment item answered by this attempt, if any."""
    if attempt.item_id is None:
        return
    pick = db.session.scalar(
        select(AssignmentItem)
        .join(Assignment, Assignment.id == AssignmentItem.assignment_id)
        .where(
            Assignment.user_id == user_id,
            Assignment.status == "open",
            AssignmentItem.item_id == attempt.item_id,
            AssignmentItem.attempt_id.is_(None),
        )
        .order_by(Assignment.id)
    )
    if pick is None:
        return
    pick.attempt_id = attempt.id
    db.session.flush()
    remaining = db.session.scalar(
        select(func.count())
        .select_from(AssignmentItem)
        .where(
            AssignmentItem.assignment_id == pick.assignment_id, AssignmentItem.attempt_id.is_(None)
        )
    )
    if not remaining:
        assignment = db.session.get(Assignment, pick.assignment_id)
        assignment.status = "completed"
        # Remembered for the caller that commits: `announce_completed_assignments`.
        _completed_assignments.add(db.session, [assignment.id])


# Announcing runs SQL, so the ids wait for the caller's commit instead of a hook. One
# completed inside a savepoint that then rolled back is no longer "completed" and is
# not announced.
_completed_assignments = OnCommit("mastery-completed-assignments")


def withdraw_attempts(institution_id: int, source: str, source_ids: Sequence[str]) -> int:
    """Remove attempts whose evidence was withdrawn (a voided xAPI statement) and
    recompute each affected student's mastery from the attempts left; returns how many
    attempts went.

    One attempt cannot be subtracted from a student's model (every later update built
    on it), so the student's learner model, concept snapshots and evidence trail are
    replayed through the engine from the remaining attempts, oldest first. Shared state
    learned from everyone (item difficulties, concept priors) keeps what it learned: one
    answer fewer moves it little and it cannot be unlearned exactly; the item's answer
    counts are corrected. Joins the caller's transaction (no commit).
    """
    if not source_ids:
        return 0
    attempts = list(
        db.session.scalars(
            select(Attempt).where(
                Attempt.institution_id == institution_id,
                Attempt.source == source,
                Attempt.source_id.in_(list(source_ids)),
            )
        )
    )
    if not attempts:
        return 0
    users = sorted({attempt.user_id for attempt in attempts})
    for user_id in users:
        # Lock first, as record_attempt does: an answer of the same student arriving
        # meanwhile waits for the replay instead of updating the model being rebuilt.
        _learner(institution_id, user_id, lock=True)
    for attempt in attempts:
        _uncount(institution_id, attempt)
    ids = [attempt.id for attempt in attempts]
    db.session.execute(delete(AttemptConcept).where(AttemptConcept.attempt_id.in_(ids)))
    db.session.execute(
        delete(Attempt).where(Attempt.id.in_(ids)).execution_options(synchronize_session=False)
    )
    for attempt in attempts:
        db.session.expunge(attempt)
    for user_id in users:
        _replay_student(institution_id, user_id)
    db.session.flush()
    return len(ids)


def _uncount(institution_id: int, attempt: Attempt) -> None:
    """Take an attempt out of its item's (or activity mapping's) answer counts."""
    if attempt.item_id is not None:
        target = db.session.get(Item, attempt.item_id)
    elif attempt.activity_id:
        _, target, _ = _resolve_target(institution_id, None, attempt.activity_id, attempt.course_id)
    else:
        target = None
    if target is None:
        return
    target.response_count = max((target.response_count or 0) - 1, 0)
    if isinstance(target, Item) and attempt.correct:
        target.correct_count = max((target.correct_count or 0) - 1, 0)


def _replay_student(institution_id: int, user_id: int) -> None:
    """Rebuild one student's learner model, mastery snapshots and evidence trail from
    their stored attempts, as ``_apply_to_mastery`` built them one attempt at a time."""
    params, threshold = mastery_params(), _threshold()
    learner = _learner(institution_id, user_id, lock=True)
    attempts = list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.institution_id == institution_id, Attempt.user_id == user_id)
            .order_by(Attempt.occurred_at, Attempt.id)
        )
    )
    concepts_of: dict[int, list[int]] = {}
    if attempts:
        for attempt_id, concept_id in db.session.execute(
            select(AttemptConcept.attempt_id, AttemptConcept.concept_id).where(
                AttemptConcept.attempt_id.in_([a.id for a in attempts])
            )
        ):
            concepts_of.setdefault(attempt_id, []).append(concept_id)
    concept_rows = {
        c.id: c
        for c in db.session.scalars(
            select(Concept).where(
                Concept.id.in_(sorted({c for ids in concepts_of.values() for c in ids}))
            )
        )
    }
    prerequisites = _prerequisite_ids({c.concept_map_id for c in concept_rows.values()})
    # A copy: the replay must not teach the shared priors this student's answers again.
    priors = _concept_priors(concept_rows.values())
    items = {
        i.id: i
        for i in db.session.scalars(
            select(Item).where(Item.id.in_(sorted({a.item_id for a in attempts if a.item_id})))
        )
    }
    mappings: dict[tuple[str, int | None], ActivityMapping | None] = {}
    student = engine.StudentState.new(params)
    latest: dict[int, tuple[engine.ConceptMastery, datetime]] = {}
    trail = []
    for attempt in attempts:
        concept_ids, copies = _replayed_concepts(concepts_of.get(attempt.id, []), concept_rows)
        if not concept_ids:
            continue
        if attempt.item_id is not None:
            target = items.get(attempt.item_id)
        else:
            key = (attempt.activity_id or "", attempt.course_id)
            if key not in mappings:
                mappings[key] = _resolve_target(
                    institution_id, None, attempt.activity_id, attempt.course_id
                )[1]
            target = mappings[key]
        item_state = _item_state(params, target)
        keys = [str(c) for c in concept_ids]
        before = _answer(
            params, student, item_state, keys, attempt, threshold, prerequisites, priors
        )
        engine.copy_concepts(student, {str(o): str(c) for c, o in copies.items()})
        for concept_id, k in [*zip(concept_ids, keys, strict=True), *copies.items()]:
            k = str(copies.get(concept_id, k))
            after = engine.concept_mastery(
                params, student, k, attempt.occurred_at, threshold, prerequisites, priors
            )
            latest[concept_id] = (after, attempt.occurred_at)
            trail.append(
                {
                    "attempt_id": attempt.id,
                    "concept_id": concept_id,
                    "mastery_before": before[k].mastery,
                    "mastery_after": after.mastery,
                }
            )
    learner.state = student.to_dict()
    learner.updated_at = utcnow()
    if trail:
        db.session.execute(update(AttemptConcept), trail)
    states = {
        s.concept_id: s
        for s in db.session.scalars(select(MasteryState).where(MasteryState.user_id == user_id))
    }
    for concept_id, row in states.items():
        if concept_id not in latest:
            db.session.delete(row)
    for concept_id, (after, practiced_at) in latest.items():
        _store_state(states, institution_id, user_id, concept_id, after, practiced_at)


def _replayed_concepts(
    concept_ids: Iterable[int], rows: Mapping[int, Concept]
) -> tuple[list[int], dict[int, int]]:
    """The concepts an attempt is replayed on, and the copies that follow them.

    An attempt is recorded on the concepts of one graph. Its evidence on other graphs'
    concepts was copied there when a course copied that graph (:func:`copy_concept_map`),
    and those graphs are newer: so the oldest graph's concepts are the ones answered, and
    each later concept mirrors the answered concept of its key (``copy -> answered``), as
    it did when the copy was made."""
    present = sorted(c for c in concept_ids if c in rows)
    if not present:
        return [], {}
    answered_map = min(rows[c].concept_map_id for c in present)
    answered = [c for c in present if rows[c].concept_map_id == answered_map]
    by_key = {rows[c].key: c for c in answered}
    copies = {
        c: by_key[rows[c].key]
        for c in present
        if rows[c].concept_map_id != answered_map and rows[c].key in by_key
    }
    return answered, copies


def announce_completed_assignments() -> None:
    """After the caller's commit: announce the placed assignments its attempts completed,
    whichever way the last answer came (the player, an import), so the grade reaches
    the LMS. Runs SQL, so never from inside a commit hook."""
    for assignment_id in sorted(_completed_assignments.take(db.session)):
        _announce_completed_placement(assignment_id)


@dataclass
class SubmissionResult:
    """What a student learns right after answering."""

    attempt: Attempt
    correct: bool
    score: float
    duplicate: bool
    mastery: list[dict]


def submit_answer(
    actor: Actor,
    course_id: int,
    item_id: int,
    response,
    *,
    attempt_key: str | None = None,
    duration_s: float | None = None,
) -> SubmissionResult:
    """A student answers an item of the course: graded here, recorded, mastery updated.

    ``attempt_key`` (a client-made id) makes a retried submission count once.
    """
    course = _course(actor, course_id)
    if course_role(actor, course.id) != "student":
        raise Forbidden("Only the course's students submit answers.")
    concept_map = course_concept_map(course.id)
    item = db.session.get(Item, item_id)
    if item is None or not (
        (concept_map is not None and item.concept_map_id == concept_map.id)
        or _assigned(course.id, actor.user_id, item.id)
    ):
        raise NotFound("No such item.")
    source_id = f"{actor.user_id}:{attempt_key}" if attempt_key else uuid.uuid4().hex
    existing = db.session.scalar(
        select(Attempt).where(
            Attempt.institution_id == course.institution_id,
            Attempt.source == "player",
            Attempt.source_id == source_id,
        )
    )
    correct, score = grade_response(item, response)
    attempt = record_attempt(
        course.institution_id,
        actor.user_id,
        occurred_at=utcnow(),
        source="player",
        source_id=source_id,
        correct=correct,
        score=score,
        item_id=item.id,
        duration_s=duration_s,
        course_id=course.id,
        response=response if isinstance(response, Mapping) else {"value": response},
    )
    db.session.commit()
    concept_ids = set(
        db.session.scalars(
            select(AttemptConcept.concept_id).where(AttemptConcept.attempt_id == attempt.id)
        )
    )
    views = [
        v for v in _mastery_views(course, actor.user_id, utcnow()) if v.concept_id in concept_ids
    ]
    announce_completed_assignments()
    return SubmissionResult(
        attempt=attempt,
        correct=attempt.correct,
        score=attempt.score if attempt.score is not None else (1.0 if attempt.correct else 0.0),
        duplicate=existing is not None,
        mastery=[v.as_dict() for v in views],
    )


def _assigned(course_id: int, user_id: int, item_id: int) -> bool:
    """Whether the item waits for the student's answer in an open assignment of the course
    (it stays answerable after the course copied the graph the item belongs to)."""
    return (
        db.session.scalar(
            select(AssignmentItem.id)
            .join(Assignment, Assignment.id == AssignmentItem.assignment_id)
            .where(
                Assignment.course_id == course_id,
                Assignment.user_id == user_id,
                Assignment.status == "open",
                AssignmentItem.item_id == item_id,
                AssignmentItem.attempt_id.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp needs a UTC offset")
    return value


@dataclass
class ImportReport:
    """Outcome of a bulk attempt import."""

    created: int = 0
    duplicates: int = 0
    unmapped: int = 0
    errors: list[dict] = field(default_factory=list)


def import_attempts(actor: Actor, course_id: int, text: str) -> ImportReport:
    """Bulk-import historical attempts from CSV (teachers); rows are applied oldest first.

    Columns: ``student`` (user id or e-mail), ``item`` (item key) or
    ``activity_id``, ``correct`` (1/0/true/false) or ``score`` (0..1),
    ``timestamp`` (ISO 8601 with offset), optional ``duration`` (seconds) and
    ``source_id`` (defaults to a hash of the row, so re-importing a file counts
    nothing twice). Invalid rows are reported by line and nothing is written.
    """
    course = _teachable_course(actor, course_id)
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        raise NotFound("This course has no concept graph yet.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = set(reader.fieldnames or ())
    missing = [c for c in ("student", "timestamp") if c not in header]
    if not header & {"item", "activity_id"}:
        missing.append("item or activity_id")
    if not header & {"correct", "score"}:
        missing.append("correct or score")
    if missing:
        raise ValidationFailed(
            "The CSV header lacks: " + ", ".join(missing),
            errors=[field_error("header", f"missing column {m}") for m in missing],
        )
    roster = {
        u.id: u
        for u in db.session.scalars(
            select(User)
            .join(Enrollment, Enrollment.user_id == User.id)
            .where(Enrollment.course_id == course.id, Enrollment.role == "student")
        )
    }
    by_email = {u.email.lower(): u for u in roster.values() if u.email}
    items = {
        i.key: i
        for i in db.session.scalars(select(Item).where(Item.concept_map_id == concept_map.id))
    }
    rows = []
    report = ImportReport()
    for line, row in enumerate(reader, start=2):
        student = (row.get("student") or "").strip()
        user = roster.get(int(student)) if student.isdigit() else by_email.get(student.lower())
        problems = []
        if user is None:
            problems.append("student is not a student of this course")
        item_key = (row.get("item") or "").strip()
        activity = (row.get("activity_id") or "").strip() or None
        item = items.get(item_key) if item_key else None
        if item_key and item is None:
            problems.append(f"unknown item {item_key!r}")
        if not item_key and not activity:
            problems.append("give item or activity_id")
        correct = _parse_bool(row.get("correct"))
        score = None
        if (row.get("score") or "").strip():
            try:
                score = float(row["score"])
            except ValueError:
                problems.append("score is not a number")
        if correct is None and score is None:
            problems.append("give correct (1/0) or score (0..1)")
        try:
            occurred = _parse_time(row.get("timestamp") or "")
        except ValueError:
            problems.append("timestamp must be ISO 8601 with a UTC offset")
            occurred = None
        duration = None
        if (row.get("duration") or "").strip():
            try:
                duration = float(row["duration"])
            except ValueError:
                problems.append("duration is not a number")
        if problems:
            report.errors.append(field_error(f"line {line}", "; ".join(problems), "body"))
            continue
        source_id = (row.get("source_id") or "").strip() or hashlib.sha256(
            json.dumps([course.id, sorted(row.items())], default=str).encode()
        ).hexdigest()[:40]
        rows.append((occurred, line, user, item, activity, correct, score, duration, source_id))
    if report.errors:
        raise ValidationFailed(
            f"{len(report.errors)} row(s) could not be imported; nothing was written.",
            errors=report.errors,
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    for occurred, _line, user, item, activity, correct, score, duration, source_id in rows:
        before = db.session.scalar(
            select(Attempt.id).where(
                Attempt.institution_id == course.institution_id,
                Attempt.source == "import",
                Attempt.source_id == source_id,
            )
        )
        attempt = record_attempt(
            course.institution_id,
            user.id,
            occurred_at=occurred,
            source="import",
            source_id=source_id,
            correct=correct,
            score=score,
            item_id=item.id if item else None,
            activity_id=activity,
            duration_s=duration,
            course_id=course.id,
        )
        if before is not None:
            report.duplicates += 1
        elif attempt is None:
            report.unmapped += 1
        else:
            report.created += 1
    db.session.commit()
    announce_completed_assignments()
    return report


# -- mastery views -----------------------------------------------------------------------


@dataclass
class MasteryView:
    """One student's mastery of one concept now."""

    concept_id: int
    concept_key: str
    name: str
    mastery: float
    uncertainty: float
    mastered: bool
    attempts: int
    correct: int
    last_practiced: datetime | None
    peak_mastery: float | None

    def as_dict(self) -> dict:
        """Plain dict for responses."""
        return {
            "concept_key": self.concept_key,
            "name": self.name,
            "mastery": round(self.mastery, 1),
            "uncertainty": round(self.uncertainty, 1),
            "mastered": self.mastered,
            "attempts": self.attempts,
            "correct": self.correct,
            "last_practiced": self.last_practiced.isoformat() if self.last_practiced else None,
        }


def _student_state(user_id: int) -> engine.StudentState:
    learner = db.session.scalar(select(LearnerModel).where(LearnerModel.user_id == user_id))
    if learner is None:
        return engine.StudentState.new(mastery_params())
    return engine.StudentState.from_dict(learner.state)


@dataclass
class _MapContext:
    """A concept map loaded once for many students (heatmap, class generation)."""

    graph: ConceptGraph
    rows: dict[str, Concept]
    order: list[str]
    prerequisites: dict[str, list[str]]
    priors: dict[str, engine.ConceptPrior]


def _map_context(concept_map_id: int) -> _MapContext:
    graph, rows = load_graph(concept_map_id)
    return _MapContext(
        graph,
        rows,
        graph.topological_order(),
        _prerequisite_ids([concept_map_id]),
        _concept_priors(rows.values()),
    )


def _mastery_views(
    course: Course,
    user_id: int,
    now: datetime,
    student: engine.StudentState | None = None,
    context: _MapContext | None = None,
) -> list[MasteryView]:
    if context is None:
        concept_map = course_concept_map(course.id)
        if concept_map is None:
            return []
        context = _map_context(concept_map.id)
    student = student or _student_state(user_id)
    params, threshold = mastery_params(), _threshold()
    views = []
    for key in context.order:
        row = context.rows[key]
        m = engine.concept_mastery(
            params, student, str(row.id), now, threshold, context.prerequisites, context.priors
        )
        views.append(
            MasteryView(
                concept_id=row.id,
                concept_key=key,
                name=row.name,
                mastery=m.mastery,
                uncertainty=m.uncertainty,
                # Shown in practice, not carried by ability or transfer alone.
                mastered=m.mastered and m.attempts > 0,
                attempts=m.attempts,
                correct=m.correct,
                last_practiced=m.last_practiced,
                peak_mastery=m.peak_mastery,
            )
        )
    return views


def student_mastery(actor: Actor, course_id: int, student_id: int) -> list[MasteryView]:
    """A student's mastery per concept of the course, decay applied to now.

    Students see their own; teachers of the course and admins anyone's.
    """
    course = _course(actor, course_id)
    ensure_can_view_student(actor, course, student_id)
    if not courses.is_student(course.id, student_id):
        raise NotFound("No such student in this course.")
    return _mastery_views(course, student_id, utcnow())


def class_heatmap(actor: Actor, course_id: int) -> dict:
    """Students x concepts mastery matrix of a course (teachers and admins)."""
    course = _teachable_course(actor, course_id)
    now = utcnow()
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        return {"concepts": [], "students": [], "threshold": _threshold(), "as_of": now}
    context = _map_context(concept_map.id)
    graph, rows, order = context.graph, context.rows, context.order
    ids = courses.student_ids(course.id)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    learners = {
        lm.user_id: engine.StudentState.from_dict(lm.state)
        for lm in db.session.scalars(select(LearnerModel).where(LearnerModel.user_id.in_(ids)))
    }
    students = []
    for uid in sorted(ids, key=lambda i: (users[i].full_name, i)):
        student = learners.get(uid) or engine.StudentState.new(mastery_params())
        views = _mastery_views(course, uid, now, student, context)
        cells = [
            {
                "concept_key": v.concept_key,
                "mastery": round(v.mastery, 1) if v.attempts else None,
                "estimate": round(v.mastery, 1),
                "mastered": v.mastered,
                "attempts": v.attempts,
            }
            for v in views
        ]
        students.append(
            {
                "user_id": uid,
                "full_name": users[uid].full_name,
                "mastered_count": sum(1 for v in views if v.mastered),
                "cells": cells,
            }
        )
    concepts = []
    for index, key in enumerate(order):
        column = [s["cells"][index] for s in students]
        practised = [c["mastery"] for c in column if c["mastery"] is not None]
        concepts.append(
            {
                "key": key,
                "name": rows[key].name,
                "prerequisites": sorted(graph.prerequisites[key]),
                "mean_mastery": round(sum(practised) / len(practised), 1) if practised else None,
                "mastered_share": round(sum(1 for c in column if c["mastered"]) / len(column), 3)
                if column
                else None,
            }
        )
    return {"concepts": concepts, "students": students, "threshold": _threshold(), "as_of": now}


def _evidence(user_id: int, concept_map_id: int) -> dict[str, list[AttemptEvidence]]:
    rows = db.session.execute(
        select(
            Concept.key,
            Attempt.occurred_at,
            Attempt.item_id,
            Attempt.correct,
            AttemptConcept.mastery_after,
        )
        .join(AttemptConcept, AttemptConcept.attempt_id == Attempt.id)
        .join(Concept, Concept.id == AttemptConcept.concept_id)
        .where(Attempt.user_id == user_id, Concept.concept_map_id == concept_map_id)
        .order_by(Attempt.occurred_at, Attempt.id)
    )
    found: dict[str, list[AttemptEvidence]] = {}
    for key, occurred, item_id, correct, after in rows:
        found.setdefault(key, []).append(AttemptEvidence(occurred, item_id, correct, after))
    return found


def _concept_states(views: list[MasteryView]) -> dict[str, ConceptState]:
    return {
        v.concept_key: ConceptState(
            mastery=v.mastery,
            uncertainty=v.uncertainty,
            last_practiced=v.last_practiced,
            attempts=v.attempts,
            peak_mastery=v.peak_mastery,
            mastered=v.mastered,
        )
        for v in views
    }


def weak_concepts(actor: Actor, course_id: int, student_id: int) -> list[WeakConcept]:
    """A student's weak concepts with the evidence (the student, teachers, admins)."""
    course = _course(actor, course_id)
    ensure_can_view_student(actor, course, student_id)
    concept_map = course_concept_map(course.id)
    if concept_map is None or not courses.is_student(course.id, student_id):
        raise NotFound("No such student or concept graph in this course.")
    now = utcnow()
    graph, _ = load_graph(concept_map.id)
    states = _concept_states(_mastery_views(course, student_id, now))
    return detect_weak_concepts(
        graph,
        states,
        _evidence(student_id, concept_map.id),
        now,
        WeakConceptSettings(mastery_threshold=_threshold()),
    )


# -- recommendations and assignments -----------------------------------------------------


@dataclass
class GenerationRequest:
    """What a teacher asks for when generating assignments."""

    length: int = 10
    pinned: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    student_ids: tuple[int, ...] | None = None
    title: str | None = None


@dataclass
class _Bank:
    """A concept map's graph and item bank, loaded once however many students it serves
    (a class's generation reads it once, not once per student)."""

    context: _MapContext
    items: dict[int, Item]
    candidates: list[ItemCandidate]
    key_to_id: dict[str, str]


def _bank(concept_map_id: int) -> _Bank:
    context = _map_context(concept_map_id)
    by_id = {r.id: r.key for r in context.rows.values()}
    tags: dict[int, list[str]] = {}
    for item_id, concept_id in db.session.execute(
        select(ItemConcept.item_id, ItemConcept.concept_id)
        .join(Item, Item.id == ItemConcept.item_id)
        .where(Item.concept_map_id == concept_map_id)
    ):
        tags.setdefault(item_id, []).append(by_id[concept_id])
    items = {
        i.id: i
        for i in db.session.scalars(select(Item).where(Item.concept_map_id == concept_map_id))
    }
    candidates = [
        ItemCandidate(i.id, tuple(sorted(tags.get(i.id, []))), i.difficulty_label, i.difficulty)
        for i in items.values()
        if tags.get(i.id)
    ]
    key_to_id = {k: str(r.id) for k, r in context.rows.items()}
    return _Bank(context, items, candidates, key_to_id)


# How far back an answer keeps an item out of a new assignment (and re-practice orders).
_ANSWERED_DAYS = 60
# Ids bound in one IN list (SQLite's limit on bound parameters stays far away).
_IN_CHUNK = 500


def _answered(
    student_ids: Sequence[int], concept_map_id: int, now: datetime
) -> dict[int, list[AnsweredItem]]:
    """Each student's answers to the map's items over the last 60 days (whether each was
    right: re-practice offers the items answered wrong first), for many students at once."""
    bank_items = select(Item.id).where(Item.concept_map_id == concept_map_id)
    found: dict[int, list[AnsweredItem]] = {s: [] for s in student_ids}
    ids = list(dict.fromkeys(student_ids))
    for start in range(0, len(ids), _IN_CHUNK):
        for user_id, item_id, occurred, correct in db.session.execute(
            select(Attempt.user_id, Attempt.item_id, Attempt.occurred_at, Attempt.correct)
            .where(
                Attempt.user_id.in_(ids[start : start + _IN_CHUNK]),
                Attempt.item_id.in_(bank_items),
                Attempt.occurred_at >= now - timedelta(days=_ANSWERED_DAYS),
            )
            .order_by(Attempt.user_id, Attempt.occurred_at, Attempt.id)
        ):
            found[user_id].append(AnsweredItem(item_id, occurred, correct))
    return found


def _student_states(student_ids: Sequence[int]) -> dict[int, engine.StudentState]:
    """The engine states of many students in one read (the prior for anyone unseen)."""
    found: dict[int, engine.StudentState] = {}
    ids = list(dict.fromkeys(student_ids))
    for start in range(0, len(ids), _IN_CHUNK):
        for learner in db.session.scalars(
            select(LearnerModel).where(LearnerModel.user_id.in_(ids[start : start + _IN_CHUNK]))
        ):
            found[learner.user_id] = engine.StudentState.from_dict(learner.state)
    params = mastery_params()
    return {s: found.get(s) or engine.StudentState.new(params) for s in ids}


def _generator_inputs(
    course: Course,
    concept_map: ConceptMap,
    student_id: int,
    now: datetime,
    bank: _Bank | None = None,
    student: engine.StudentState | None = None,
    answered: list[AnsweredItem] | None = None,
):
    """What the generator needs for one student; a class passes the ``bank``, states and
    answers it read once for everyone."""
    bank = bank or _bank(concept_map.id)
    context, items = bank.context, bank.items
    student = student or _student_state(student_id)
    views = _mastery_views(course, student_id, now, student, context)
    states = _concept_states(views)
    if answered is None:
        answered = _answered([student_id], concept_map.id, now)[student_id]
    params = mastery_params()
    prerequisites, priors, key_to_id = context.prerequisites, context.priors, bank.key_to_id

    def predict(candidate: ItemCandidate, _states) -> float:
        item = items[candidate.id]
        item_state = engine.ItemState(
            difficulty=item.difficulty,
            var=item.difficulty_var if item.difficulty_var is not None else params.item_var,
            responses=item.response_count,
        )
        keys = [key_to_id[k] for k in candidate.concept_keys]
        return engine.predict(
            params, student, item_state, keys, now, prerequisites, priors
        ).probability

    return context.graph, context.rows, states, bank.candidates, answered, predict, items


def _settings(request: GenerationRequest, graph: ConceptGraph) -> GeneratorSettings:
    unknown = [k for k in (*request.pinned, *request.excluded) if k not in graph.concepts]
    if unknown:
        raise ValidationFailed(
            "Unknown concept(s): " + ", ".join(unknown),
            errors=[field_error("pinned/excluded", f"unknown concept {k!r}") for k in unknown],
        )
    return GeneratorSettings(
        length=request.length,
        mastery_threshold=_threshold(),
        pinned=frozenset(request.pinned),
        excluded=frozenset(request.excluded),
    )


def recommendations(actor: Actor, course_id: int, student_id: int) -> dict:
    """What a student should work on next and why (concept plan plus a preview of items)."""
    course = _course(actor, course_id)
    ensure_can_view_student(actor, course, student_id)
    concept_map = course_concept_map(course.id)
    if concept_map is None or not courses.is_student(course.id, student_id):
        raise NotFound("No such student or concept graph in this course.")
    now = utcnow()
    graph, rows, states, candidates, answered, predict, items = _generator_inputs(
        course, concept_map, student_id, now
    )
    config = GeneratorSettings(mastery_threshold=_threshold())
    focus, review, skipped = plan_concepts(graph, states, config, now)
    preview = generate_assignment(graph, states, candidates, answered, now, config, predict)
    return {
        "student_id": student_id,
        "as_of": now,
        "concepts": [_plan_dict(p) for p in focus + review],
        "held_back": [_plan_dict(p) for p in skipped],
        "items": [_pick_dict(p, items) for p in preview.picks],
    }


def _plan_dict(plan) -> dict:
    return {
        "concept_key": plan.concept_key,
        "kind": plan.kind,
        "mastery": round(plan.mastery, 1),
        "reason": plan.reason,
        "blocked_by": list(plan.blocked_by),
    }


def _pick_dict(pick, items: Mapping[int, Item]) -> dict:
    item = items.get(pick.item_id)
    return {
        "item_id": pick.item_id,
        "item_key": item.key if item else None,
        "concept_key": pick.concept_key,
        "kind": pick.kind,
        "difficulty_label": pick.difficulty_label,
        "predicted_success": round(pick.predicted_success, 3),
        "reason": pick.reason,
    }


def generate_assignments(
    actor: Actor, course_id: int, request: GenerationRequest
) -> list[Assignment]:
    """Generate one personalised assignment per student (all, or the listed ones)."""
    course = _teachable_course(actor, course_id)
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        raise NotFound("This course has no concept graph yet.")
    roster = courses.student_ids(course.id)
    targets = list(request.student_ids) if request.student_ids else roster
    strangers = [s for s in targets if s not in set(roster)]
    if strangers:
        raise ValidationFailed(
            "Not students of this course: " + ", ".join(map(str, strangers)),
            errors=[field_error("student_ids", f"{s} is not a student here") for s in strangers],
        )
    now = utcnow()
    bank = _bank(concept_map.id)
    config = _settings(request, bank.context.graph)
    students = _student_states(targets)
    answered = _answered(targets, concept_map.id, now)
    created = [
        _create_assignment(
            course,
            concept_map,
            student_id,
            request,
            config,
            created_by_id=actor.user_id,
            now=now,
            bank=bank,
            student=students[student_id],
            answered=answered[student_id],
            flush=False,
        )
        for student_id in targets
    ]
    # One flush for the whole class: the assignments' ids first, then every pick.
    db.session.flush()
    for assignment, picks in created:
        _add_picks(assignment, picks)
    db.session.commit()
    return [assignment for assignment, _ in created]


def _create_assignment(
    course: Course,
    concept_map: ConceptMap,
    student_id: int,
    request: GenerationRequest,
    config: GeneratorSettings,
    *,
    created_by_id: int | None,
    now: datetime,
    resource_link_pk: int | None = None,
    bank: _Bank | None = None,
    student: engine.StudentState | None = None,
    answered: list[AnsweredItem] | None = None,
    flush: bool = True,
):
    """Generate and add (not commit) one student's assignment.

    With ``flush`` (one student) the picks are added too and the assignment is returned;
    without, ``(assignment, picks)`` is returned for the caller to flush once for many
    students and then :func:`_add_picks`."""
    graph, rows, states, candidates, answered, predict, items = _generator_inputs(
        course, concept_map, student_id, now, bank, student, answered
    )
    result = generate_assignment(graph, states, candidates, answered, now, config, predict)
    assignment = Assignment(
        institution_id=course.institution_id,
        course_id=course.id,
        user_id=student_id,
        created_by_id=created_by_id,
        title=request.title or f"Practice {now:%Y-%m-%d}",
        status="open" if result.picks else "completed",
        settings={
            "length": request.length,
            "pinned": list(request.pinned),
            "excluded": list(request.excluded),
        },
        created_at=now,
        resource_link_pk=resource_link_pk,
    )
    db.session.add(assignment)
    picks = [
        AssignmentItem(
            position=position,
            item_id=pick.item_id,
            concept_id=rows[pick.concept_key].id,
            kind=pick.kind,
            difficulty_label=pick.difficulty_label,
            predicted_success=pick.predicted_success,
            reason=pick.reason,
        )
        for position, pick in enumerate(result.picks)
    ]
    if not flush:
        return assignment, picks
    db.session.flush()
    _add_picks(assignment, picks)
    return assignment


def _add_picks(assignment: Assignment, picks: list[AssignmentItem]) -> None:
    """Add an assignment's picks once it has its id."""
    for pick in picks:
        pick.assignment_id = assignment.id
        db.session.add(pick)


def open_placed_assignment(
    course_id: int, student_id: int, resource_link_pk: int, *, title: str
) -> Assignment | None:
    """The assignment a student gets by opening an LMS placement (after a validated launch).

    Their open assignment for that placement, else a freshly generated one (so opening
    the placement again after finishing gives new practice). None while the course has
    no concept graph or no items to practise. Commits.
    """
    open_one = db.session.scalar(
        select(Assignment)
        .where(
            Assignment.course_id == course_id,
            Assignment.user_id == student_id,
            Assignment.resource_link_pk == resource_link_pk,
            Assignment.status == "open",
        )
        .order_by(Assignment.id.desc())
    )
    if open_one is not None:
        return open_one
    course = db.session.get(Course, course_id)
    concept_map = course_concept_map(course_id)
    if course is None or concept_map is None:
        return None
    bank = _bank(concept_map.id)
    request = GenerationRequest(length=PLACED_ASSIGNMENT_LENGTH, title=title)
    assignment = _create_assignment(
        course,
        concept_map,
        student_id,
        request,
        _settings(request, bank.context.graph),
        created_by_id=None,
        now=utcnow(),
        resource_link_pk=resource_link_pk,
        bank=bank,
    )
    if assignment.status != "open":
        # Nothing to practise (no items yet): keep no empty assignment around.
        db.session.rollback()
        return None
    db.session.commit()
    return assignment


def course_has_items(course_id: int) -> bool:
    """Whether the course's concept graph has any item to practise."""
    concept_map = course_concept_map(course_id)
    if concept_map is None:
        return False
    return (
        db.session.scalar(select(Item.id).where(Item.concept_map_id == concept_map.id).limit(1))
        is not None
    )


@dataclass(frozen=True)
class SessionScore:
    """One placed assignment (a practice session) and how it went so far."""

    assignment_id: int
    correct: float  # answers' scores summed (a right answer counts 1)
    answered: int
    total: int
    completed: bool

    @property
    def share(self) -> float:
        """Share of the session's questions answered correctly, 0..1."""
        return self.correct / self.total if self.total else 0.0


def session_scores(assignments: list[Assignment]) -> list[SessionScore]:
    """Score each assignment as ``_announce_completed_placement`` does: the sum of the
    answers' scores (a right answer counts 1) out of the number of questions."""
    ids = [a.id for a in assignments]
    if not ids:
        return []
    totals: dict[int, int] = {}
    answered: dict[int, int] = {}
    correct: dict[int, float] = {}
    rows = db.session.execute(
        select(AssignmentItem.assignment_id, Attempt.id, Attempt.score, Attempt.correct)
        .outerjoin(Attempt, Attempt.id == AssignmentItem.attempt_id)
        .where(AssignmentItem.assignment_id.in_(ids))
    )
    for assignment_id, attempt_id, score, right in rows:
        totals[assignment_id] = totals.get(assignment_id, 0) + 1
        if attempt_id is None:
            continue
        answered[assignment_id] = answered.get(assignment_id, 0) + 1
        value = score if score is not None else float(bool(right))
        correct[assignment_id] = correct.get(assignment_id, 0.0) + value
    return [
        SessionScore(
            assignment_id=a.id,
            correct=round(correct.get(a.id, 0.0), 4),
            answered=answered.get(a.id, 0),
            total=totals.get(a.id, 0),
            completed=a.status == "completed",
        )
        for a in assignments
    ]


def completed_placed_sessions(resource_link_pk: int, user_id: int) -> list[SessionScore]:
    """The student's completed practice sessions on an LMS placement, oldest first
    (for the grade sent to the LMS: lti.placements)."""
    assignments = db.session.scalars(
        select(Assignment)
        .where(
            Assignment.resource_link_pk == resource_link_pk,
            Assignment.user_id == user_id,
            Assignment.status == "completed",
        )
        .order_by(Assignment.id)
    ).all()
    return [s for s in session_scores(list(assignments)) if s.total]


def _announce_completed_placement(assignment_id: int) -> None:
    """If this just-completed assignment was opened from an LMS placement, say so."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.status != "completed" or not assignment.resource_link_pk:
        return
    scores = db.session.execute(
        select(Attempt.score, Attempt.correct)
        .join(AssignmentItem, AssignmentItem.attempt_id == Attempt.id)
        .where(AssignmentItem.assignment_id == assignment.id)
    ).all()
    total = db.session.scalar(
        select(func.count())
        .select_from(AssignmentItem)
        .where(AssignmentItem.assignment_id == assignment.id)
    )
    given = sum(score if score is not None else float(bool(correct)) for score, correct in scores)
    placed_assignment_completed.send(
        assignment, score_given=round(given, 4), score_maximum=float(total)
    )


def list_assignments(
    actor: Actor, course_id: int, student_id: int | None = None
) -> list[Assignment]:
    """Assignments of a course: a student sees their own; teachers all or one student's."""
    course = _course(actor, course_id)
    query = select(Assignment).where(Assignment.course_id == course.id)
    teaches = actor.is_admin or course_role(actor, course.id) == "teacher"
    if not teaches:
        if student_id not in (None, actor.user_id):
            raise Forbidden("Students see only their own records.")
        student_id = actor.user_id
    if student_id is not None:
        query = query.where(Assignment.user_id == student_id)
    return list(db.session.scalars(query.order_by(Assignment.id.desc())))


def get_assignment(actor: Actor, course_id: int, assignment_id: int) -> tuple[Assignment, list]:
    """One assignment with its items (prompts and choices, never answers)."""
    course = _course(actor, course_id)
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.course_id != course.id:
        raise NotFound("No such assignment.")
    try:
        ensure_can_view_student(actor, course, assignment.user_id)
    except Forbidden as exc:
        raise NotFound("No such assignment.") from exc
    rows = db.session.execute(
        select(AssignmentItem, Item, Concept.key)
        .outerjoin(Item, Item.id == AssignmentItem.item_id)
        .outerjoin(Concept, Concept.id == AssignmentItem.concept_id)
        .where(AssignmentItem.assignment_id == assignment.id)
        .order_by(AssignmentItem.position)
    )
    return assignment, [(pick, item, key) for pick, item, key in rows]
