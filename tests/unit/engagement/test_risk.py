from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from masteryai_lti.engagement.engine import (
    FACTORS,
    ActivityTable,
    CourseInput,
    DueItem,
    SubmissionTable,
    compute_course,
    course_reference,
)
from masteryai_lti.engagement.risk import (
    FEATURES,
    RiskModel,
    RiskSettings,
    RiskSettingsError,
    assess_course,
    features,
    fit_logistic,
    load_model,
)

from .cohort import AS_OF, generated_course

COL = {name: j for j, name in enumerate(FEATURES)}


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return load_model()


def test_shipped_model_has_provenance_and_sensible_signs(model):
    assert model.provenance["dataset"].startswith("OULAD")
    assert all(p.endswith(("2013B", "2013J")) for p in model.provenance["presentations"])
    coef = dict(zip(FEATURES, model.coef, strict=True))
    # More submission and more active days than the course median lower the risk.
    assert coef["rel_submission"] < 0 and coef["rel_attendance"] < 0
    assert coef["score_gap"] < 0


def test_roster_students_with_no_activity_are_flagged(model):
    inp = generated_course(80)
    roster = [*inp.roster, 99998, 99999]  # two students never seen in any event
    c = compute_course(
        type(inp)(roster, inp.activity, inp.items, inp.submissions, inp.as_of_day, 30)
    )
    r = assess_course(c, model, RiskSettings(0.95, 0.9))
    for sid in (99998, 99999):
        verdict = r.student(c.index_of(sid))
        assert verdict.flagged and verdict.no_activity
        assert any(x.factor == "recency" and "no activity" in x.text for x in verdict.reasons)


def test_reasons_are_one_to_three_actionable_first(model):
    c = compute_course(generated_course(200))
    r = assess_course(c, model)
    flagged = np.flatnonzero(r.flagged)
    assert flagged.size > 10
    for i in flagged:
        reasons = r.reasons(int(i))
        assert 1 <= len(reasons) <= 3
        kinds = [x.actionable for x in reasons]
        assert kinds == sorted(kinds, reverse=True)  # actionable before context
        impacts = [x.impact for x in reasons if x.actionable]
        assert impacts == sorted(impacts, reverse=True)


def counterfactual_agreement(c, r, model) -> float:
    """Share of flagged students for whom raising the first-cited factor to the
    course median lowers the risk more than raising any other factor."""
    good = total = 0
    for i in np.flatnonzero(r.flagged):
        reasons = r.reasons(int(i))
        if not reasons or not reasons[0].actionable:
            continue
        total += 1
        drops = []
        for j in range(len(FACTORS)):
            raised = c.raw.copy()
            raised[i, j] = max(raised[i, j], c.median[j])
            drops.append(r.probability[i] - model.predict(features(c, raised)[i : i + 1])[0])
        first = FACTORS.index(reasons[0].factor)
        good += drops[first] >= max(drops) - 1e-12
    return good / total


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_first_reason_is_the_best_counterfactual(model, seed):
    c = compute_course(generated_course(150, seed=seed))
    r = assess_course(c, model)
    assert counterfactual_agreement(c, r, model) >= 0.95


def test_hysteresis_keeps_a_flag_until_clearly_better(model):
    c = compute_course(generated_course(200))
    th = RiskSettings(flag_at=0.5, clear_below=0.4)
    r = assess_course(c, model, th)
    between = (r.probability >= 0.4) & (r.probability < 0.5) & (c.days_since_active >= 0)
    assert between.any()
    again = assess_course(c, model, th, previously_flagged=r.flagged)
    assert (again.flagged == r.flagged).all()  # nothing changed: nothing flickers
    was = assess_course(c, model, th, previously_flagged=np.ones(c.size, dtype=bool))
    assert was.flagged[between].all()
    assert not r.flagged[between].any()


