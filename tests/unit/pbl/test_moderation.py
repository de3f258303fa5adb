"""Peer moderation of the group score (WebPA-style), worked by hand on small groups."""

from __future__ import annotations

import math
import random

import pytest

from masteryai_lti.pbl.scoring import (
    ModerationSettings,
    PeerRating,
    RubricError,
    contribution_factors,
    default_rubric,
    individual_scores,
    rubric_score,
)

HALF = ModerationSettings()


def everyone_rates_everyone(members, score, *, self_too=False) -> list[PeerRating]:
    return [
        PeerRating(rater, ratee, score)
        for rater in members
        for ratee in members
        if self_too or rater != ratee
    ]


def by_student(results):
    return {r.student_id: r for r in results}


def classic_webpa(members, ratings) -> dict[int, float]:
    """Classic WebPA factor, for comparison: sum of shares received times n / submitters."""
    given: dict[int, dict[int, float]] = {}
    for r in ratings:
        if r.rater_id != r.ratee_id:
            given.setdefault(r.rater_id, {})[r.ratee_id] = r.score
    received = dict.fromkeys(members, 0.0)
    for scores in given.values():
        total = sum(scores.values())
        for ratee, score in scores.items():
            received[ratee] += score / total
    return {m: received[m] * len(members) / len(given) for m in members}


# --- hand-computed groups --------------------------------------------------------------


def test_equal_ratings_give_everyone_an_equal_share_and_the_group_score():
    members = [1, 2, 3, 4]

    results = individual_scores(80, members, everyone_rates_everyone(members, 75), HALF)

    for r in results:
        assert r.contribution_factor == pytest.approx(1.0, abs=1e-12)
        assert r.peer_raters == 3 and r.rated_peers
        assert r.moderated_score == 80.0 and r.penalty == 0.0 and r.score == 80.0
        assert r.group_score == 80.0


def test_one_weaker_member_moves_down_and_the_others_up():
    ratings = [
        PeerRating(1, 2, 80),
        PeerRating(1, 3, 40),
        PeerRating(2, 1, 80),
        PeerRating(2, 3, 40),
        PeerRating(3, 1, 60),
        PeerRating(3, 2, 60),
    ]

    results = by_student(individual_scores(60, [1, 2, 3], ratings, HALF))

    # Rater 1 gives 2 80/120 and 3 40/120 of one unit; times the 2 rated: 4/3 and 2/3.
    # Rater 3 rates 1 and 2 alike: 1 each. So 1 and 2 get mean(4/3, 1) = 7/6; 3 gets 2/3.
    assert results[1].contribution_factor == pytest.approx(7 / 6)
    assert results[2].contribution_factor == pytest.approx(7 / 6)
    assert results[3].contribution_factor == pytest.approx(2 / 3)
    # 60 * (1/2 + 1/2 * 7/6) = 65; 60 * (1/2 + 1/2 * 2/3) = 50.
    assert results[1].score == 65.0 and results[2].score == 65.0
    assert results[3].score == 50.0
    assert results[3].explanation == (
        "Your group's work scored 60. Your 2 teammates' ratings put your contribution "
        "at 0.67 times an equal share; with half of the mark moderated by peers that gives 50."
    )


def test_a_harsh_and_a_generous_rater_who_rank_alike_give_the_same_factors():
    harsh = [PeerRating(1, 2, 20), PeerRating(1, 3, 10)]
    generous = [PeerRating(1, 2, 100), PeerRating(1, 3, 50)]

    strict = contribution_factors([1, 2, 3], harsh, False)
    kind = contribution_factors([1, 2, 3], generous, False)

    for member, expected in ((2, 4 / 3), (3, 2 / 3)):
        assert strict[member][0] == pytest.approx(expected)
        assert kind[member][0] == pytest.approx(expected)


