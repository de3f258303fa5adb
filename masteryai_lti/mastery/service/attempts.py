"""Recording attempts and withdrawing them.

Every attempt, whichever road it comes by (the homework player, xAPI projection,
bulk import), goes through :func:`record_attempt`, which stores it once per
source id and updates the student's mastery at once through the pure engine; it is
called by trusted code (the xAPI projection) with ids it has already resolved. An
answer that fills the last open slot of an assignment completes it, announced after
the caller's commit (:func:`announce_completed_assignments`). Evidence withdrawn (a
voided xAPI statement) is removed and the student's mastery replayed from the attempts
left (:func:`withdraw_attempts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import NotFound, ValidationFailed, field_error
from masteryai_lti.core.transactions import OnCommit, add_unless_taken
from masteryai_lti.extensions import db
from masteryai_lti.mastery import engine
from masteryai_lti.mastery.models import (
    ATTEMPT_SOURCES,
    ActivityMapping,
    Assignment,
    AssignmentItem,
    Attempt,
    AttemptConcept,
    Concept,
    Item,
    ItemConcept,
    LearnerModel,
    MasteryState,
)
from masteryai_lti.mastery.service.access import course_concept_map
from masteryai_lti.mastery.service.engine_inputs import (
    _concept_priors,
    _prerequisite_ids,
    _threshold,
    mastery_params,
)
from masteryai_lti.mastery.service.placed_assignments import _announce_completed_placement


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
        if not add_unless_taken(learner):
            learner = db.session.scalar(query)
    return learner


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
    if not add_unless_taken(attempt):
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
