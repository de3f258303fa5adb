"""With self-assessment on, rating only yourself is not rating your teammates.

A member who rated nobody but themselves used to count as a rater: they escaped the
non-rating penalty, and their self-rating (whatever its points, the whole of one unit
shared among the one person rated) added an equal share to their factor, pulling it
up. Rating only oneself paid more than rating nobody, and more than rating honestly,
which the moderation is built to prevent.
"""

from __future__ import annotations

import pytest

from masteryai_lti.pbl.scoring import ModerationSettings, PeerRating, individual_scores

SETTINGS = ModerationSettings(self_assessment=True, non_submission_penalty=0.1)
MEMBERS = [1, 2, 3]
# 1 and 2 rate everyone, themselves included, and see 3 doing a quarter as much.
BY_TEAMMATES = [
    PeerRating(rater, ratee, 25 if ratee == 3 else 100) for rater in (1, 2) for ratee in MEMBERS
]


def _member_3(ratings):
    return {r.student_id: r for r in individual_scores(80, MEMBERS, ratings, SETTINGS)}[3]


def test_rating_only_oneself_counts_as_not_rating():
    alone = _member_3([*BY_TEAMMATES, PeerRating(3, 3, 100)])

    assert alone.rated_peers is False
    assert alone.peer_raters == 2
    # Shares from 1 and 2 only: 25 / 225 * 3 each.
    assert alone.contribution_factor == pytest.approx(1 / 3)
    assert alone.penalty > 0
    assert "because you did not rate your teammates" in alone.explanation


def test_rating_only_oneself_pays_no_more_than_rating_nobody_or_rating_honestly():
    only_self = _member_3([*BY_TEAMMATES, PeerRating(3, 3, 100)])
    nobody = _member_3(BY_TEAMMATES)
    honest = _member_3(
        [*BY_TEAMMATES, *(PeerRating(3, ratee, 25 if ratee == 3 else 100) for ratee in MEMBERS)]
    )

    assert only_self.score == nobody.score
    assert only_self.score < honest.score


def test_a_self_rating_with_teammates_rated_still_counts():
    rated_all = _member_3(
        [*BY_TEAMMATES, PeerRating(3, 1, 50), PeerRating(3, 2, 50), PeerRating(3, 3, 100)]
    )

    assert rated_all.rated_peers is True and rated_all.peer_raters == 3
    # Own share 100 / 200 * 3 = 1.5, with 1/3 from each teammate.
    assert rated_all.contribution_factor == pytest.approx((1 / 3 + 1 / 3 + 1.5) / 3)
