"""Adaptive assignment generator (pure).

Given a student's current mastery per concept, the concept graph, the item bank
and the items the student answered lately, build a personalised assignment:

1. *Which concepts*: concepts below the mastery threshold whose prerequisites are
   ready (or that the teacher pinned), most foundational and most unblocking
   first, plus review of mastered concepts that have gone unpractised long enough
   to decay.
2. *Which items*: for each chosen concept, items whose predicted success falls in
   a desirable-difficulty band (hard enough to teach, easy enough to succeed),
   spread from the top of the band to the bottom so the concept's items climb
   easy -> medium -> hard around the student's level; never an item answered
   within ``recent_days`` while the concept has unanswered ones. A concept not yet
   mastered whose every item was answered lately is practised again (items
   answered wrong first, then the least recently answered), so a struggling
   student with a small bank is never told there is nothing left to do.
3. *Why*: every pick carries a sentence a teacher or student can read.

Everything here is plain data in, plain data out; the clock is an argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from masteryai_lti.mastery.graph import ConceptGraph

DIFFICULTY_LABELS = ("easy", "medium", "hard")
# Logit offsets used when an item has no difficulty learned from responses yet:
# an "easy" item is answered correctly ~73% of the time by a student at 50/100.
LABEL_DIFFICULTY = {"easy": -1.0, "medium": 0.0, "hard": 1.0}
# Learned difficulties are cut back into labels at these logit boundaries.
LABEL_CUTS = (-0.5, 0.5)


@dataclass(frozen=True)
class ConceptState:
    """What the mastery model currently believes about one student and concept.

    ``mastery`` is 0-100 *now* (decay already applied by the engine);
    ``peak_mastery`` is the highest value reached, which tells a concept that was
    learned and is fading apart from one that was never learned.
    """

    mastery: float
    uncertainty: float = 50.0
    last_practiced: datetime | None = None
    attempts: int = 0
    peak_mastery: float | None = None
    # The engine's own verdict (it may demand a margin over the threshold); None
    # means "mastery >= threshold".
    mastered: bool | None = None


@dataclass(frozen=True)
class ItemCandidate:
    """An item of the bank as the generator sees it.

    ``difficulty`` is on a logit scale (0 = average, positive = harder) when it has
    been learned from responses; otherwise the label's default is used.
    """

    id: Hashable
    concept_keys: tuple[str, ...]
    difficulty_label: str = "medium"
    difficulty: float | None = None

    @property
    def effective_difficulty(self) -> float:
        """Learned difficulty, else the label's default."""
        if self.difficulty is not None:
            return self.difficulty
        return LABEL_DIFFICULTY.get(self.difficulty_label, 0.0)


@dataclass(frozen=True)
class AnsweredItem:
    """One answer the student gave to an item, when, and whether it was right
    (None when the caller does not say)."""

    item_id: Hashable
    answered_at: datetime
    correct: bool | None = None


@dataclass(frozen=True)
class GeneratorSettings:
    """Knobs a teacher (or the course defaults) can turn."""

    length: int = 10
    mastery_threshold: float = 70.0
    # Prerequisites count as ready at this mastery; None means the mastery threshold.
    ready_threshold: float | None = None
    # Desirable-difficulty band of predicted success (Bjork; Wilson et al. 2019 put the
    # optimum for learning near 85% correct, so the band sits just under it).
    band: tuple[float, float] = (0.60, 0.85)
    # Items further than this outside the band are never picked, except one
    # closest item for a concept that has nothing nearer (so it is not starved).
    band_tolerance: float = 0.15
    recent_days: float = 7.0
    # A concept not yet mastered whose items were all answered within recent_days is
    # practised again rather than left out: a small bank must not lock a struggling
    # student out for a week (wrong answers first, then the least recently answered).
    repractice_when_exhausted: bool = True
    review_after_days: float = 14.0
    review_share: float = 0.2
    max_focus_concepts: int = 2
    # A concept counts as mastered (or a prerequisite as ready) only after this many
    # attempts of its own: an estimate carried by general ability or prerequisite
    # transfer alone is a guess, not a demonstration.
    min_attempts: int = 1
    # A concept still below the threshold after this many attempts is "stuck": its
    # prerequisites may be shakier than their estimates say, so they get a review.
    stuck_attempts: int = 25
    pinned: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()

    @property
    def ready_at(self) -> float:
        """Mastery at which a prerequisite counts as ready."""
        return self.mastery_threshold if self.ready_threshold is None else self.ready_threshold

    def is_ready(self, state: ConceptState | None) -> bool:
        """Whether a prerequisite in this state lets its dependants be practised."""
        if state is None or state.attempts < self.min_attempts:
            return False
        # A concept the engine calls mastered is ready whatever its raw number.
        return state.mastery >= self.ready_at or bool(state.mastered)

    def is_mastered(self, state: ConceptState | None) -> bool:
        """Whether a concept in this state needs no more practice (review aside)."""
        if state is None or state.attempts < self.min_attempts:
            return False
        if state.mastered is not None:
            return state.mastered
        return state.mastery >= self.mastery_threshold