def test_the_example_explanation():
    # Rater 1, 2 and 3 each give student 4 56 of their 150 points: 3 * 56 / 150 = 1.12.
    ratings = [
        *(PeerRating(rater, 4, 56) for rater in (1, 2, 3)),
        *(
            PeerRating(rater, ratee, 47)
            for rater in (1, 2, 3)
            for ratee in (1, 2, 3)
            if rater != ratee
        ),
        *(PeerRating(4, ratee, 70) for ratee in (1, 2, 3)),
    ]

    student = by_student(individual_scores(78, [1, 2, 3, 4], ratings, HALF))[4]

    assert student.contribution_factor == pytest.approx(1.12)
    assert student.peer_raters == 3
    assert student.score == 82.68  # 78 * (0.5 + 0.5 * 1.12)
    assert student.explanation == (
        "Your group's work scored 78. Your 3 teammates' ratings put your contribution at "
        "1.12 times an equal share; with half of the mark moderated by peers that gives 82.68."
    )


def test_a_member_who_does_not_rate_is_not_inflated_as_in_classic_webpa():
    members = [1, 2, 3, 4]
    # 1, 2 and 3 rate everyone else alike; 4 rates nobody.
    ratings = [r for r in everyone_rates_everyone(members, 70) if r.rater_id != 4]

    classic = classic_webpa(members, ratings)
    ours = by_student(individual_scores(70, members, ratings, HALF))

    # Classic WebPA: 4 receives 1/3 from three raters (1), the others 1/3 from two (2/3),
    # all times 4/3: the one who did not rate comes out on top for the same ratings.
    assert classic[4] == pytest.approx(4 / 3)
    assert classic[1] == pytest.approx(8 / 9)
    assert classic[4] > classic[1]
    for student in members:
        assert ours[student].contribution_factor == pytest.approx(1.0)
    assert ours[4].peer_raters == 3 and ours[1].peer_raters == 2
    assert ours[4].score == ours[1].score == 70.0


def test_self_ratings_count_only_with_self_assessment():
    ratings = [
        PeerRating(1, 1, 100),
        PeerRating(1, 2, 50),
        PeerRating(2, 1, 50),
        PeerRating(2, 2, 50),
    ]

    without = by_student(individual_scores(60, [1, 2], ratings, HALF))
    with_self = by_student(
        individual_scores(60, [1, 2], ratings, ModerationSettings(self_assessment=True))
    )

    # Self-ratings ignored: each rated only the other, so each gets the whole share.
    assert without[1].contribution_factor == pytest.approx(1.0)
    assert without[2].contribution_factor == pytest.approx(1.0)
    assert without[1].peer_raters == 1 and without[2].peer_raters == 1
    # Counted: 1 gives self 100/150 * 2 = 4/3 and 2 gets 2/3; 2 gives 1 each.
    assert with_self[1].contribution_factor == pytest.approx(7 / 6)
    assert with_self[2].contribution_factor == pytest.approx(5 / 6)
    assert with_self[1].peer_raters == 2
    assert with_self[1].score == 65.0  # 60 * (1/2 + 7/12)
    assert with_self[1].explanation.startswith(
        "Your group's work scored 60. Your own and your teammate's ratings put your "
        "contribution at 1.17 times an equal share"
    )


def test_a_rater_who_gives_everyone_zero_is_ignored_and_counts_as_not_rating():
    ratings = [
        PeerRating(1, 2, 0),
        PeerRating(1, 3, 0),
        PeerRating(2, 1, 50),
        PeerRating(2, 3, 100),
        PeerRating(3, 1, 50),
        PeerRating(3, 2, 50),
    ]
    settings = ModerationSettings(non_submission_penalty=0.2)

    results = by_student(individual_scores(90, [1, 2, 3], ratings, settings))

    # Rater 2: 1 gets 50/150 * 2 = 2/3, 3 gets 4/3. Rater 3: 1 each. Rater 1 not counted.
    assert results[1].contribution_factor == pytest.approx(5 / 6)
    assert results[2].contribution_factor == pytest.approx(1.0)
    assert results[2].peer_raters == 1
    assert results[3].contribution_factor == pytest.approx(4 / 3)
    assert results[3].peer_raters == 1
    assert not results[1].rated_peers
    assert results[1].moderated_score == 82.5  # 90 * (1/2 + 5/12)
    assert results[1].penalty == 16.5
    assert results[1].score == 66.0
    assert "gave every teammate zero" in results[1].explanation
    assert results[2].penalty == 0.0 and results[3].penalty == 0.0


