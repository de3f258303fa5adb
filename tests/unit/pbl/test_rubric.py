"""Rubric parsing, rating validation, rubric scores and group scores (pure)."""

from __future__ import annotations

import copy
import json
import math
import random
from decimal import Decimal

import pytest

from masteryai_lti.pbl.scoring import (
    Criterion,
    Level,
    Rubric,
    RubricError,
    default_rubric,
    group_score,
    parse_rubric,
    rubric_score,
    rubric_to_dict,
    validate_ratings,
)


def rubric_data() -> dict:
    """Two criteria, levels given out of order, one weight and descriptions left out."""
    return {
        "criteria": [
            {
                "key": "research",
                "name": "Research",
                "weight": 2,
                "description": "Sources found and used.",
                "levels": [
                    {"points": 4, "label": "Excellent", "description": "Varied, cited."},
                    {"points": 0, "label": "Missing"},
                    {"points": 2, "label": "Some"},
                ],
            },
            {
                "key": "poster",
                "name": "Poster",
                "levels": [{"points": 10, "label": "Clear"}, {"points": 5, "label": "Busy"}],
            },
        ]
    }


def errors_of(data) -> list[dict]:
    with pytest.raises(RubricError) as caught:
        parse_rubric(data)
    return caught.value.errors


def paths_of(data) -> list[str]:
    return [e["path"] for e in errors_of(data)]


def sums_exactly(score) -> bool:
    """Do the published contributions add up to the published score, digit for digit?"""
    total = sum((Decimal(str(c.contribution)) for c in score.criteria), Decimal(0))
    return total == Decimal(str(score.score))


# --- parsing ---------------------------------------------------------------------------


def test_parse_reads_criteria_sorts_levels_and_defaults_weight_and_descriptions():
    rubric = parse_rubric(rubric_data())

    assert rubric.keys == ("research", "poster")
    research, poster = rubric.criteria
    assert research.weight == 2.0 and research.description == "Sources found and used."
    assert [level.points for level in research.levels] == [0.0, 2.0, 4.0]
    assert [level.label for level in research.levels] == ["Missing", "Some", "Excellent"]
    assert research.levels[2].description == "Varied, cited."
    assert research.levels[0].description == ""
    assert research.max_points == 4.0
    assert poster.weight == 1.0 and poster.description == ""
    assert poster.max_points == 10.0
    assert rubric.criterion("poster") is poster
    assert rubric.criterion("nope") is None


def test_level_for_finds_the_level_worth_those_points():
    research = parse_rubric(rubric_data()).criterion("research")

    assert research.level_for(2).label == "Some"
    assert research.level_for(2.0).label == "Some"
    assert research.level_for(0).label == "Missing"
    assert research.level_for(3) is None


def test_parse_accepts_the_limits():
    levels = [{"points": p, "label": "L" * 100, "description": "d" * 2000} for p in range(10)]
    criteria = [
        {
            "key": "k" * 40 if i == 0 else f"c{i}_x",
            "name": "N" * 200,
            "weight": 1000 if i == 0 else 0.001,
            "description": "d" * 2000,
            "levels": levels
            if i == 0
            else [{"points": 0, "label": "a"}, {"points": 0.5, "label": "b"}],
        }
        for i in range(20)
    ]
    rubric = parse_rubric({"criteria": criteria})

    assert len(rubric.criteria) == 20
    assert len(rubric.criteria[0].levels) == 10
    assert rubric.criteria[0].weight == 1000.0
    assert rubric.criteria[1].max_points == 0.5


def test_parse_strips_surrounding_spaces_from_names_and_labels():
    data = rubric_data()
    data["criteria"][1]["name"] = "  Poster  "
    data["criteria"][1]["levels"][0]["label"] = " Clear "

    rubric = parse_rubric(data)

    assert rubric.criterion("poster").name == "Poster"
    assert rubric.criterion("poster").level_for(10).label == "Clear"


