from __future__ import annotations

import numpy as np
import pytest

from masteryai_lti.engagement.engine import FACTORS, compute_course
from masteryai_lti.engagement.risk import (
    FEATURES,
    RiskModel,
    RiskThresholds,
    assess_course,
    features,
    fit_logistic,
    load_model,
)

from .cohort import generated_course


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
    r = assess_course(c, model, RiskThresholds(0.95, 0.9))
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
    th = RiskThresholds(flag_at=0.5, clear_below=0.4)
    r = assess_course(c, model, th)
    between = (r.probability >= 0.4) & (r.probability < 0.5) & (c.days_since_active >= 0)
    assert between.any()
    again = assess_course(c, model, th, previously_flagged=r.flagged)
    assert (again.flagged == r.flagged).all()  # nothing changed: nothing flickers
    was = assess_course(c, model, th, previously_flagged=np.ones(c.size, dtype=bool))
    assert was.flagged[between].all()
    assert not r.flagged[between].any()


def test_thresholds_are_validated():
    with pytest.raises(ValueError):
        RiskThresholds(flag_at=0.3, clear_below=0.5)


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