def test_ratings_of_and_by_non_members_are_ignored():
    members = [1, 2, 3]
    inside = everyone_rates_everyone(members, 60)
    # Rater 1's 100 for a non-member would shrink their shares for 2 and 3 if it counted.
    outside = [PeerRating(9, 1, 100), PeerRating(1, 9, 100), PeerRating(9, 2, 0)]

    plain = individual_scores(70, members, inside, HALF)
    mixed = individual_scores(70, members, inside + outside, HALF)

    assert mixed == plain
    assert all(r.contribution_factor == pytest.approx(1.0) for r in mixed)
    assert all(r.peer_raters == 2 for r in mixed)


def test_a_later_rating_replaces_an_earlier_one():
    ratings = [PeerRating(1, 2, 10), PeerRating(1, 3, 90), PeerRating(1, 2, 90)]

    factors = contribution_factors([1, 2, 3], ratings, False)

    assert factors[2] == pytest.approx((1.0, 1))
    assert factors[3] == pytest.approx((1.0, 1))


def test_a_group_of_one_gets_the_group_score_and_no_penalty():
    settings = ModerationSettings(peer_weight=1.0, self_assessment=True, non_submission_penalty=0.5)

    [alone] = individual_scores(64, [5], [], settings)
    [self_rated] = individual_scores(64, [5], [PeerRating(5, 5, 30)], settings)

    for r in (alone, self_rated):
        assert r.contribution_factor == 1.0 and r.peer_raters == 0
        assert r.penalty == 0.0 and r.score == 64.0
        assert "only member of your group" in r.explanation


def test_a_member_who_rated_nobody_loses_the_penalty_share():
    ratings = [
        PeerRating(1, 2, 70),
        PeerRating(1, 3, 70),
        PeerRating(2, 1, 70),
        PeerRating(2, 3, 70),
    ]
    settings = ModerationSettings(non_submission_penalty=0.1)

    results = by_student(individual_scores(80, [1, 2, 3], ratings, settings))

    assert [results[m].contribution_factor for m in (1, 2, 3)] == pytest.approx([1, 1, 1])
    assert not results[3].rated_peers and results[1].rated_peers
    assert results[3].moderated_score == 80.0
    assert results[3].penalty == 8.0
    assert results[3].score == 72.0
    assert results[3].explanation == (
        "Your group's work scored 80. Your 2 teammates' ratings put your contribution at "
        "exactly an equal share; with half of the mark moderated by peers that gives 80. "
        "10% (8) was deducted because you did not rate your teammates, leaving 72."
    )
    assert results[1].penalty == 0.0 and results[1].score == 80.0
    # Without a penalty setting, not rating costs nothing.
    assert by_student(individual_scores(80, [1, 2, 3], ratings, HALF))[3].score == 80.0


def test_a_member_nobody_rated_keeps_the_group_score():
    ratings = [PeerRating(1, 2, 70), PeerRating(2, 1, 70)]

    results = by_student(individual_scores(77, [1, 2, 3], ratings, HALF))

    assert results[3].contribution_factor == 1.0 and results[3].peer_raters == 0
    assert results[3].score == 77.0
    assert results[3].explanation == (
        "Your group's work scored 77. No teammate has rated you yet, so your score is the group's."
    )
    penalised = ModerationSettings(non_submission_penalty=0.25)
    [*_, unrated] = individual_scores(77, [1, 2, 3], ratings, penalised)
    assert unrated.score == 57.75
    assert unrated.explanation == (
        "Your group's work scored 77. No teammate has rated you yet, so you start from the "
        "group's score. 25% (19.25) was deducted because you did not rate your teammates, "
        "leaving 57.75."
    )