def _set(path: list, value):
    """A mutation of `rubric_data()` setting the value at ``path`` (or deleting it)."""

    def mutate(data):
        target = data
        for step in path[:-1]:
            target = target[step]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return data

    return mutate


_DELETE = object()
C0 = ["criteria", 0]
L1 = [*C0, "levels", 1]

INVALID = [
    ("criteria missing", lambda d: {}, "criteria"),
    ("rubric not an object", lambda d: ["criteria"], "criteria"),
    ("criteria not a list", _set(["criteria"], "communication"), "criteria"),
    ("criteria an object", _set(["criteria"], {"a": 1}), "criteria"),
    ("no criteria", _set(["criteria"], []), "criteria"),
    ("criterion not an object", _set(["criteria", 1], "poster"), "criteria[1]"),
    ("key missing", _set([*C0, "key"], _DELETE), "criteria[0].key"),
    ("key upper case", _set([*C0, "key"], "Research"), "criteria[0].key"),
    ("key starts with a digit", _set([*C0, "key"], "1research"), "criteria[0].key"),
    ("key starts with underscore", _set([*C0, "key"], "_research"), "criteria[0].key"),
    ("key with a dash", _set([*C0, "key"], "re-search"), "criteria[0].key"),
    ("key with a newline", _set([*C0, "key"], "research\n"), "criteria[0].key"),
    ("key too long", _set([*C0, "key"], "k" * 41), "criteria[0].key"),
    ("key a number", _set([*C0, "key"], 7), "criteria[0].key"),
    ("duplicate key", _set(["criteria", 1, "key"], "research"), "criteria[1].key"),
    ("name missing", _set([*C0, "name"], _DELETE), "criteria[0].name"),
    ("name empty", _set([*C0, "name"], ""), "criteria[0].name"),
    ("name blank", _set([*C0, "name"], "   "), "criteria[0].name"),
    ("name too long", _set([*C0, "name"], "n" * 201), "criteria[0].name"),
    ("name a number", _set([*C0, "name"], 3), "criteria[0].name"),
    ("weight zero", _set([*C0, "weight"], 0), "criteria[0].weight"),
    ("weight negative", _set([*C0, "weight"], -1), "criteria[0].weight"),
    ("weight too big", _set([*C0, "weight"], 1000.5), "criteria[0].weight"),
    ("weight nan", _set([*C0, "weight"], math.nan), "criteria[0].weight"),
    ("weight infinite", _set([*C0, "weight"], math.inf), "criteria[0].weight"),
    ("weight text", _set([*C0, "weight"], "2"), "criteria[0].weight"),
    ("weight bool", _set([*C0, "weight"], True), "criteria[0].weight"),
    ("description too long", _set([*C0, "description"], "d" * 2001), "criteria[0].description"),
    ("description a list", _set([*C0, "description"], ["d"]), "criteria[0].description"),
    ("levels missing", _set([*C0, "levels"], _DELETE), "criteria[0].levels"),
    ("levels text", _set([*C0, "levels"], "1234"), "criteria[0].levels"),
    ("levels an object", _set([*C0, "levels"], {"points": 1}), "criteria[0].levels"),
    ("one level", _set([*C0, "levels"], [{"points": 1, "label": "a"}]), "criteria[0].levels"),
    (
        "eleven levels",
        _set([*C0, "levels"], [{"points": p, "label": "a"} for p in range(11)]),
        "criteria[0].levels",
    ),
    (
        "every level zero",
        _set([*C0, "levels"], [{"points": 0, "label": "a"}, {"points": 0.0, "label": "b"}]),
        ["criteria[0].levels[1].points", "criteria[0].levels"],
    ),
    (
        "one level worth zero",
        _set([*C0, "levels"], [{"points": 0, "label": "a"}]),
        ["criteria[0].levels", "criteria[0].levels"],
    ),
    ("level not an object", _set(L1, 3), "criteria[0].levels[1]"),
    ("points missing", _set([*L1, "points"], _DELETE), "criteria[0].levels[1].points"),
    ("points text", _set([*L1, "points"], "a"), "criteria[0].levels[1].points"),
    ("points numeric text", _set([*L1, "points"], "1"), "criteria[0].levels[1].points"),
    ("points bool", _set([*L1, "points"], False), "criteria[0].levels[1].points"),
    ("points null", _set([*L1, "points"], None), "criteria[0].levels[1].points"),
    ("points nan", _set([*L1, "points"], math.nan), "criteria[0].levels[1].points"),
    ("points infinite", _set([*L1, "points"], math.inf), "criteria[0].levels[1].points"),
    ("points negative", _set([*L1, "points"], -1), "criteria[0].levels[1].points"),
    ("points repeated", _set([*L1, "points"], 4.0), "criteria[0].levels[1].points"),
    ("label missing", _set([*L1, "label"], _DELETE), "criteria[0].levels[1].label"),
    ("label empty", _set([*L1, "label"], ""), "criteria[0].levels[1].label"),
    ("label too long", _set([*L1, "label"], "l" * 101), "criteria[0].levels[1].label"),
    ("label a number", _set([*L1, "label"], 1), "criteria[0].levels[1].label"),
    (
        "level description too long",
        _set([*L1, "description"], "d" * 2001),
        "criteria[0].levels[1].description",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "path"), INVALID, ids=[c[0] for c in INVALID])
