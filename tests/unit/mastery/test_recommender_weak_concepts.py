"""Weak-concept detection: below threshold, falling, blocking, with evidence."""

from datetime import UTC, datetime, timedelta

from masteryai_lti.mastery.graph import Concept, ConceptGraph
from masteryai_lti.mastery.recommender import ConceptState
from masteryai_lti.mastery.weak_concepts import (
    AttemptEvidence,
    WeakConceptSettings,
    detect_weak_concepts,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def graph() -> ConceptGraph:
    """root -> mid -> (leaf1, leaf2); other alone."""
    g = ConceptGraph()
    for k in ("root", "mid", "leaf1", "leaf2", "other"):
        g.add_concept(Concept(k, k.title()))
    g.add_prerequisite("mid", "root")
    g.add_prerequisite("leaf1", "mid")
    g.add_prerequisite("leaf2", "mid")
    return g


def evidence(*pairs):
    """(correct, mastery_after) pairs, one day apart, ending yesterday."""
    start = NOW - timedelta(days=len(pairs))
    return [
        AttemptEvidence(start + timedelta(days=i), f"i{i}", c, m) for i, (c, m) in enumerate(pairs)
    ]


def test_below_threshold_and_blocking_with_evidence():
    states = {"root": ConceptState(40, attempts=3), "mid": ConceptState(20)}
    history = {"root": evidence((False, 35), (True, 42), (False, 40))}
    found = detect_weak_concepts(graph(), states, history, NOW)
    assert [w.concept_key for w in found] == ["root"]
    weak = found[0]
    assert weak.reasons == ("below_threshold", "blocking")
    assert weak.blocked_dependants == ("leaf1", "leaf2", "mid")
    assert [e.item_id for e in weak.evidence] == ["i0", "i1", "i2"]
    assert "holds back 3" in weak.explanation


def test_falling_even_when_still_above_threshold():
    states = {"other": ConceptState(72, attempts=5)}
    history = {"other": evidence((True, 80), (True, 90), (False, 81), (False, 72))}
    (weak,) = detect_weak_concepts(graph(), states, history, NOW)
    assert weak.reasons == ("falling",)
    assert weak.drop == 18
    assert "2 of the last 4 answers wrong" in weak.explanation


def test_decay_since_last_attempt_counts_as_falling():
    states = {"other": ConceptState(75, attempts=2)}
    history = {"other": evidence((True, 88), (True, 90))}
    (weak,) = detect_weak_concepts(graph(), states, history, NOW)
    assert weak.reasons == ("falling",) and "decay" in weak.explanation


def test_healthy_and_unattempted_concepts_are_not_reported():
    states = {"other": ConceptState(85, attempts=4), "leaf1": ConceptState(10)}
    history = {"other": evidence((True, 80), (True, 85))}
    assert detect_weak_concepts(graph(), states, history, NOW) == []


def test_blocking_needs_enough_unmastered_dependants():
    states = {
        "mid": ConceptState(50, attempts=2),
        "leaf1": ConceptState(90),
        "leaf2": ConceptState(30),
    }
    history = {"mid": evidence((False, 50))}
    (weak,) = detect_weak_concepts(
        graph(), states, history, NOW, WeakConceptSettings(blocking_min=2)
    )
    assert weak.reasons == ("below_threshold",) and weak.blocked_dependants == ()


def test_most_severe_first():
    states = {"root": ConceptState(10, attempts=1), "other": ConceptState(65, attempts=1)}
    history = {"root": evidence((False, 10)), "other": evidence((True, 65))}
    found = detect_weak_concepts(graph(), states, history, NOW)
    assert [w.concept_key for w in found] == ["root", "other"]


def test_attempts_after_now_are_ignored():
    states = {"other": ConceptState(50, attempts=1)}
    future = [AttemptEvidence(NOW + timedelta(days=1), "x", False, 50)]
    assert detect_weak_concepts(graph(), states, {"other": future}, NOW) == []
