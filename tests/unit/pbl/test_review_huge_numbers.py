"""Integers too large for a float are refused as invalid, like infinity, not raised as
an OverflowError: the engine promises a RubricError naming the field for bad input."""

from __future__ import annotations

import pytest

from masteryai_lti.pbl import scoring

HUGE = 10**400
TOP = {"communication": 4, "collaboration": 4, "problem_solving": 4}


def _levels(points):
    return [{"points": points, "label": "Top"}, {"points": 1, "label": "Low"}]


@pytest.mark.parametrize(
    ("criterion", "path"),
    [
        ({"key": "a", "name": "A", "levels": _levels(HUGE)}, "criteria[0].levels[0].points"),
        ({"key": "a", "name": "A", "weight": HUGE, "levels": _levels(2)}, "criteria[0].weight"),
    ],
)
def test_a_rubric_with_a_huge_integer_names_the_field(criterion, path):
    with pytest.raises(scoring.RubricError) as raised:
        scoring.parse_rubric({"criteria": [criterion]})
    assert [e["path"] for e in raised.value.errors] == [path]


def test_ratings_with_a_huge_integer_name_the_criterion():
    rubric = scoring.default_rubric()
    problems = scoring.validate_ratings(rubric, {**TOP, "collaboration": HUGE})
    assert problems == [{"path": "ratings.collaboration", "message": "points must be a number"}]
    with pytest.raises(scoring.RubricError):
        scoring.group_score(rubric, [{**TOP, "collaboration": -HUGE}])


@pytest.mark.parametrize("name", ["peer_weight", "non_submission_penalty"])
def test_moderation_settings_with_a_huge_integer_name_the_field(name):
    with pytest.raises(scoring.RubricError) as raised:
        scoring.ModerationSettings(**{name: HUGE})
    assert [e["path"] for e in raised.value.errors] == [name]


def test_a_huge_group_score_is_refused():
    with pytest.raises(scoring.RubricError) as raised:
        scoring.individual_scores(HUGE, [1, 2], [], scoring.ModerationSettings())
    assert [e["path"] for e in raised.value.errors] == ["group_score"]