def test_parse_rejects_each_problem_at_its_path(case, mutate, path):
    errors = errors_of(mutate(copy.deepcopy(rubric_data())))

    assert [e["path"] for e in errors] == ([path] if isinstance(path, str) else path)
    assert all(e["message"] for e in errors)


def test_parse_rejects_more_than_twenty_criteria():
    criterion = rubric_data()["criteria"][1]
    criteria = [{**criterion, "key": f"c{i}"} for i in range(21)]

    assert paths_of({"criteria": criteria}) == ["criteria"]


def test_parse_lists_every_problem_at_once():
    data = {
        "criteria": [
            {
                "key": "Bad Key",
                "name": "",
                "weight": True,
                "levels": [{"points": "a", "label": ""}, {"points": 1, "label": "ok"}],
            },
            {"key": "ok", "name": "Fine", "levels": "none"},
            "not a criterion",
            {
                "key": "ok",
                "name": "Twin",
                "weight": -2,
                "levels": [{"points": 1, "label": "a"}, {"points": 1, "label": "b"}],
            },
        ]
    }

    with pytest.raises(RubricError) as caught:
        parse_rubric(data)

    paths = [e["path"] for e in caught.value.errors]
    assert paths == [
        "criteria[0].key",
        "criteria[0].name",
        "criteria[0].weight",
        "criteria[0].levels[0].points",
        "criteria[0].levels[0].label",
        "criteria[1].levels",
        "criteria[2]",
        "criteria[3].key",
        "criteria[3].weight",
        "criteria[3].levels[1].points",
    ]
    # The message joins every problem with its path, as RiskSettingsError does.
    text = str(caught.value)
    assert all(path in text for path in paths)
    assert isinstance(caught.value, ValueError)


def test_round_trip_gives_an_equal_rubric_and_plain_json():
    rubric = parse_rubric(rubric_data())

    data = rubric_to_dict(rubric)

    assert parse_rubric(json.loads(json.dumps(data))) == rubric
    assert [level["points"] for level in data["criteria"][0]["levels"]] == [0.0, 2.0, 4.0]
    assert data["criteria"][1]["weight"] == 1.0


