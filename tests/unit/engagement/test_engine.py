from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masteryai_lti.engagement.engine import (
    DEFAULT_WEIGHTS,
    FACTORS,
    ActivityTable,
    CourseInput,
    DueItem,
    SubmissionTable,
    WeightsError,
    band_for,
    compute_course,
    missing_work,
    normalise,
    score_with_raw,
    validate_weights,
)

from .cohort import AS_OF, generated_course

F = {name: j for j, name in enumerate(FACTORS)}


def course(activity_rows, items=(), submissions=(), roster=(1, 2, 3), weights=None):
    return compute_course(
        CourseInput(
            roster=list(roster),
            activity=ActivityTable.from_rows(activity_rows),
            items=list(items),
            submissions=SubmissionTable.from_rows(submissions),
            as_of_day=AS_OF,
            period_days=30,
            weights=weights or dict(DEFAULT_WEIGHTS),
        )
    )


def test_attendance_counts_distinct_active_days_in_period():
    rows = [
        (0, "launch", AS_OF, 1),
        (0, "resource_view", AS_OF, 3),  # same day: still one active day
        (0, "attendance", AS_OF - 3, 1),
        (0, "launch", AS_OF - 40, 1),  # outside the 30-day period
        (1, "launch", AS_OF - 1, 1),
    ]
    c = course(rows)
    assert c.raw[:, F["attendance"]].tolist() == [2, 1, 0]
    assert c.median[F["attendance"]] == 1.5  # of the students seen: 2 and 1
    assert c.normalised[:, F["attendance"]].tolist() == [1.0, 1 / 1.5, 0.0]
    assert c.student(2).factors[F["attendance"]].reason == "0 active days vs course median 1.5"
    assert c.days_since_active.tolist() == [0, 1, -1]


def test_students_never_seen_are_not_the_class_norm():
    """A roster synced from the LMS before most students opened anything: the medians
    are those of the students who have, so the absent score nothing and the present
    are told apart (counted in, the absent made every median 0: everyone scored 100)."""
    rows = [(0, "resource_view", AS_OF - d, 1) for d in range(10)]
    rows += [(1, "resource_view", AS_OF - d, 1) for d in range(5)]
    rows += [(1, "interaction", AS_OF, 2)]
    c = course(rows, roster=range(1, 8))
    assert c.median[F["attendance"]] == 7.5
    assert c.median[F["interaction"]] == 1  # of 0 and 2
    assert c.score[2:].tolist() == [0.0] * 5
    assert c.normalised[:2, F["attendance"]].tolist() == [1.0, pytest.approx(5 / 7.5)]
    assert 0 < c.score[0] < 100 and 0 < c.score[1] < 100
    nobody = course([])
    assert nobody.median.tolist() == [0.0] * len(FACTORS)
    assert nobody.score.tolist() == [0.0] * 3


def test_a_factor_the_class_hardly_uses_gives_no_points_to_students_never_seen():
    """Seen students: one chatted, two did not, so the interaction median is 0 and
    nobody seen loses points on it. Students never seen have done nothing at all:
    they score 0 (they showed 15 of 100 next to "no activity yet")."""
    rows = [(k, "resource_view", AS_OF - d, 1) for k in range(3) for d in range(4)]
    rows += [(0, "interaction", AS_OF, 3)]
    c = course(rows, roster=range(1, 6))

    assert c.median[F["interaction"]] == 0 and c.active_factors[F["interaction"]]
    assert c.normalised[:3, F["interaction"]].tolist() == [1.0, 1.0, 1.0]
    assert c.normalised[3:].tolist() == [[0.0] * len(FACTORS)] * 2
    assert c.score[3:].tolist() == [0.0, 0.0]
    assert c.score[1] == c.score[2] == 100.0


