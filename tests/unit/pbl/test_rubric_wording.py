"""Which rubric changes keep every rating's score (`scores_alike`), so a rubric in use
may still take them."""

from __future__ import annotations

import copy

import pytest

from masteryai_lti.pbl.scoring import default_rubric, parse_rubric, rubric_to_dict, scores_alike


def _default() -> dict:
    return rubric_to_dict(default_rubric())


def _changed(edit) -> dict:
    data = copy.deepcopy(_default())
    edit(data)
    return data


def _alike(data: dict) -> bool:
    return scores_alike(default_rubric(), parse_rubric(data))


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["criteria"][0].update(name="Talking it through"),
        lambda d: d["criteria"][1].update(description="Works with the others."),
        lambda d: d["criteria"][2]["levels"][0].update(label="Not yet"),
        lambda d: d["criteria"][2]["levels"][3].update(description="Solves it, explains why."),
        lambda d: d["criteria"].reverse(),
        lambda d: d["criteria"][0]["levels"].reverse(),  # stored sorted by points anyway
        lambda d: d["criteria"][0].update(weight=1.0000000000001),  # a float's round trip
    ],
    ids=["name", "description", "label", "level-description", "order", "level-order", "float"],
)
def test_wording_and_order_score_alike(edit):
    assert _alike(_changed(edit))


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["criteria"][0].update(weight=2),
        lambda d: d["criteria"][1]["levels"][3].update(points=5),
        lambda d: d["criteria"][2].update(key="solving"),
        lambda d: d["criteria"].pop(),
        lambda d: d["criteria"][0]["levels"].pop(0),
        lambda d: d["criteria"][0]["levels"].append({"points": 5, "label": "Beyond"}),
        lambda d: d["criteria"].append(
            {
                "key": "extra",
                "name": "Extra",
                "levels": [{"points": 0, "label": "No"}, {"points": 1, "label": "Yes"}],
            }
        ),
    ],
    ids=[
        "weight",
        "points",
        "key",
        "criterion-removed",
        "level-removed",
        "level-added",
        "criterion-added",
    ],
)
def test_anything_that_moves_a_score_does_not(edit):
    assert not _alike(_changed(edit))


def test_alike_both_ways():
    one = parse_rubric(_changed(lambda d: d["criteria"].pop()))
    assert not scores_alike(one, default_rubric())
    assert not scores_alike(default_rubric(), one)
    assert scores_alike(default_rubric(), default_rubric())