def test_default_rubric_is_valid_and_describes_each_level_for_its_criterion():
    rubric = default_rubric()

    assert parse_rubric(rubric_to_dict(rubric)) == rubric
    assert rubric.keys == ("communication", "collaboration", "problem_solving")
    assert [c.name for c in rubric.criteria] == [
        "Communication",
        "Collaboration",
        "Problem solving",
    ]
    descriptions = []
    for criterion in rubric.criteria:
        assert criterion.weight == 1.0
        assert [level.points for level in criterion.levels] == [1.0, 2.0, 3.0, 4.0]
        assert [level.label for level in criterion.levels] == [
            "Beginning",
            "Developing",
            "Proficient",
            "Exemplary",
        ]
        for level in criterion.levels:
            assert level.description.endswith(".") and level.description.count(". ") == 0
            descriptions.append(level.description)
    # Specific to each criterion: no description is shared between levels or criteria.
    assert len(set(descriptions)) == 12


# --- ratings ---------------------------------------------------------------------------


def test_validate_ratings_accepts_one_level_per_criterion():
    rubric = default_rubric()

    assert (
        validate_ratings(rubric, {"communication": 3, "collaboration": 4.0, "problem_solving": 1})
        == []
    )


def test_validate_ratings_reports_each_problem_by_criterion():
    rubric = default_rubric()

    errors = validate_ratings(rubric, {"communication": 2.5, "problem_solving": "3", "teamwork": 4})

    assert [e["path"] for e in errors] == [
        "ratings.communication",
        "ratings.collaboration",
        "ratings.problem_solving",
        "ratings.teamwork",
    ]
    assert "1, 2, 3, 4" in errors[0]["message"]  # says which points are allowed


@pytest.mark.parametrize("points", [True, None, math.nan, 0, 5, -1])
def test_validate_ratings_rejects_points_that_are_no_level(points):
    ratings = {"communication": points, "collaboration": 1, "problem_solving": 1}

    errors = validate_ratings(default_rubric(), ratings)

    assert [e["path"] for e in errors] == ["ratings.communication"]


def test_validate_ratings_rejects_a_non_mapping():
    assert [e["path"] for e in validate_ratings(default_rubric(), [3, 3, 3])] == ["ratings"]


# --- rubric scores ---------------------------------------------------------------------


def test_rubric_score_of_the_default_rubric():
    rubric = default_rubric()

    top = rubric_score(rubric, {"communication": 4, "collaboration": 4, "problem_solving": 4})
    bottom = rubric_score(rubric, {"communication": 1, "collaboration": 1, "problem_solving": 1})
    mixed = rubric_score(rubric, {"communication": 3, "collaboration": 3, "problem_solving": 2})

    assert top.score == 100.0
    assert bottom.score == 25.0
    # (3/4 + 3/4 + 2/4) / 3 = 2/3
    assert mixed.score == 66.67
    assert [(c.key, c.points, c.max_points, c.weight) for c in mixed.criteria] == [
        ("communication", 3.0, 4.0, 1.0),
        ("collaboration", 3.0, 4.0, 1.0),
        ("problem_solving", 2.0, 4.0, 1.0),
    ]
    assert [c.contribution for c in mixed.criteria] == [25.0, 25.0, 16.67]
    assert sums_exactly(mixed)


def test_rubric_score_weighs_criteria_and_their_own_scales():
    rubric = parse_rubric(rubric_data())  # research: weight 2, 0..4; poster: weight 1, 5..10

    scored = rubric_score(rubric, {"research": 2, "poster": 5})

    # 100 * (2 * 2/4 + 1 * 5/10) / 3 = 50
    assert scored.score == 50.0
    assert [c.contribution for c in scored.criteria] == [33.33, 16.67]
    assert sums_exactly(scored)


def test_three_equal_thirds_still_sum_to_the_score():
    rubric = default_rubric()

    scored = rubric_score(rubric, {"communication": 4, "collaboration": 4, "problem_solving": 4})
    # Each third rounds to 33.33 on its own, 99.99 in all; one of them carries the hundredth.
    assert sorted(c.contribution for c in scored.criteria) == [33.33, 33.33, 33.34]
    assert sums_exactly(scored)

    scored = rubric_score(rubric, {"communication": 2, "collaboration": 2, "problem_solving": 2})
    # 50 / 3 = 16.666...: two round up, one down, to make 50.00.
    assert scored.score == 50.0
    assert sorted(c.contribution for c in scored.criteria) == [16.66, 16.67, 16.67]
    assert sums_exactly(scored)


