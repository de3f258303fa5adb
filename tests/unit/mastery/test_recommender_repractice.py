"""Re-practice: a concept not yet mastered whose every item was answered lately is
practised again instead of leaving the student with nothing to do."""

from datetime import timedelta

from masteryai_lti.mastery.recommender import (
    AnsweredItem,
    ConceptState,
    GeneratorSettings,
    ItemCandidate,
    generate_assignment,
)
from tests.unit.mastery.test_recommender import NOW, graph_abc, states

LABELS = ("easy", "easy", "medium", "medium", "hard", "hard")
DIFFICULTY = {"easy": -1.0, "medium": 0.0, "hard": 1.0}


def six_items(concept: str = "a") -> list[ItemCandidate]:
    """The demo bank's shape: six items for a concept, two of each difficulty."""
    return [
        ItemCandidate(f"{concept}{i}", (concept,), label, DIFFICULTY[label])
        for i, label in enumerate(LABELS)
    ]


def session(items, *, hours_ago: float, wrong=()) -> list[AnsweredItem]:
    """One sitting that answered ``items`` in order, a minute apart, ``hours_ago``."""
    start = NOW - timedelta(hours=hours_ago)
    return [
        AnsweredItem(item.id, start + timedelta(minutes=n), correct=item.id not in wrong)
        for n, item in enumerate(items)
    ]


def test_a_struggling_student_who_answered_every_item_practises_them_again():
    items = six_items()
    answered = session(items, hours_ago=1, wrong={"a3", "a5"})  # 4 of 6

    result = generate_assignment(graph_abc(), states(a=35), items, answered, NOW)

    assert sorted(p.item_id for p in result.picks) == [i.id for i in items]
    assert all(p.again and p.kind == "practice" for p in result.picks)
    difficulties = [p.difficulty for p in result.picks]
    assert difficulties == sorted(difficulties), "still easy -> medium -> hard"
    reasons = {p.item_id: p.reason for p in result.picks}
    assert "again" in reasons["a3"] and "answered wrong last time" in reasons["a3"]
    assert "answered right last time" in reasons["a0"]
    assert "a" not in {s.concept_key for s in result.skipped if s.kind == "no_items"}


def test_wrong_answers_come_back_first_then_the_least_recently_answered():
    items = six_items()
    older = session(items[:3], hours_ago=30)
    newer = session(items[3:], hours_ago=2, wrong={"a4"})
    config = GeneratorSettings(length=3, max_focus_concepts=1)

    result = generate_assignment(graph_abc(), states(a=35), items, older + newer, NOW, config)

    chosen = {p.item_id for p in result.picks}
    assert "a4" in chosen  # wrong last time
    assert chosen == {"a4", "a0", "a1"}  # then the two answered longest ago


def test_the_latest_answer_to_an_item_decides_whether_it_was_wrong():
    items = six_items()
    first = session(items, hours_ago=48, wrong={"a2"})
    redo = [AnsweredItem("a2", NOW - timedelta(hours=1), correct=True)]
    config = GeneratorSettings(length=1, max_focus_concepts=1)

    result = generate_assignment(graph_abc(), states(a=35), items, first + redo, NOW, config)

    assert [p.item_id for p in result.picks] == ["a0"]  # a2 was put right since


def test_unanswered_items_still_come_before_any_repeat():
    items = six_items()
    answered = session(items[:4], hours_ago=1, wrong={"a1"})

    result = generate_assignment(graph_abc(), states(a=35), items, answered, NOW)

    assert {p.item_id for p in result.picks} <= {"a4", "a5"}
    assert result.picks and not any(p.again for p in result.picks)


def test_a_mastered_concept_is_not_practised_again():
    items = six_items()
    answered = session(items, hours_ago=1)
    mastered = {"a": ConceptState(mastery=90, attempts=6, last_practiced=NOW)}

    result = generate_assignment(graph_abc(), mastered, items, answered, NOW)

    assert result.picks == []


def test_concepts_waiting_for_the_exhausted_one_stay_blocked():
    items = six_items("a") + six_items("b")
    answered = session(six_items("a"), hours_ago=1, wrong={"a4", "a5"})

    result = generate_assignment(graph_abc(), states(a=40), items, answered, NOW)

    assert {p.concept_key for p in result.picks} == {"a"}
    assert next(s for s in result.skipped if s.concept_key == "b").kind == "blocked"


def test_turning_repractice_off_keeps_the_week_long_rest():
    items = six_items()
    answered = session(items, hours_ago=1, wrong={"a5"})
    config = GeneratorSettings(repractice_when_exhausted=False)

    result = generate_assignment(graph_abc(), states(a=35), items, answered, NOW, config)

    assert result.picks == []
    assert [s.kind for s in result.skipped if s.concept_key == "a"] == ["no_items"]


def test_without_correctness_the_least_recently_answered_come_first():
    items = six_items()
    answered = [
        AnsweredItem(item.id, NOW - timedelta(hours=10 - n)) for n, item in enumerate(items)
    ]
    config = GeneratorSettings(length=2, max_focus_concepts=1)

    result = generate_assignment(graph_abc(), states(a=35), items, answered, NOW, config)

    assert {p.item_id for p in result.picks} == {"a0", "a1"}
    assert all("answered lately" in p.reason for p in result.picks)
