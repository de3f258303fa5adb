"""Mastery engine: monotone updates, decay, multi-concept credit, explanation, storage."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masteryai_lti.mastery import engine
from masteryai_lti.mastery.engine import ItemState, MasteryParams, StudentState

PARAMS = MasteryParams()
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = 86400.0

CONCEPTS = ["fractions", "decimals", "ratios"]

attempt_strategy = st.tuples(
    st.lists(st.sampled_from(CONCEPTS), min_size=1, max_size=3, unique=True),
    st.booleans(),
    st.floats(min_value=0.0, max_value=90 * DAY),  # gap before the attempt
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=3600.0)),
    st.floats(min_value=-3.0, max_value=3.0),  # item difficulty
)


def _mastery(student: StudentState, concept: str, now: float, params=PARAMS) -> float:
    return engine.concept_mastery(params, student, concept, now).mastery


def _replay(history, params=PARAMS) -> tuple[StudentState, float]:
    student = StudentState.new(params)
    now = T0.timestamp()
    for concepts, correct, gap, duration, difficulty in history:
        now += gap
        item = ItemState.new(params, difficulty)
        engine.update(params, student, item, concepts, correct, now, duration)
    return student, now


@settings(max_examples=200, deadline=None)
@given(
    history=st.lists(attempt_strategy, max_size=25),
    attempt=attempt_strategy,
)
def test_correct_never_lowers_and_wrong_never_raises_the_concepts_mastery(history, attempt):
    student, now = _replay(history)
    concepts, correct, gap, duration, difficulty = attempt
    now += gap
    before = {c: _mastery(student, c, now) for c in CONCEPTS}
    engine.update(
        PARAMS, student, ItemState.new(PARAMS, difficulty), concepts, correct, now, duration
    )
    for concept in concepts:
        after = _mastery(student, concept, now)
        if correct:
            assert after >= before[concept] - 1e-9
        else:
            assert after <= before[concept] + 1e-9


def test_correct_answers_raise_and_wrong_answers_lower_strictly():
    student = StudentState.new(PARAMS)
    now = T0.timestamp()
    start = _mastery(student, "fractions", now)
    engine.update(PARAMS, student, ItemState.new(PARAMS), ["fractions"], True, now)
    up = _mastery(student, "fractions", now)
    engine.update(PARAMS, student, ItemState.new(PARAMS), ["fractions"], False, now)
    down = _mastery(student, "fractions", now)
    assert up > start
    assert down < up


def _practised(correct_answers: int, params=PARAMS) -> tuple[StudentState, float]:
    student = StudentState.new(params)
    now = T0.timestamp()
    for k in range(correct_answers):
        engine.update(params, student, ItemState.new(params), ["fractions"], True, now + 60 * k)
    return student, now + 60 * correct_answers


def test_decay_lowers_mastery_over_idle_time_and_never_below_the_prior():
    student, now = _practised(8)
    practised = _mastery(student, "fractions", now)
    week = _mastery(student, "fractions", now + 7 * DAY)
    quarter = _mastery(student, "fractions", now + 90 * DAY)
    decade = _mastery(student, "fractions", now + 3650 * DAY)
    # The prior for this student: a concept never practised (same ability).
    prior = _mastery(student, "never-seen", now + 3650 * DAY)
    assert practised > week > quarter > decade
    assert decade >= prior - 1e-9
    assert decade - prior < 1.0  # it does return to the prior eventually


def test_decay_never_raises_a_concept_below_the_prior():
    student = StudentState.new(PARAMS)
    now = T0.timestamp()
    for k in range(6):
        engine.update(PARAMS, student, ItemState.new(PARAMS), ["fractions"], False, now + 60 * k)
    weak = _mastery(student, "fractions", now + 400)
    assert _mastery(student, "fractions", now + 365 * DAY) == pytest.approx(weak)


def test_decay_term_explains_the_idle_drop_in_prediction():
    student, now = _practised(8)
    fresh = engine.predict(PARAMS, student, None, ["fractions"], now)
    stale = engine.predict(PARAMS, student, None, ["fractions"], now + 120 * DAY)
    assert fresh.terms["decay"] == pytest.approx(0.0, abs=1e-3)
    assert stale.terms["decay"] < -0.1
    assert stale.probability < fresh.probability


def test_multi_concept_item_credits_each_concept():
    student = StudentState.new(PARAMS)
    now = T0.timestamp()
    before = {c: _mastery(student, c, now) for c in CONCEPTS}
    engine.update(PARAMS, student, ItemState.new(PARAMS), ["fractions", "decimals"], True, now)
    assert _mastery(student, "fractions", now) > before["fractions"]
    assert _mastery(student, "decimals", now) > before["decimals"]
    assert student.concepts["fractions"].attempts == 1
    assert student.concepts["decimals"].correct == 1
    assert "ratios" not in student.concepts
    # The concept itself gained more than the ability alone moved an untouched concept.
    assert _mastery(student, "fractions", now) > _mastery(student, "ratios", now)


def test_gains_are_smaller_near_mastery():
    def gain(student: StudentState, now: float) -> float:
        before = _mastery(student, "fractions", now)
        engine.update(PARAMS, student, ItemState.new(PARAMS), ["fractions"], True, now)
        return _mastery(student, "fractions", now) - before

    novice = StudentState.new(PARAMS)
    expert, now = _practised(25)
    assert _mastery(expert, "fractions", now) > 85
    assert gain(expert, now) < gain(novice, now)


def test_prediction_is_the_sum_of_named_terms():
    student, now = _practised(3)
    item = ItemState.new(PARAMS, 0.8)
    prediction = engine.predict(PARAMS, student, item, ["fractions", "decimals"], now)
    assert set(prediction.terms) == {
        "bias",
        "first_attempt",
        "ability",
        "concept_mastery",
        "decay",
        "prerequisite_transfer",
        "item_difficulty",
        "uncertainty",
        "calibration",
    }
    assert sum(prediction.terms.values()) == pytest.approx(prediction.logit)
    assert prediction.probability == pytest.approx(1 / (1 + math.exp(-prediction.logit)))
    assert prediction.terms["item_difficulty"] == pytest.approx(-0.8)
    assert prediction.terms["uncertainty"] < 0  # shrinks towards 50 % when above it


def test_harder_items_are_predicted_lower_and_time_spent_weights_evidence():
    student, now = _practised(2)
    easy = engine.predict(PARAMS, student, ItemState.new(PARAMS, -1.0), ["fractions"], now)
    hard = engine.predict(PARAMS, student, ItemState.new(PARAMS, 1.0), ["fractions"], now)
    assert easy.probability > hard.probability

    guessed, thought = StudentState.new(PARAMS), StudentState.new(PARAMS)
    engine.update(PARAMS, guessed, ItemState.new(PARAMS), ["fractions"], True, now, duration=1.0)
    engine.update(PARAMS, thought, ItemState.new(PARAMS), ["fractions"], True, now, duration=40.0)
    assert _mastery(guessed, "fractions", now) < _mastery(thought, "fractions", now)


def test_item_difficulty_is_learned_online():
    item = ItemState.new(PARAMS)
    now = T0.timestamp()
    for k in range(30):
        strong, _ = _practised(6)
        engine.update(PARAMS, strong, item, ["fractions"], False, now + k)
    assert item.difficulty > 1.0
    assert item.responses == 30
    assert item.var < PARAMS.item_var


def test_prerequisite_transfer_informs_a_new_concept_and_fades_with_evidence():
    prerequisites = {"ratios": ["fractions"]}
    student, now = _practised(10)
    with_transfer = engine.predict(PARAMS, student, None, ["ratios"], now, prerequisites)
    without = engine.predict(PARAMS, student, None, ["ratios"], now)
    assert with_transfer.terms["prerequisite_transfer"] > 0
    assert with_transfer.probability > without.probability
    for k in range(10):
        engine.update(PARAMS, student, None, ["ratios"], k % 2 == 0, now + k, None, prerequisites)
    later = engine.predict(PARAMS, student, None, ["ratios"], now + 20, prerequisites)
    assert later.terms["prerequisite_transfer"] < with_transfer.terms["prerequisite_transfer"]


def test_concept_mastery_reports_threshold_uncertainty_and_last_practised():
    student, now = _practised(20)
    report = engine.concept_mastery(PARAMS, student, "fractions", now, threshold=70)
    assert report.mastered and report.mastery >= 70
    assert report.attempts == 20 and report.correct == 20
    assert report.last_practiced == datetime.fromtimestamp(now - 60, UTC)
    assert report.peak_mastery >= report.mastery
    unseen = engine.concept_mastery(PARAMS, student, "ratios", now, threshold=70)
    assert unseen.attempts == 0 and unseen.last_practiced is None
    assert unseen.uncertainty > report.uncertainty
    assert not engine.concept_mastery(PARAMS, student, "fractions", now, threshold=99.9).mastered
    assert set(engine.mastery_report(PARAMS, student, now)) == {"fractions"}


def test_state_round_trips_through_json():
    student, now = _practised(5)
    engine.update(PARAMS, student, ItemState.new(PARAMS), ["decimals", "ratios"], False, now)
    item = ItemState.new(PARAMS, 0.3)
    engine.update(PARAMS, student, item, ["ratios"], True, now + 5, 12.0)
    restored = StudentState.from_dict(json.loads(json.dumps(student.to_dict())))
    restored_item = ItemState.from_dict(json.loads(json.dumps(item.to_dict())))
    assert restored == student
    assert restored_item == item
    later = now + 30 * DAY
    assert engine.predict(PARAMS, restored, restored_item, ["ratios"], later) == engine.predict(
        PARAMS, student, item, ["ratios"], later
    )


def test_datetime_and_posix_clocks_agree():
    a, b = StudentState.new(PARAMS), StudentState.new(PARAMS)
    moment = T0 + timedelta(days=3)
    engine.update(PARAMS, a, None, ["fractions"], True, moment)
    engine.update(PARAMS, b, None, ["fractions"], True, moment.timestamp())
    assert a == b


def test_params_round_trip_and_shipped_defaults_load():
    params = replace(PARAMS, bias=0.3, gain_correct=0.2)
    assert MasteryParams.from_dict({**params.to_dict(), "unknown": 1}) == params
    assert MasteryParams.from_dict({}) == MasteryParams()
    shipped = engine.default_params()
    assert isinstance(shipped, MasteryParams)
    assert 0 < shipped.concept_var and 0 <= shipped.gain_wrong <= shipped.gain_correct + 1


def test_concept_priors_learn_where_students_start_and_anchor_decay():
    priors: dict[str, engine.ConceptPrior] = {}
    now = T0.timestamp()
    # Everyone fails their first "ratios" item: the concept's starting level drops.
    for k in range(40):
        student = StudentState.new(PARAMS)
        engine.update(PARAMS, student, None, ["ratios"], False, now + k, None, None, priors)
    assert priors["ratios"].students == 40
    assert priors["ratios"].mean < PARAMS.concept_mean - 0.5
    newcomer = StudentState.new(PARAMS)
    with_prior = engine.predict(PARAMS, newcomer, None, ["ratios"], now, None, priors)
    without = engine.predict(PARAMS, newcomer, None, ["ratios"], now)
    assert with_prior.probability < without.probability
    unseen = engine.concept_mastery(PARAMS, newcomer, "ratios", now, concept_priors=priors)
    assert unseen.mastery < engine.concept_mastery(PARAMS, newcomer, "ratios", now).mastery

    # A student who then learns it decays back to that concept's own start, not below.
    for k in range(10):
        engine.update(PARAMS, newcomer, None, ["ratios"], True, now + 60 * k, None, None, priors)
    start = newcomer.concepts["ratios"].prior
    assert start is not None and start < PARAMS.concept_mean
    long_after = now + 3650 * DAY
    assert newcomer.concepts["ratios"].mean > start
    decayed = engine.predict(PARAMS, newcomer, None, ["ratios"], long_after)
    assert decayed.terms["concept_mastery"] + decayed.terms["decay"] == pytest.approx(
        start, abs=1e-3
    )
    restored = engine.ConceptPrior.from_dict(json.loads(json.dumps(priors["ratios"].to_dict())))
    assert restored == priors["ratios"]
    assert StudentState.from_dict(json.loads(json.dumps(newcomer.to_dict()))) == newcomer


@settings(max_examples=100, deadline=None)
@given(history=st.lists(attempt_strategy, max_size=15), attempt=attempt_strategy)
def test_monotone_updates_hold_with_concept_priors(history, attempt):
    priors: dict[str, engine.ConceptPrior] = {"fractions": engine.ConceptPrior(-1.0, 0.5, 9)}
    student = StudentState.new(PARAMS)
    now = T0.timestamp()
    for concepts, correct, gap, duration, difficulty in history:
        now += gap
        item = ItemState.new(PARAMS, difficulty)
        engine.update(PARAMS, student, item, concepts, correct, now, duration, None, priors)
    concepts, correct, gap, duration, difficulty = attempt
    now += gap

    def mastery(concept: str) -> float:
        return engine.concept_mastery(PARAMS, student, concept, now, concept_priors=priors).mastery

    before = {c: mastery(c) for c in concepts}
    item = ItemState.new(PARAMS, difficulty)
    engine.update(PARAMS, student, item, concepts, correct, now, duration, None, priors)
    for concept in concepts:
        if correct:
            assert mastery(concept) >= before[concept] - 1e-9
        else:
            assert mastery(concept) <= before[concept] + 1e-9


@settings(max_examples=100, deadline=None)
@given(history=st.lists(attempt_strategy, max_size=15), attempt=attempt_strategy)
def test_monotone_updates_hold_with_prerequisite_transfer(history, attempt):
    prerequisites = {"ratios": ["fractions", "decimals"], "decimals": ["fractions"]}
    student = StudentState.new(PARAMS)
    now = T0.timestamp()
    for concepts, correct, gap, duration, difficulty in history:
        now += gap
        item = ItemState.new(PARAMS, difficulty)
        engine.update(PARAMS, student, item, concepts, correct, now, duration, prerequisites)
    concepts, correct, gap, duration, difficulty = attempt
    now += gap

    def mastery(concept: str) -> float:
        return engine.concept_mastery(PARAMS, student, concept, now, 70, prerequisites).mastery

    before = {c: mastery(c) for c in concepts}
    item = ItemState.new(PARAMS, difficulty)
    engine.update(PARAMS, student, item, concepts, correct, now, duration, prerequisites)
    for concept in concepts:
        if correct:
            assert mastery(concept) >= before[concept] - 1e-9
        else:
            assert mastery(concept) <= before[concept] + 1e-9


def test_calibration_terms_explain_a_tempered_prediction_and_a_first_attempt():
    student, now = _practised(3)
    item = ItemState.new(PARAMS, 0.8)
    calibrated = replace(PARAMS, temperature=0.8, first_attempt_bias=-0.3)
    shifted = replace(calibrated, calibration_offset=0.2)
    plain = engine.predict(PARAMS, student, item, ["fractions", "decimals"], now)
    tempered = engine.predict(calibrated, student, item, ["fractions", "decimals"], now)
    assert sum(tempered.terms.values()) == pytest.approx(tempered.logit)
    assert tempered.probability == pytest.approx(1 / (1 + math.exp(-tempered.logit)))
    # "decimals" was never practised: half the item's concepts take the first-attempt offset.
    assert tempered.terms["first_attempt"] == pytest.approx(-0.15)
    assert plain.terms["first_attempt"] == 0.0 and plain.terms["calibration"] == 0.0
    before_temperature = tempered.logit - tempered.terms["calibration"]
    assert tempered.logit == pytest.approx(0.8 * before_temperature)
    moved = engine.predict(shifted, student, item, ["fractions", "decimals"], now)
    assert moved.terms["calibration"] == pytest.approx(tempered.terms["calibration"] + 0.2)
    practised = engine.predict(calibrated, student, item, ["fractions"], now)
    assert practised.terms["first_attempt"] == 0.0
    # A temperature below 1 pulls both a confident and a doubtful prediction towards 50 %.
    hard = ItemState.new(PARAMS, 4.0)
    for target in (item, hard):
        p_plain = engine.predict(PARAMS, student, target, ["fractions"], now).probability
        p_tempered = engine.predict(calibrated, student, target, ["fractions"], now).probability
        assert abs(p_tempered - 0.5) < abs(p_plain - 0.5)


def test_temperature_calibrates_reported_mastery_too():
    student, now = _practised(12)
    tempered = replace(PARAMS, temperature=0.7)
    plain = engine.concept_mastery(PARAMS, student, "fractions", now)
    cooled = engine.concept_mastery(tempered, student, "fractions", now)
    assert 50 < cooled.mastery < plain.mastery


def test_temperature_calibrates_reports_without_changing_what_the_filter_learns():
    plain = replace(PARAMS, temperature=1.0)
    tempered = replace(PARAMS, temperature=0.8, calibration_offset=0.05)
    states, reported = [], []
    for params in (plain, tempered):
        student, item = StudentState.new(params), ItemState.new(params, 0.3)
        now = T0.timestamp()
        seen = []
        for k, correct in enumerate([True, False, True, True, False, True]):
            prediction = engine.update(params, student, item, ["fractions"], correct, now + 60 * k)
            seen.append(prediction.probability)
        states.append((student.to_dict(), item.to_dict()))
        reported.append(seen)
    assert states[0] == states[1]
    assert all(abs(t - 0.5) < abs(p - 0.5) for p, t in zip(*reported, strict=True))


CALIBRATED = MasteryParams(
    temperature=0.85, calibration_offset=0.1, first_attempt_bias=-0.4, uncertainty_scale=1.6
)


@settings(max_examples=100, deadline=None)
@given(history=st.lists(attempt_strategy, max_size=15), attempt=attempt_strategy)
def test_monotone_updates_hold_with_calibration_terms(history, attempt):
    student, now = _replay(history, CALIBRATED)
    concepts, correct, gap, duration, difficulty = attempt
    now += gap
    before = {c: _mastery(student, c, now, CALIBRATED) for c in concepts}
    item = ItemState.new(CALIBRATED, difficulty)
    engine.update(CALIBRATED, student, item, concepts, correct, now, duration)
    for concept in concepts:
        after = _mastery(student, concept, now, CALIBRATED)
        if correct:
            assert after >= before[concept] - 1e-9
        else:
            assert after <= before[concept] + 1e-9


def test_copied_concepts_start_equal_and_then_go_their_own_way():
    student = StudentState.new(PARAMS)
    item = ItemState.new(PARAMS)
    engine.update(PARAMS, student, item, ["1"], True, T0)
    engine.update(PARAMS, student, item, ["1"], True, T0 + timedelta(days=1))
    engine.copy_concepts(student, {"1": "11", "2": "12"})
    assert "12" not in student.concepts  # never practised: nothing to copy
    later = T0 + timedelta(days=3)
    original = engine.concept_mastery(PARAMS, student, "1", later)
    copied = engine.concept_mastery(PARAMS, student, "11", later)
    assert replace(copied, concept="1") == original
    engine.update(PARAMS, student, item, ["11"], False, later)
    assert student.concepts["1"].attempts == 2 and student.concepts["11"].attempts == 3
    assert engine.concept_mastery(PARAMS, student, "11", later).mastery < original.mastery
    restored = StudentState.from_dict(json.loads(json.dumps(student.to_dict())))
    assert restored.concepts["11"] == student.concepts["11"]