def test_settings_are_validated_naming_each_field():
    with pytest.raises(RiskSettingsError) as bad:
        RiskSettings(flag_at=0.3, clear_below=0.5, outcome_rate=1.0)
    assert [e["path"] for e in bad.value.errors] == ["clear_below", "outcome_rate"]
    for rate in (0.0, -0.1, 0.99):
        with pytest.raises(RiskSettingsError):
            RiskSettings(outcome_rate=rate)
    assert RiskSettings(outcome_rate=0.01).outcome_rate == 0.01


def test_an_outcome_rate_recalibrates_without_reordering(model):
    c = compute_course(generated_course(300))
    oulad = assess_course(c, model)
    school = assess_course(c, model, RiskSettings(outcome_rate=0.1))
    same = assess_course(c, model, RiskSettings(outcome_rate=model.outcome_rate))
    assert (same.probability == oulad.probability).all()
    assert (school.probability < oulad.probability).all()
    order = np.argsort(oulad.probability, kind="stable")
    assert (np.diff(school.probability[order]) >= 0).all()
    # The same lever comes first for every student: the shift moves every counterfactual
    # by the same log-odds, and a larger log-odds change is a larger drop.
    assert (school.drop_if_median.argmax(axis=1) == oulad.drop_if_median.argmax(axis=1)).all()
    # Calibrated: the mean probability moves from near the model's share towards the course's.
    assert abs(school.probability.mean() - 0.1) < abs(oulad.probability.mean() - 0.1)
    assert model.for_outcome_rate(None) is model


def test_fit_logistic_recovers_a_known_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    p = 1 / (1 + np.exp(-(0.5 + 2.0 * x[:, 0] - 1.0 * x[:, 1])))
    y = (rng.random(4000) < p).astype(float)
    coef, intercept = fit_logistic(x, y, l2=0.0)
    assert coef == pytest.approx([2.0, -1.0], abs=0.2)
    assert intercept == pytest.approx(0.5, abs=0.15)


def test_model_round_trips_through_json(model):
    again = RiskModel.from_dict(model.to_dict())
    assert np.allclose(again.coef, model.coef) and again.intercept == pytest.approx(model.intercept)
    with pytest.raises(ValueError):
        RiskModel.from_dict({**model.to_dict(), "features": ["x"]})


def test_activity_details_feed_the_risk_features():
    """Events per active day, latest week against the typical week, days ahead of due."""
    rows = [
        # student 0: 2 active days, 10 + 2 events; 1 day in the latest week (AS_OF-6..AS_OF)
        (0, "resource_view", AS_OF - 20, 10.0),
        (0, "launch", AS_OF - 2, 2.0),
        # student 1: 4 active days, one event each, all in the latest week
        *[(1, "interaction", AS_OF - d, 1.0) for d in range(4)],
        # student 2: an attendance mark only (an active day, no events)
        (2, "attendance", AS_OF - 1, 1.0),
    ]
    items = [DueItem("a1", "submission", AS_OF - 3), DueItem("a2", "submission", AS_OF + 10)]
    subs = [(0, 0, AS_OF - 9, 0.8), (0, 1, AS_OF - 1, 0.9), (1, 0, AS_OF - 2, 0.5)]
    c = compute_course(
        CourseInput(
            roster=[1, 2, 3],
            activity=ActivityTable.from_rows(rows),
            items=items,
            submissions=SubmissionTable.from_rows(subs),
            as_of_day=AS_OF,
            period_days=30,
        )
    )
    assert c.events.tolist() == [12.0, 4.0, 0.0]
    # Student 0 handed a1 in 6 days early and a2 (not due yet) 11 days early; student 1 late.
    assert c.mean_early_days.tolist() == [8.5, 0.0, 0.0]
    x = features(c)
    assert x[:, COL["intensity"]] == pytest.approx(np.log1p([12.0, 4.0, 0.0]) - np.log1p([2, 4, 1]))
    assert x[:, COL["early_days"]] == pytest.approx(np.log1p([8.5, 0.0, 0.0]))
    last = np.log1p(c.weekly[:, -1]) - np.log1p(c.typical_week)
    assert c.weekly[:, -1].tolist() == [1, 4, 1]
    assert x[:, COL["rel_last_week"]] == pytest.approx(last)