def test_scores_are_capped_at_100():
    ratings = [
        PeerRating(1, 2, 100),
        PeerRating(1, 3, 0),
        PeerRating(2, 1, 50),
        PeerRating(2, 3, 50),
        PeerRating(3, 1, 50),
        PeerRating(3, 2, 50),
    ]
    settings = ModerationSettings(peer_weight=1.0)

    results = by_student(individual_scores(90, [1, 2, 3], ratings, settings))

    # 2: mean(2 from rater 1, 1 from rater 3) = 1.5 -> 135, held at 100.
    assert results[2].contribution_factor == pytest.approx(1.5)
    assert results[2].moderated_score == 135.0
    assert results[2].score == 100.0
    assert results[2].explanation.endswith("Marks are capped at 100, so your score is 100.")
    # 3: mean(0, 1) = 0.5 -> 45; 1: 1.0 -> 90.
    assert results[3].score == 45.0
    assert results[1].score == 90.0


def test_peer_weight_zero_gives_everyone_the_group_score():
    ratings = [
        PeerRating(1, 2, 80),
        PeerRating(1, 3, 40),
        PeerRating(2, 1, 80),
        PeerRating(2, 3, 40),
        PeerRating(3, 1, 60),
        PeerRating(3, 2, 60),
    ]

    results = individual_scores(60, [1, 2, 3], ratings, ModerationSettings(peer_weight=0.0))

    assert [r.score for r in results] == [60.0, 60.0, 60.0]
    # The factors are still reported, for the teacher.
    assert results[2].contribution_factor == pytest.approx(2 / 3)
    assert "Peer ratings do not change marks" in results[2].explanation


def test_no_group_score_yet_gives_no_individual_score():
    members = [1, 2]
    settings = ModerationSettings(non_submission_penalty=0.5)

    results = individual_scores(None, members, [PeerRating(1, 2, 80)], settings)

    for r in results:
        assert r.group_score is None and r.moderated_score is None and r.score is None
        assert r.penalty == 0.0
        assert r.explanation == "Waiting for the teacher's evaluation of your group's work."
    assert results[1].peer_raters == 1 and results[0].peer_raters == 0


def test_results_follow_the_order_of_members():
    members = [30, 10, 20]

    results = individual_scores(50, members, everyone_rates_everyone(members, 60), HALF)

    assert [r.student_id for r in results] == members


def test_a_weight_other_than_half_is_said_as_a_percentage():
    ratings = [
        PeerRating(1, 2, 90),
        PeerRating(1, 3, 30),
        PeerRating(2, 1, 50),
        PeerRating(3, 1, 50),
    ]

    results = by_student(
        individual_scores(80, [1, 2, 3], ratings, ModerationSettings(peer_weight=0.25))
    )

    # 2: 90/120 * 2 = 1.5 from their only rater -> 80 * (0.75 + 0.25 * 1.5) = 90.
    assert results[2].score == 90.0
    assert results[2].explanation == (
        "Your group's work scored 80. Your teammate's rating puts your contribution at "
        "1.50 times an equal share; with 25% of the mark moderated by peers that gives 90."
    )


# --- input checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "paths"),
    [
        ({"peer_weight": 1.5}, ["peer_weight"]),
        ({"peer_weight": -0.1}, ["peer_weight"]),
        ({"peer_weight": math.nan}, ["peer_weight"]),
        ({"peer_weight": "0.5"}, ["peer_weight"]),
        ({"non_submission_penalty": 2}, ["non_submission_penalty"]),
        ({"self_assessment": "yes"}, ["self_assessment"]),
        (
            {"peer_weight": 2, "self_assessment": 1, "non_submission_penalty": -1},
            ["peer_weight", "non_submission_penalty", "self_assessment"],
        ),
    ],
)
def test_moderation_settings_name_the_field_that_is_wrong(kwargs, paths):
    with pytest.raises(RubricError) as caught:
        ModerationSettings(**kwargs)

    assert [e["path"] for e in caught.value.errors] == paths


