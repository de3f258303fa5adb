"""Per-course weights that are not numbers a weight can be: refused by name, never a crash."""

from __future__ import annotations

import math

import pytest

from masteryai_lti.engagement.engine import FACTORS, WeightsError, validate_weights

VALID = {
    "attendance": 25,
    "submission": 20,
    "quiz": 15,
    "interaction": 15,
    "timeliness": 15,
    "resource": 10,
}


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e400])
def test_non_finite_weights_are_named_errors(value):
    assert set(VALID) == set(FACTORS)
    with pytest.raises(WeightsError) as raised:
        validate_weights({**VALID, "attendance": value})
    assert [e["path"] for e in raised.value.errors] == ["attendance"]


def test_whole_floats_still_count_as_integers():
    assert validate_weights({**VALID, "quiz": 15.0})["quiz"] == 15
