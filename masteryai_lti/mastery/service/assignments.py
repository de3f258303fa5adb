"""Recommendations and personalised assignments: what a student should practise next.

The generator (the pure recommender) is fed the course's graph and item bank, read
once however many students it serves, each student's mastery and recent answers.
:func:`recommendations` shows its plan and a preview; :func:`generate_assignments`
stores one assignment per student; the list and detail views read them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Forbidden, NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor, course_role, ensure_can_view_student
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.mastery import engine
from masteryai_lti.mastery.graph import ConceptGraph
from masteryai_lti.mastery.models import (
    Assignment,
    AssignmentItem,
    Attempt,
    Concept,
    ConceptMap,
    Item,
    ItemConcept,
    LearnerModel,
)
from masteryai_lti.mastery.recommender import (
    AnsweredItem,
    GeneratorSettings,
    ItemCandidate,
    generate_assignment,
    plan_concepts,
)
from masteryai_lti.mastery.service.access import (
    _course,
    _student_course,
    _teachable_course,
    course_concept_map,
)
from masteryai_lti.mastery.service.engine_inputs import _threshold, mastery_params
from masteryai_lti.mastery.service.mastery_views import (
    _concept_states,
    _map_context,
    _MapContext,
    _mastery_views,
    _student_state,
)


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
    missing = "No such student or concept graph in this course."
    course = _student_course(actor, course_id, student_id, missing=missing)
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        raise NotFound(missing)
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