@dataclass(frozen=True)
class ConceptPlan:
    """A concept chosen (or considered) for an assignment and the reason."""

    concept_key: str
    kind: str  # "pinned" | "practice" | "review"
    mastery: float
    reason: str
    blocked_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pick:
    """One item of a generated assignment, with why it was chosen."""

    item_id: Hashable
    concept_key: str
    kind: str  # "pinned" | "practice" | "review"
    difficulty_label: str
    difficulty: float
    predicted_success: float
    in_band: bool
    reason: str
    # Answered within recent_days before: re-practice of an exhausted concept.
    again: bool = False


@dataclass(frozen=True)
class GeneratedAssignment:
    """The ordered picks plus the concept-level plan and what was left out."""

    picks: list[Pick]
    concepts: list[ConceptPlan]
    skipped: list[ConceptPlan] = field(default_factory=list)


SuccessPredictor = Callable[[ItemCandidate, Mapping[str, ConceptState]], float]


def label_for_difficulty(difficulty: float) -> str:
    """Cut a learned logit difficulty back into easy / medium / hard."""
    if difficulty < LABEL_CUTS[0]:
        return "easy"
    if difficulty > LABEL_CUTS[1]:
        return "hard"
    return "medium"


def default_predict_success(item: ItemCandidate, states: Mapping[str, ConceptState]) -> float:
    """Probability of a correct answer: logistic(mean concept logit - item difficulty).

    A stand-in used when the caller does not pass the mastery engine's own
    prediction; unknown concepts count as 50/100.
    """
    logits = [_logit(states[k].mastery / 100.0) if k in states else 0.0 for k in item.concept_keys]
    ability = sum(logits) / len(logits) if logits else 0.0
    return _sigmoid(ability - item.effective_difficulty)


