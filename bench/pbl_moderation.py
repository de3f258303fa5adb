"""Benchmark: does peer moderation give each member the mark their contribution earned?

No public data set has groups with known contributions, so this one is simulated.
Each group (3 to 6 members) has a true quality (its teacher-marked score, 50 to 95)
and each member a true share of the work (log-normal, mean 1 in the group). The *fair
mark* of a member is the group score times their share, capped at 100. Members rate
each other on the default rubric (three criteria, levels 1 to 4): what a rater sees is
the ratee's share times noise, on the rater's own scale (lenient or harsh), rounded to
a level. A member rates their teammates with probability ``--rating-rate``.

Three ways to mark each member, compared with the fair mark:

- *group score*: no moderation, everyone gets the group's score;
- *classic WebPA*: the shares a member received summed, times n / raters;
- *MasteryAI*: ``scoring.individual_scores`` (shares averaged per rating received).

Reported at peer weight 1 (the whole mark moderated: the fidelity of the factor
itself) and 0.5 (the shipped default): mean absolute error to the fair mark and the
rank correlation within groups; then the incentive a member has not to rate: how their
own mark changes if they stop rating, all else equal (no penalty applied).

Usage::

    python bench/pbl_moderation.py [--groups 4000] [--rating-rate 0.85] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import os
import platform as host
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from masteryai_lti.pbl import scoring  # noqa: E402

CRITERIA = ("communication", "collaboration", "problem_solving")
SHARE_SPREAD = 0.35  # log-normal sigma of true shares
SEEN_NOISE = 0.25  # log-normal sigma of what a rater perceives
LENIENCY = 0.2  # log-normal sigma of a rater's own scale


def simulate_group(rng: random.Random, rating_rate: float):
    """(group score, members, true shares, peer ratings) of one simulated group."""
    size = rng.randint(3, 6)
    members = list(range(size))
    raw = [math.exp(rng.gauss(0, SHARE_SPREAD)) for _ in members]
    mean = sum(raw) / size
    shares = [r / mean for r in raw]
    group = rng.uniform(50, 95)
    rubric = scoring.default_rubric()
    ratings = []
    for rater in members:
        if rng.random() > rating_rate:
            continue
        scale = math.exp(rng.gauss(0, LENIENCY))
        for ratee in members:
            if ratee == rater:
                continue
            seen = shares[ratee] * scale * math.exp(rng.gauss(0, SEEN_NOISE))
            levels = {}
            for key in CRITERIA:
                jitter = rng.gauss(0, 0.3)
                levels[key] = min(
                    4, max(1, round(2.5 + 1.5 * math.log(seen) / SHARE_SPREAD + jitter))
                )
            score = scoring.rubric_score(rubric, levels).score
            ratings.append(scoring.PeerRating(rater, ratee, score))
    return group, members, shares, ratings


def classic_webpa(members, ratings, group, weight) -> dict[int, float]:
    """WebPA as usually implemented: received shares summed, scaled by n / raters."""
    given: dict[int, dict[int, float]] = {}
    for r in ratings:
        if r.rater_id != r.ratee_id:
            given.setdefault(r.rater_id, {})[r.ratee_id] = r.score
    raters = [g for g in given.values() if sum(g.values()) > 0]
    factor = {m: 0.0 for m in members}
    for scores in raters:
        total = sum(scores.values())
        for ratee, score in scores.items():
            factor[ratee] += score / total
    n = len(members)
    scale = n / len(raters) if raters else 0.0
    out = {}
    for m in members:
        f = factor[m] * scale if raters else 1.0
        out[m] = min(100.0, group * ((1 - weight) + weight * f))
    return out


def ours(members, ratings, group, weight) -> dict[int, float]:
    settings = scoring.ModerationSettings(peer_weight=weight)
    return {
        s.student_id: s.score for s in scoring.individual_scores(group, members, ratings, settings)
    }


def spearman(a: list[float], b: list[float]) -> float | None:
    def ranks(values):
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    ra, rb = ranks(a), ranks(b)
    if len(set(ra)) < 2 or len(set(rb)) < 2:
        return None
    return statistics.correlation(ra, rb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=4000)
    parser.add_argument("--rating-rate", type=float, default=0.85)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    groups = [simulate_group(rng, args.rating_rate) for _ in range(args.groups)]
    members_total = sum(len(g[1]) for g in groups)

    print(
        f"PBL moderation, simulated: {args.groups} groups of 3-6 ({members_total} students), "
        f"each member rates with probability {args.rating_rate}, seed {args.seed}"
    )
    print(
        f"conditions: {host.python_implementation()} {host.python_version()}, "
        f"{os.cpu_count()} cores; shares log-normal sigma {SHARE_SPREAD}, perception noise "
        f"{SEEN_NOISE}, rater leniency {LENIENCY}"
    )
    methods = {
        "group score": lambda m, r, g, w: {x: g for x in m},
        "classic WebPA": classic_webpa,
        "MasteryAI": ours,
    }
    for weight in (1.0, 0.5):
        print(f"\npeer weight {weight}: mean |mark - fair mark|, within-group rank correlation")
        for name, method in methods.items():
            errors, correlations = [], []
            for group, members, shares, ratings in groups:
                marks = method(members, ratings, group, weight)
                fair = [min(100.0, group * s) for s in shares]
                # The fair mark moves with the whole share; at weight w only w of it moves.
                target = [min(100.0, group * ((1 - weight) + weight * s)) for s in shares]
                errors.extend(abs(marks[m] - target[m]) for m in members)
                rho = spearman([marks[m] for m in members], fair)
                if rho is not None:
                    correlations.append(rho)
            corr = (
                f"{statistics.mean(correlations):5.3f}"
                if correlations
                else "  n/a (one mark per group)"
            )
            print(f"  {name:14s} {statistics.mean(errors):6.2f}   {corr}")

    print("\nincentive not to rate (weight 0.5, no penalty): own mark if they stop rating")
    for name, method in (("classic WebPA", classic_webpa), ("MasteryAI", ours)):
        changes = []
        for group, members, _, ratings in groups:
            raters = {r.rater_id for r in ratings}
            if len(raters) < 2:
                continue
            quitter = min(raters)
            before = method(members, ratings, group, 0.5)[quitter]
            kept = [r for r in ratings if r.rater_id != quitter]
            after = method(members, kept, group, 0.5)[quitter]
            changes.append(after - before)
        gain = sum(1 for c in changes if c > 1e-9) / len(changes)
        print(
            f"  {name:14s} mean change {statistics.mean(changes):+6.2f} points, "
            f"better off not rating in {gain:.0%} of {len(changes)} cases"
        )
    print(f"\nran in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