def test_count_factors_sum_event_counts_by_kind():
    rows = [
        (0, "quiz", AS_OF, 2),
        (1, "quiz", AS_OF, 4),
        (0, "interaction", AS_OF, 5),
        (2, "resource_view", AS_OF - 2, 7),
    ]
    c = course(rows)
    assert c.raw[:, F["quiz"]].tolist() == [2, 4, 0]
    assert c.raw[:, F["interaction"]].tolist() == [5, 0, 0]
    assert c.raw[:, F["resource"]].tolist() == [0, 0, 7]
    assert c.normalised[:, F["quiz"]].tolist() == [1.0, 1.0, 0.0]


def test_submission_and_timeliness_over_due_items():
    items = [DueItem("a", "submission", AS_OF - 10), DueItem("b", "submission", AS_OF - 2)]
    subs = [
        (0, 0, AS_OF - 11, 0.9),  # on time
        (0, 1, AS_OF - 2, 0.8),  # on time
        (1, 0, AS_OF - 3, 0.5),  # 7 days late: no timeliness credit
        (2, 1, AS_OF + 3, 1.0),  # after as_of: not known yet
    ]
    c = course([(0, "launch", AS_OF, 1)], items, subs)
    assert c.raw[:, F["submission"]].tolist() == [1.0, 0.5, 0.0]
    assert c.raw[:, F["timeliness"]].tolist() == [1.0, 0.0, 0.0]
    assert c.missing_items.tolist() == [0, 1, 2]
    assert np.isclose(c.mean_score[0], 0.85) and np.isnan(c.mean_score[2])
    assert "1 missing of 2" in c.student(1).factors[F["submission"]].reason


def test_missing_work_lists_each_students_unsubmitted_due_items_soonest_first():
    items = [
        DueItem("late-essay", "submission", AS_OF - 2),
        DueItem("early-quiz", "quiz", AS_OF - 20),
        DueItem("not-yet-due", "submission", AS_OF + 5),
        DueItem("long-ago", "submission", AS_OF - 45),  # before the period
    ]
    subs = [
        (0, 0, AS_OF, 0.7),  # late, but handed in
        (1, 1, AS_OF - 21, 1.0),
        (2, 1, AS_OF + 1, 1.0),  # after as_of: not known yet
    ]
    inp = CourseInput(
        roster=[1, 2, 3],
        activity=ActivityTable.from_rows([]),
        items=items,
        submissions=SubmissionTable.from_rows(subs),
        as_of_day=AS_OF,
        period_days=30,
        weights=dict(DEFAULT_WEIGHTS),
    )
    assert [it.key for it in missing_work(inp, 0)] == ["early-quiz"]
    assert [it.key for it in missing_work(inp, 1)] == ["late-essay"]
    assert [it.key for it in missing_work(inp, 2)] == ["early-quiz", "late-essay"]
    assert len(missing_work(inp, 2)) == compute_course(inp).missing_items[2]


def test_partial_lateness_earns_partial_credit():
    items = [DueItem("a", "submission", AS_OF - 10)]
    c = course([], items, [(0, 0, AS_OF - 10 + 2, None)], roster=(1,))
    assert c.raw[0, F["timeliness"]] == pytest.approx(1 - 2 / 7)


def test_normalise_is_relative_to_median_and_capped():
    raw = np.array([[0.0, 3.0], [9.0, 3.0], [20.0, 0.0]])
    out = normalise(raw, np.array([9.0, 0.0]))
    assert out[:, 0].tolist() == [0.0, 1.0, 1.0]
    assert out[:, 1].tolist() == [1.0, 1.0, 1.0]  # median 0: nobody is penalised


def test_quiet_student_who_does_the_work_is_not_punished_for_low_chat():
    items = [DueItem("a", "submission", AS_OF - 5)]
    rows = []
    for i in range(5):
        rows += [(i, "launch", AS_OF - d, 1) for d in range(8)]
    rows += [(i, "interaction", AS_OF, 1 + 30 * (i < 2)) for i in range(5)]
    subs = [(i, 0, AS_OF - 6, 1.0) for i in range(5)]
    c = course(rows, items, subs, roster=range(5))
    quiet = 4
    assert c.raw[quiet, F["interaction"]] < c.raw[0, F["interaction"]]
    assert c.score[quiet] == c.score[0] == 100.0