def plan_concepts(
    graph: ConceptGraph,
    states: Mapping[str, ConceptState],
    settings: GeneratorSettings,
    now: datetime,
) -> tuple[list[ConceptPlan], list[ConceptPlan], list[ConceptPlan]]:
    """Choose concepts: ``(focus, review, skipped)``, each in priority order.

    Focus concepts are pinned ones, then concepts below the threshold whose
    prerequisites are all ready. Review concepts were mastered (peak at or above
    the threshold) and not practised for ``review_after_days``, or are the
    prerequisites of a focus concept that is stuck (``stuck_attempts`` attempts
    without reaching mastery). Skipped lists gap concepts held back, each with the
    prerequisite(s) blocking it.
    """
    threshold = settings.mastery_threshold
    depth = graph.depth()
    focus: list[tuple[tuple, ConceptPlan]] = []
    review: list[tuple[tuple, ConceptPlan]] = []
    skipped: list[ConceptPlan] = []

    def mastery_of(key: str) -> float:
        return states[key].mastery if key in states else 0.0

    for key in graph.topological_order():
        name = graph.concepts[key].name
        m = mastery_of(key)
        state = states.get(key)
        if key in settings.excluded:
            skipped.append(ConceptPlan(key, "excluded", m, f"{name}: excluded by the teacher"))
            continue
        blocked = tuple(
            sorted(p for p in graph.prerequisites[key] if not settings.is_ready(states.get(p)))
        )
        if key in settings.pinned:
            why = f"{name} is pinned by the teacher (mastery {m:.0f}/100)"
            if blocked:
                why += "; prerequisites not yet ready: " + _names(graph, blocked, mastery_of)
            focus.append(((0, depth[key], key), ConceptPlan(key, "pinned", m, why, blocked)))
            continue
        if not settings.is_mastered(state):
            if blocked:
                skipped.append(
                    ConceptPlan(
                        key,
                        "blocked",
                        m,
                        f"{name} waits for its prerequisites: "
                        + _names(graph, blocked, mastery_of),
                        blocked,
                    )
                )
                continue
            unlocks = sum(
                1 for d in graph.descendants(key) if not settings.is_mastered(states.get(d))
            )
            prereq_text = (
                "its prerequisites are ready ("
                + _names(graph, graph.prerequisites[key], mastery_of)
                + ")"
                if graph.prerequisites[key]
                else "it has no prerequisites"
            )
            if m < threshold:
                why = f"{name} is at {m:.0f}/100, below mastery ({threshold:.0f}), and "
            elif state is None or state.attempts < settings.min_attempts:
                why = f"{name} is estimated at {m:.0f}/100 but not yet shown in practice, and "
            else:
                why = f"{name} is at {m:.0f}/100, not yet confidently mastered, and "
            why += prereq_text
            if unlocks:
                why += f"; mastering it moves {unlocks} later concept(s) closer"
            # Foundational first, then the ones that unblock most, then the closest
            # to mastery (finishing a concept frees its dependants soonest).
            priority = (1, depth[key], -unlocks, -m, key)
            focus.append((priority, ConceptPlan(key, "practice", m, why)))
            continue
        peak = state.peak_mastery if state and state.peak_mastery is not None else m
        idle = _days_since(state.last_practiced if state else None, now)
        if peak >= threshold and idle is not None and idle >= settings.review_after_days:
            why = (
                f"{name} was mastered but not practised for {idle:.0f} days "
                f"(now {m:.0f}/100); a short review keeps it from fading"
            )
            # Lowest mastery first: the concept closest to slipping under the
            # threshold (or most likely overestimated) needs the review most.
            review.append(((m, -idle, key), ConceptPlan(key, "review", m, why)))
    # Going back one step when progress stalls: the prerequisites of a stuck focus
    # concept come first among the reviews, weakest first.
    reviewed = {p.concept_key for _, p in review}
    for _, plan in focus:
        state = states.get(plan.concept_key)
        if plan.kind != "practice" or state is None or state.attempts < settings.stuck_attempts:
            continue
        name = graph.concepts[plan.concept_key].name
        for p in sorted(graph.prerequisites[plan.concept_key]):
            if p in reviewed or p in settings.excluded:
                continue
            reviewed.add(p)
            why = (
                f"{graph.concepts[p].name} ({mastery_of(p):.0f}/100) is reviewed because "
                f"{name} is still below mastery after {state.attempts} attempts"
            )
            review.append(((-1.0, mastery_of(p), p), ConceptPlan(p, "review", mastery_of(p), why)))
    focus.sort(key=lambda t: t[0])
    review.sort(key=lambda t: t[0])
    return [p for _, p in focus], [p for _, p in review], skipped


