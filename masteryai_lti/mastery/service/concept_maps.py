"""Concept maps and their graph: browse, reuse, copy, import, export and edit.

A course uses one concept map; it may reuse another course's map of the same
institution (:func:`use_concept_map`) and later take its own copy of it, learner state
carried over (:func:`copy_concept_map`). Concepts and prerequisites are imported,
exported and edited one at a time; the merged graph is checked for cycles before
anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.orm import aliased

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from masteryai_lti.core.policy import Actor
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.mastery import engine
from masteryai_lti.mastery.graph import Concept as GraphConcept
from masteryai_lti.mastery.graph import (
    ConceptGraph,
    CycleError,
    GraphError,
    document_from_csv,
    document_from_json,
)
from masteryai_lti.mastery.models import (
    ActivityMapping,
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
from masteryai_lti.mastery.service.access import (
    _ensure_can_manage,
    _map_for,
    _teachable_course,
    course_concept_map,
    may_manage,
)


def _ensure_map(actor: Actor, course_id: int) -> tuple[Course, ConceptMap]:
    """The course's map to change, creating an empty one on first use (teachers only)."""
    course = _teachable_course(actor, course_id)
    concept_map = course_concept_map(course.id)
    if concept_map is not None:
        _ensure_can_manage(actor, course, concept_map)
        # One change of a map at a time (PostgreSQL; SQLite has one writer anyway): two
        # co-teachers' edits, each acyclic on its own, must not make a cycle together,
        # and a create-only write must see the other's concept.
        db.session.execute(
            select(ConceptMap.id).where(ConceptMap.id == concept_map.id).with_for_update()
        )
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
            explanation=item.explanation,
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


@dataclass
class CourseGraph:
    """The graph a course uses, and what the reader may do with it."""

    concept_map: ConceptMap
    graph: ConceptGraph
    # The map belongs to another course (reused, not copied).
    shared: bool
    # The reader may change it and read its item bank.
    editable: bool


def get_graph(actor: Actor, course_id: int) -> CourseGraph:
    """The course's concept graph (any member of the course may read it)."""
    course, concept_map = _map_for(actor, course_id)
    return CourseGraph(
        concept_map,
        load_graph(concept_map.id)[0],
        shared=concept_map.owner_course_id != course.id,
        editable=may_manage(actor, course, concept_map),
    )


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
    _, concept_map = _map_for(actor, course_id)
    graph = load_graph(concept_map.id)[0]
    return graph.to_csv() if fmt == "csv" else graph.to_json()


def upsert_concept(
    actor: Actor,
    course_id: int,
    key: str,
    *,
    name: str | None = None,
    description: str | None = None,
    prerequisites: Sequence[str] | None = None,
    create_only: bool = False,
) -> Concept:
    """Create or update one concept; ``prerequisites`` (if given) replaces its edges.

    ``create_only``: refuse (PreconditionFailed) when the key is taken, so adding a
    topic never overwrites one a co-teacher added meanwhile.
    """
    _, concept_map = _ensure_map(actor, course_id)
    graph, rows = load_graph(concept_map.id)
    existing = graph.concepts.get(key)
    if create_only and existing is not None:
        db.session.rollback()
        raise PreconditionFailed(
            f"A topic with key {key!r} already exists ({existing.name}).",
            errors=[field_error("key", "taken: choose another key or edit that topic")],
        )
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