def test_dropped_factor_weight_is_spread_proportionally():
    c = course([(0, "launch", AS_OF, 1), (1, "resource_view", AS_OF, 2)])
    active = {FACTORS[j] for j in np.flatnonzero(c.active_factors)}
    assert active == {"attendance", "resource"}
    assert c.weights[F["attendance"]] == pytest.approx(100 * 25 / 35)
    assert c.weights[F["resource"]] == pytest.approx(100 * 10 / 35)
    assert c.weights[F["quiz"]] == 0
    assert c.weights.sum() == pytest.approx(100)
    assert "no quiz data" in c.student(0).factors[F["quiz"]].reason


def test_contributions_sum_exactly_to_score_on_generated_cohort():
    c = compute_course(generated_course(300))
    assert (c.contributions.sum(axis=1) == np.rint(c.score * 10)).all()
    for i in range(0, 300, 37):
        s = c.student(i)
        assert round(sum(f.contribution for f in s.factors), 1) == s.score
        assert 0 <= s.score <= 100
        assert s.band == band_for(s.score)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 9),
            st.sampled_from(["launch", "quiz", "interaction", "resource_view", "attendance"]),
            st.integers(AS_OF - 35, AS_OF),
            st.integers(1, 50),
        ),
        max_size=80,
    ),
    st.permutations([25, 20, 15, 15, 15, 10]),
)
def test_contributions_always_sum_to_score(rows, perm):
    weights = dict(zip(FACTORS, perm, strict=True))
    c = course(rows, roster=range(10), weights=weights)
    assert (c.contributions.sum(axis=1) == np.rint(c.score * 10)).all()
    assert (c.score >= 0).all() and (c.score <= 100).all()


def test_weights_validation_lists_every_problem():
    assert validate_weights(DEFAULT_WEIGHTS) == DEFAULT_WEIGHTS
    with pytest.raises(WeightsError) as e:
        validate_weights({**DEFAULT_WEIGHTS, "attendance": 30})
    assert "sum to 105" in str(e.value)
    with pytest.raises(WeightsError) as e:
        validate_weights({"attendance": -1, "quiz": "x", "chat": 5})
    paths = {err["path"] for err in e.value.errors}
    assert {"attendance", "quiz", "chat", "submission"} <= paths
    with pytest.raises(WeightsError):
        validate_weights({**DEFAULT_WEIGHTS, "quiz": 15.5, "resource": 9.5})


def test_custom_weights_change_the_score():
    rows = [(0, "launch", AS_OF, 1), (1, "resource_view", AS_OF, 5), (0, "resource_view", AS_OF, 1)]
    default = course(rows, roster=(1, 2))
    heavy = course(rows, roster=(1, 2), weights={**dict.fromkeys(FACTORS, 0), "resource": 100})
    assert heavy.score[1] == 100.0 and heavy.score[0] == 33.3  # 1 view vs median 3
    assert default.score[0] != heavy.score[0]


def test_weekly_trend_detects_falling_activity():
    rows = [(0, "launch", AS_OF - d, 1) for d in range(14, 30)]  # active early, silent late
    rows += [(1, "launch", AS_OF - d, 1) for d in range(0, 30, 2)]  # steady
    c = course(rows, roster=(1, 2))
    assert c.student(0).trend == "falling"
    assert c.student(1).trend == "steady"
    assert c.weekly.shape == (2, 4)
    assert c.student(0).weekly_active_days[-1] == 0


def test_counterfactual_score_with_raw():
    c = compute_course(generated_course(50))
    i = int(np.argmin(c.score))
    j = F["attendance"]
    raised = score_with_raw(c, i, j, float(c.median[j]))
    assert raised >= c.score[i]
    assert score_with_raw(c, i, j, float(c.raw[i, j])) == pytest.approx(c.score[i])


def test_empty_course_and_roster_without_events():
    c = course([], roster=(5, 6))
    assert c.score.tolist() == [0.0, 0.0]
    assert c.days_since_active.tolist() == [-1, -1]
    assert c.student(0).days_since_active is None