def generate_assignment(
    graph: ConceptGraph,
    states: Mapping[str, ConceptState],
    items: Iterable[ItemCandidate],
    answered: Iterable[AnsweredItem],
    now: datetime,
    settings: GeneratorSettings | None = None,
    predict: SuccessPredictor | None = None,
) -> GeneratedAssignment:
    """Build one student's assignment of up to ``settings.length`` items.

    Guarantees: no item answered within ``settings.recent_days`` of ``now``, except
    re-practice of a concept not yet mastered that has no other item left (see
    ``repractice_when_exhausted``); no item touching an excluded concept; no item
    touching a concept whose prerequisites are not ready unless that concept is
    pinned; practice items ordered from easiest to hardest.
    """
    settings = settings or GeneratorSettings()
    predict = predict or default_predict_success
    focus, review, skipped = plan_concepts(graph, states, settings, now)

    recent_cutoff = now - timedelta(days=settings.recent_days)
    last_answers = _last_answers(answered)
    recent = {i for i, a in last_answers.items() if a.answered_at >= recent_cutoff}
    allowed = _allowed_concepts(graph, states, settings)
    by_concept: dict[str, list[ItemCandidate]] = {}
    answered_lately: dict[str, list[ItemCandidate]] = {}
    for item in items:
        if not item.concept_keys:
            continue
        if not all(k in allowed for k in item.concept_keys):
            continue
        pool = answered_lately if item.id in recent else by_concept
        for k in item.concept_keys:
            pool.setdefault(k, []).append(item)
    again: set[str] = set()
    if settings.repractice_when_exhausted:
        for plan in focus:
            key = plan.concept_key
            if not by_concept.get(key) and answered_lately.get(key):
                by_concept[key] = answered_lately[key]
                again.add(key)

    length = max(0, settings.length)
    review_slots = 0
    if review:
        review_slots = min(len(review) * 3, max(1, round(length * settings.review_share)))
    if not focus:
        review_slots = min(length, len(review) * 3)
    practice_slots = length - review_slots

    used: set[Hashable] = set()
    practice_picks: list[Pick] = []
    chosen_plans: list[ConceptPlan] = []

    # Spread practice slots over a few focus concepts; concepts with no unused
    # items give their slots to the next ones in priority order.
    active = [p for p in focus if by_concept.get(p.concept_key)]
    for plan in focus:
        if not by_concept.get(plan.concept_key):
            skipped.append(
                ConceptPlan(
                    plan.concept_key,
                    "no_items",
                    plan.mastery,
                    f"{graph.concepts[plan.concept_key].name}: no unused items in the bank",
                )
            )
    pinned_count = sum(1 for p in active if p.kind == "pinned")
    width = max(settings.max_focus_concepts, pinned_count)
    start = 0
    while practice_slots > len(practice_picks) and start < len(active):
        group = active[start : start + width]
        start += width
        remaining = practice_slots - len(practice_picks)
        quotas = _split(remaining, len(group))
        carry = 0
        for plan, quota in zip(group, quotas, strict=True):
            if plan.concept_key in again:
                picks = _pick_again(
                    plan,
                    by_concept[plan.concept_key],
                    quota + carry,
                    used,
                    last_answers,
                    states,
                    settings,
                    predict,
                    graph,
                )
            else:
                picks = _pick_items(
                    plan,
                    by_concept[plan.concept_key],
                    quota + carry,
                    used,
                    states,
                    settings,
                    predict,
                    graph,
                )
            carry = quota + carry - len(picks)
            if picks:
                chosen_plans.append(plan)
                practice_picks.extend(picks)

    review_picks: list[Pick] = []
    # Leftover practice slots (small bank, everything mastered) go to review too.
    review_budget = length - len(practice_picks)
    if review and review_budget > 0:
        # A few items per reviewed concept (up to 3) rather than one each of many.
        quotas = _split(review_budget, min(len(review), -(-review_budget // 3)))
        for plan, quota in zip(review, quotas, strict=False):
            fresh = [] if plan.concept_key in again else by_concept.get(plan.concept_key, [])
            picks = _pick_items(
                plan,
                fresh,
                quota,
                used,
                states,
                settings,
                predict,
                graph,
            )
            if picks:
                chosen_plans.append(plan)
                review_picks.extend(picks)
            if len(review_picks) >= review_budget:
                break

    # Retrieval warm-up first, then practice climbing easy -> hard.
    ordered = review_picks + sorted(practice_picks, key=lambda p: (p.difficulty, str(p.item_id)))
    return GeneratedAssignment(picks=ordered[:length], concepts=chosen_plans, skipped=skipped)


def _pick_items(
    plan: ConceptPlan,
    candidates: list[ItemCandidate],
    count: int,
    used: set[Hashable],
    states: Mapping[str, ConceptState],
    settings: GeneratorSettings,
    predict: SuccessPredictor,
    graph: ConceptGraph,
) -> list[Pick]:
    """Choose ``count`` unused items of one concept aiming at targets spread over the band."""
    if count <= 0:
        return []
    low, high = settings.band
    scored = [(predict(item, states), item) for item in candidates if item.id not in used]
    if not scored:
        return []
    # Targets run from the easy end of the band to the hard end, so the picks
    # form a ladder around the student's level rather than n copies of one item.
    # Review is retrieval practice, so it stays in the upper half of the band;
    # practice spreads over the whole band.
    bottom = (low + high) / 2 if plan.kind == "review" else low
    targets = [high - (high - bottom) * (i + 0.5) / count for i in range(count)]
    picks: list[Pick] = []
    name = graph.concepts[plan.concept_key].name
    tol = settings.band_tolerance
    for target in targets:
        pool = [(p, it) for p, it in scored if it.id not in used]
        near = [(p, it) for p, it in pool if low - tol <= p <= high + tol]
        if near:
            pool = near
        elif picks or not pool:
            break
        # Prefer items inside the band, then the closest to the target; ties go to
        # the item teaching the fewest other concepts, then to id order.
        p, item = min(
            pool,
            key=lambda t: (
                not (low <= t[0] <= high),
                abs(t[0] - target),
                len(t[1].concept_keys),
                str(t[1].id),
            ),
        )
        used.add(item.id)
        in_band = low <= p <= high
        label = item.difficulty_label or label_for_difficulty(item.effective_difficulty)
        fit = (
            f"predicted success {p:.0%} is inside the {low:.0%}-{high:.0%} band"
            if in_band
            else f"closest available item: predicted success {p:.0%} (band {low:.0%}-{high:.0%})"
        )
        picks.append(
            _pick(
                plan,
                item,
                label,
                p,
                in_band,
                f"{_KIND_TEXT[plan.kind]} {name} ({plan.mastery:.0f}/100): {label} item, {fit}",
            )
        )
    return picks


_KIND_TEXT = {"pinned": "Pinned concept", "practice": "Practise", "review": "Review"}


def _pick(
    plan: ConceptPlan,
    item: ItemCandidate,
    label: str,
    predicted: float,
    in_band: bool,
    reason: str,
    *,
    again: bool = False,
) -> Pick:
    """One chosen item of ``plan``'s concept, as fresh practice or (``again``) re-practice."""
    return Pick(
        item_id=item.id,
        concept_key=plan.concept_key,
        kind=plan.kind,
        difficulty_label=label,
        difficulty=item.effective_difficulty,
        predicted_success=predicted,
        in_band=in_band,
        reason=reason,
        again=again,
    )


def _last_answers(answered: Iterable[AnsweredItem]) -> dict[Hashable, AnsweredItem]:
    """Each item's latest answer."""
    last: dict[Hashable, AnsweredItem] = {}
    for answer in answered:
        seen = last.get(answer.item_id)
        if seen is None or answer.answered_at > seen.answered_at:
            last[answer.item_id] = answer
    return last


def _pick_again(
    plan: ConceptPlan,
    candidates: list[ItemCandidate],
    count: int,
    used: set[Hashable],
    last_answers: Mapping[Hashable, AnsweredItem],
    states: Mapping[str, ConceptState],
    settings: GeneratorSettings,
    predict: SuccessPredictor,
    graph: ConceptGraph,
) -> list[Pick]:
    """Re-practice of a concept whose every item was answered lately: ``count`` of them,
    those answered wrong last time first, then the least recently answered.

    The band does not filter here: the bank has nothing fresher, and an item the
    student got wrong is the one most worth another go. The caller orders all practice
    by difficulty, so the session still climbs easy -> medium -> hard.
    """
    if count <= 0:
        return []
    low, high = settings.band
    middle = (low + high) / 2
    scored = [(predict(item, states), item) for item in candidates if item.id not in used]

    def priority(entry: tuple[float, ItemCandidate]):
        p, item = entry
        last = last_answers.get(item.id)
        return (
            last is None or last.correct is not False,  # answered wrong last time first
            last.answered_at.timestamp() if last else float("-inf"),
            abs(p - middle),
            str(item.id),
        )

    name = graph.concepts[plan.concept_key].name
    picks: list[Pick] = []
    for p, item in sorted(scored, key=priority)[:count]:
        used.add(item.id)
        last = last_answers.get(item.id)
        label = item.difficulty_label or label_for_difficulty(item.effective_difficulty)
        if last is not None and last.correct is False:
            history = "answered wrong last time"
        elif last is not None and last.correct:
            history = "answered right last time"
        else:
            history = "answered lately"
        picks.append(
            _pick(
                plan,
                item,
                label,
                p,
                low <= p <= high,
                f"{_KIND_TEXT[plan.kind]} {name} again ({plan.mastery:.0f}/100): {label} "
                f"item, {history}; every {name} item was answered in the last "
                f"{settings.recent_days:g} days and {name} is not mastered yet",
                again=True,
            )
        )
    return picks


def _allowed_concepts(
    graph: ConceptGraph, states: Mapping[str, ConceptState], settings: GeneratorSettings
) -> set[str]:
    """Concepts an item may touch: not excluded, and prerequisites ready or pinned."""
    allowed = set()
    for key, prereqs in graph.prerequisites.items():
        if key in settings.excluded:
            continue
        ready = all(settings.is_ready(states.get(p)) for p in prereqs)
        if ready or key in settings.pinned:
            allowed.add(key)
    return allowed


def _split(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` near-equal integers, larger first."""
    if parts <= 0:
        return []
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _names(graph: ConceptGraph, keys: Iterable[str], mastery_of: Callable[[str], float]) -> str:
    return ", ".join(f"{graph.concepts[k].name} {mastery_of(k):.0f}/100" for k in sorted(keys))


def _days_since(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    return (now - moment).total_seconds() / 86400.0


def _logit(p: float) -> float:
    p = min(max(p, 0.01), 0.99)
    return math.log(p / (1.0 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
