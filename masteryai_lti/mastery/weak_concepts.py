"""Weak-concept detection (pure).

A concept is weak for a student when, after at least one attempt, it is

- *below threshold*: current mastery under the mastery threshold;
- *falling*: current mastery has dropped by ``falling_drop`` points or more from
  the peak reached over the last ``window`` attempts (wrong answers or decay);
- *blocking*: it is not mastered and ``blocking_min`` or more later concepts that
  depend on it (transitively) are not mastered either.

Each finding carries the evidence behind it: the recent attempts with the mastery
after each, and the dependants it holds back.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from masteryai_lti.mastery.graph import ConceptGraph
from masteryai_lti.mastery.recommender import ConceptState

REASONS = ("below_threshold", "falling", "blocking")


@dataclass(frozen=True)
class AttemptEvidence:
    """One attempt on a concept and the mastery the model held right after it."""

    occurred_at: datetime
    item_id: Hashable | None
    correct: bool
    mastery_after: float


@dataclass(frozen=True)
class WeakConcept:
    """A weak concept, why it is weak, and the evidence."""

    concept_key: str
    name: str
    mastery: float
    reasons: tuple[str, ...]
    explanation: str
    drop: float
    blocked_dependants: tuple[str, ...]
    evidence: tuple[AttemptEvidence, ...]
    severity: float


@dataclass(frozen=True)
class WeakConceptSettings:
    """Detection thresholds; defaults suit a 0-100 mastery scale."""

    mastery_threshold: float = 70.0
    window: int = 5
    falling_drop: float = 10.0
    blocking_min: int = 2


def detect_weak_concepts(
    graph: ConceptGraph,
    states: Mapping[str, ConceptState],
    history: Mapping[str, Sequence[AttemptEvidence]],
    now: datetime,
    settings: WeakConceptSettings | None = None,
) -> list[WeakConcept]:
    """Return the student's weak concepts, most severe first.

    ``states`` holds current mastery (decay applied at ``now``); ``history`` maps a
    concept key to its attempts in chronological order. Concepts never attempted
    are not reported: they are untouched, not weak.
    """
    settings = settings or WeakConceptSettings()
    threshold = settings.mastery_threshold
    found: list[WeakConcept] = []
    for key in graph.topological_order():
        state = states.get(key)
        attempts = [a for a in history.get(key, ()) if a.occurred_at <= now]
        if state is None or not attempts:
            continue
        m = state.mastery
        recent = attempts[-settings.window :]
        peak = max(a.mastery_after for a in recent)
        drop = max(0.0, peak - m)
        reasons: list[str] = []
        parts: list[str] = []
        name = graph.concepts[key].name
        if m < threshold:
            reasons.append("below_threshold")
            parts.append(f"mastery {m:.0f}/100 is below {threshold:.0f}")
        if drop >= settings.falling_drop:
            reasons.append("falling")
            wrong = sum(1 for a in recent if not a.correct)
            parts.append(
                f"down {drop:.0f} points from {peak:.0f} "
                f"({wrong} of the last {len(recent)} answers wrong"
                + (", plus decay since last practice)" if _decayed(state, recent) else ")")
            )
        blocked: tuple[str, ...] = ()
        if m < threshold:
            blocked = tuple(
                sorted(
                    d
                    for d in graph.descendants(key)
                    if (states[d].mastery if d in states else 0.0) < threshold
                )
            )
            if len(blocked) >= settings.blocking_min:
                reasons.append("blocking")
                parts.append(f"holds back {len(blocked)} later concept(s)")
        if not reasons:
            continue
        severity = max(0.0, threshold - m) / max(threshold, 1.0) + drop / 100.0 + 0.1 * len(blocked)
        found.append(
            WeakConcept(
                concept_key=key,
                name=name,
                mastery=m,
                reasons=tuple(reasons),
                explanation=f"{name}: " + "; ".join(parts),
                drop=drop,
                blocked_dependants=blocked if "blocking" in reasons else (),
                evidence=tuple(recent),
                severity=round(severity, 4),
            )
        )
    found.sort(key=lambda w: (-w.severity, w.concept_key))
    return found


def _decayed(state: ConceptState, recent: Sequence[AttemptEvidence]) -> bool:
    """True when current mastery is below the value right after the last attempt."""
    return state.mastery < recent[-1].mastery_after - 0.5