def test_seven_awkward_weights_sum_to_the_score_and_stay_near_the_exact_values():
    rng = random.Random(20240611)
    for _ in range(300):
        count = rng.randint(1, 7)
        criteria = []
        for i in range(count):
            points = sorted(rng.sample(range(0, 13), rng.randint(2, 6)))
            if points[-1] == 0:
                points[-1] = 1
            levels = tuple(Level(float(p) / 3, f"L{p}") for p in points)
            criteria.append(
                Criterion(f"c{i}", f"C{i}", rng.choice([0.1, 1 / 3, 0.7, 1.0, 7.0]), levels)
            )
        rubric = Rubric(tuple(criteria))
        ratings = {c.key: rng.choice(c.levels).points for c in rubric.criteria}

        scored = rubric_score(rubric, ratings)

        total_weight = sum(c.weight for c in rubric.criteria)
        exact = [
            c.weight * ratings[c.key] / c.max_points / total_weight * 100 for c in rubric.criteria
        ]
        assert sums_exactly(scored)
        assert abs(scored.score - sum(exact)) <= 0.005 + 1e-9
        for published, true in zip(scored.criteria, exact, strict=True):
            assert abs(published.contribution - true) < 0.01 + 1e-9
        assert 0.0 <= scored.score <= 100.0


def test_rubric_score_refuses_invalid_ratings():
    with pytest.raises(RubricError) as caught:
        rubric_score(default_rubric(), {"communication": 4, "collaboration": 9})

    assert [e["path"] for e in caught.value.errors] == [
        "ratings.collaboration",
        "ratings.problem_solving",
    ]


# --- group scores ----------------------------------------------------------------------


def test_group_score_without_evaluations_is_not_there_yet():
    scored = group_score(default_rubric(), [])

    assert scored.score is None and scored.evaluators == 0 and scored.criteria == ()


def test_group_score_of_one_teacher_is_their_rubric_score():
    ratings = {"communication": 3, "collaboration": 3, "problem_solving": 2}

    scored = group_score(default_rubric(), [ratings])

    assert scored.evaluators == 1
    assert scored.score == rubric_score(default_rubric(), ratings).score == 66.67
    assert scored.criteria == rubric_score(default_rubric(), ratings).criteria


def test_group_score_averages_each_criterion_over_teachers():
    scored = group_score(
        default_rubric(),
        [
            {"communication": 3, "collaboration": 3, "problem_solving": 2},
            {"communication": 4, "collaboration": 3, "problem_solving": 2},
        ],
    )

    assert scored.evaluators == 2
    assert [c.points for c in scored.criteria] == [3.5, 3.0, 2.0]
    # (3.5 + 3 + 2) / 12 = 70.833...
    assert scored.score == 70.83
    assert sums_exactly(scored)


def test_group_score_uses_exact_means_not_rounded_ones():
    scored = group_score(
        default_rubric(),
        [
            {"communication": 4, "collaboration": 4, "problem_solving": 4},
            {"communication": 3, "collaboration": 4, "problem_solving": 4},
            {"communication": 3, "collaboration": 4, "problem_solving": 4},
        ],
    )

    # communication 10/3 points: (10/12 + 1 + 1) / 3 = 94.444...; with 3.33 it would be 94.42.
    assert scored.criteria[0].points == 3.33
    assert scored.score == 94.44
    assert sums_exactly(scored)


def test_group_score_names_the_invalid_evaluation():
    good = {"communication": 3, "collaboration": 3, "problem_solving": 2}

    with pytest.raises(RubricError) as caught:
        group_score(default_rubric(), [good, {**good, "communication": 7}])

    assert [e["path"] for e in caught.value.errors] == ["teacher_ratings[1].ratings.communication"]