def test_counterfactual_moves_the_event_count_with_the_raised_factor():
    c = compute_course(generated_course(120, seed=5))
    raised = c.raw.copy()
    j = FACTORS.index("resource")
    raised[:, j] += 7.0
    x0, x1 = features(c), features(c, raised)
    expected = np.log1p(c.events + 7.0) - np.log1p(c.raw[:, FACTORS.index("attendance")])
    assert x1[:, COL["intensity"]] == pytest.approx(expected)
    others = [k for k in range(len(FEATURES)) if k not in (COL["intensity"], COL["rel_resource"])]
    assert np.array_equal(x0[:, others], x1[:, others])


def test_one_student_scored_against_the_reference_gets_the_class_features(model):
    """The product scores a student alone after an event: same features, same risk."""
    context = np.arange(150) % 4, np.arange(150) % 3
    inp = replace(generated_course(150, seed=11), other_courses=context[0], earlier_runs=context[1])
    full = compute_course(inp)
    ref = course_reference(full)
    for i in (0, 37, 149):
        a, s = inp.activity, inp.submissions
        mine, subs = a.student == i, s.student == i
        alone = compute_course(
            CourseInput(
                roster=[inp.roster[i]],
                activity=ActivityTable(
                    a.student[mine] * 0, a.kind[mine], a.day[mine], a.count[mine]
                ),
                items=inp.items,
                submissions=SubmissionTable(
                    s.student[subs] * 0, s.item[subs], s.day[subs], s.score[subs]
                ),
                as_of_day=inp.as_of_day,
                period_days=inp.period_days,
                reference=ref,
                other_courses=[context[0][i]],
                earlier_runs=[context[1][i]],
            )
        )
        assert features(alone)[0] == pytest.approx(features(full)[i])
        p_alone = assess_course(alone, model).probability[0]
        assert p_alone == pytest.approx(assess_course(full, model).probability[i])


def test_enrolment_context_raises_risk_and_is_cited_after_the_factors(model):
    """Same activity, different circumstances: a repeater taking three other courses
    is at higher risk, and a flagged one hears why after the actionable reasons."""
    inp = generated_course(120, seed=5)
    n = len(inp.roster)
    plain = compute_course(inp)
    other = np.zeros(n, dtype=int)
    earlier = np.zeros(n, dtype=int)
    other[::2], earlier[::3] = 3, 1
    loaded = compute_course(replace(inp, other_courses=other, earlier_runs=earlier))
    x = features(loaded)
    assert x[:, COL["other_courses"]] == pytest.approx(np.log1p(other))
    assert x[:, COL["earlier_runs"]] == pytest.approx(np.log1p(earlier))
    # The index measures engagement only: circumstances leave it alone.
    assert loaded.score.tolist() == plain.score.tolist()
    before = assess_course(plain, model).probability
    r = assess_course(loaded, model, RiskSettings(0.05, 0.01))
    touched = (other > 0) | (earlier > 0)
    assert (r.probability[touched] > before[touched]).all()
    assert r.probability[~touched] == pytest.approx(before[~touched])
    texts = {i: [x.text for x in r.reasons(i, limit=10)] for i in range(n)}
    assert "taking 3 other courses at the same time" in texts[0]
    assert "taking the course again after an earlier run" in texts[0]  # row 0: both
    assert not any("other courses" in t or "again" in t for t in texts[1])
    for i in range(n):
        kinds = [x.actionable for x in r.reasons(i, limit=10)]
        assert kinds == sorted(kinds, reverse=True)


def test_enrolment_context_must_cover_the_roster():
    inp = generated_course(10)
    with pytest.raises(ValueError, match="one value per roster student"):
        compute_course(replace(inp, other_courses=[1, 2]))