def test_moderation_settings_accept_the_limits():
    ModerationSettings(peer_weight=0, self_assessment=True, non_submission_penalty=1)
    ModerationSettings(peer_weight=1, non_submission_penalty=0.0)


def test_individual_scores_refuse_out_of_range_inputs():
    with pytest.raises(RubricError) as caught:
        individual_scores(100.5, [1, 2, 1], [PeerRating(1, 2, 101)], HALF)

    assert [e["path"] for e in caught.value.errors] == [
        "group_score",
        "members[2]",
        "ratings[0].score",
    ]


# --- properties on random groups -------------------------------------------------------


def _random_peer_score(rng: random.Random) -> float:
    """A peer evaluation's score as the product makes it: a rubric score, or any 1..100."""
    if rng.random() < 0.5:
        rubric = default_rubric()
        return rubric_score(
            rubric, {c.key: rng.choice(c.levels).points for c in rubric.criteria}
        ).score
    return round(rng.uniform(1, 100), 2)


def test_random_groups_where_everyone_rates_everyone():
    rng = random.Random(5150)
    for _ in range(400):
        size = rng.randint(2, 8)
        members = rng.sample(range(1, 1000), size)
        self_assessment = rng.random() < 0.5
        ratings = [
            PeerRating(rater, ratee, _random_peer_score(rng))
            for rater in members
            for ratee in members
            if self_assessment or rater != ratee
        ]
        rng.shuffle(ratings)
        settings = ModerationSettings(
            peer_weight=rng.choice([0.0, 0.25, 0.5, 1.0, rng.random()]),
            self_assessment=self_assessment,
            non_submission_penalty=rng.random(),
        )
        group = rng.choice([0.0, 100.0, round(rng.uniform(0, 100), 2)])

        results = individual_scores(group, members, ratings, settings)

        factors = [r.contribution_factor for r in results]
        assert abs(sum(factors) / size - 1.0) < 1e-9
        for r in results:
            assert 0.0 <= r.score <= 100.0
            assert r.rated_peers and r.penalty == 0.0
            assert r.peer_raters == (size if self_assessment else size - 1)

        # Raising one rater's rating of one member never lowers that member's factor.
        raised = rng.choice(ratings)
        higher = PeerRating(
            raised.rater_id, raised.ratee_id, min(100.0, raised.score + rng.uniform(0, 60))
        )
        after = contribution_factors(
            members, [higher if r is raised else r for r in ratings], self_assessment
        )
        before = contribution_factors(members, ratings, self_assessment)
        assert after[raised.ratee_id][0] >= before[raised.ratee_id][0] - 1e-12


def test_random_groups_with_gaps_stay_within_0_and_100():
    rng = random.Random(8086)
    for _ in range(400):
        size = rng.randint(1, 8)
        members = rng.sample(range(1, 100), size)
        people = [*members, 500, 501]  # some raters and ratees are not members
        ratings = [
            PeerRating(
                rng.choice(people),
                rng.choice(people),
                rng.choice([0.0, 100.0, rng.uniform(0, 100)]),
            )
            for _ in range(rng.randint(0, 3 * size))
        ]
        settings = ModerationSettings(
            peer_weight=rng.random(),
            self_assessment=rng.random() < 0.5,
            non_submission_penalty=rng.random(),
        )
        group = round(rng.uniform(0, 100), 2)

        results = individual_scores(group, members, ratings, settings)

        assert [r.student_id for r in results] == members
        for r in results:
            assert 0.0 <= r.score <= 100.0
            assert r.contribution_factor >= 0.0
            assert r.peer_raters <= size
            assert r.penalty <= r.moderated_score
            if r.moderated_score - r.penalty <= 100:
                # The published parts add up: moderated less penalty is the score.
                assert round(r.moderated_score - r.penalty, 2) == r.score
            assert r.explanation.startswith("Your group's work scored ")
