"""Project-based-learning scoring (pure): rubrics, group scores and peer-moderated marks.

A rubric has criteria (communication, collaboration and problem solving by default),
each with a weight and a few levels worth some points. Teachers rate a group's work
on every criterion; the group score is the weighted share of the points available,
0 to 100, and each criterion's contribution to it is published so a teacher can say
where the mark came from. Members of a group also rate one another with a rubric;
those peer ratings move each member's share of the group score up or down
(`individual_scores`, a WebPA-style moderation), and each student gets a sentence
or two saying how their mark was reached.

Everything here takes and returns plain values and dataclasses: no Flask, no
database, so the rules can be read and tested on their own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

MAX_CRITERIA = 20
MIN_LEVELS, MAX_LEVELS = 2, 10
MAX_WEIGHT = 1000.0
MAX_NAME = 200
MAX_LABEL = 100
MAX_DESCRIPTION = 2000
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")

# Published scores have two decimals; contributions are apportioned in hundredths.
_HUNDREDTHS = 100


class RubricError(ValueError):
    """A rubric, ratings or settings that do not hold, each problem with its field path."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Level:
    """One level of a criterion: the points it is worth and what it looks like."""

    points: float
    label: str
    description: str = ""


@dataclass(frozen=True)
class Criterion:
    """One thing the rubric judges, with its weight and its levels (ascending points)."""

    key: str
    name: str
    weight: float
    levels: tuple[Level, ...]
    description: str = ""

    @property
    def max_points(self) -> float:
        """Points of the highest level: a rating of this many is full marks."""
        return max(level.points for level in self.levels)

    def level_for(self, points: float) -> Level | None:
        """The level worth exactly ``points``, or None when no level is."""
        for level in self.levels:
            if _same_points(level.points, points):
                return level
        return None


@dataclass(frozen=True)
class Rubric:
    """The criteria a piece of work (or a teammate) is rated on."""

    criteria: tuple[Criterion, ...]

    def criterion(self, key: str) -> Criterion | None:
        """The criterion with this key, or None."""
        for criterion in self.criteria:
            if criterion.key == key:
                return criterion
        return None

    @property
    def keys(self) -> tuple[str, ...]:
        """Criterion keys in rubric order."""
        return tuple(criterion.key for criterion in self.criteria)


def _same_points(a: float, b: float) -> bool:
    # Points travel through JSON and forms; 2.5 and 2.5000000000000004 are one level.
    return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9)


def _levels(labels_and_descriptions: Sequence[tuple[str, str]]) -> tuple[Level, ...]:
    return tuple(
        Level(float(points), label, description)
        for points, (label, description) in enumerate(labels_and_descriptions, start=1)
    )


def default_rubric() -> Rubric:
    """The rubric a new project starts with: communication, collaboration, problem solving.

    Four levels each, 1 to 4 points (Beginning, Developing, Proficient, Exemplary),
    equal weights. Descriptions are written for a secondary-school teacher.
    """
    return Rubric(
        (
            Criterion(
                "communication",
                "Communication",
                1.0,
                _levels(
                    [
                        (
                            "Beginning",
                            "Ideas are hard to follow and the audience is left unsure "
                            "what the group found.",
                        ),
                        (
                            "Developing",
                            "The main ideas come across, but explanations are patchy "
                            "or rely on reading from notes.",
                        ),
                        (
                            "Proficient",
                            "Ideas are explained clearly and in a sensible order, "
                            "with evidence the audience can follow.",
                        ),
                        (
                            "Exemplary",
                            "Ideas are explained clearly and persuasively, adapted to "
                            "the audience, and questions are answered with confidence.",
                        ),
                    ]
                ),
                "How clearly the group explains its ideas, in writing and aloud.",
            ),
            Criterion(
                "collaboration",
                "Collaboration",
                1.0,
                _levels(
                    [
                        (
                            "Beginning",
                            "Work is done by one or two members and others are left "
                            "out or stay passive.",
                        ),
                        (
                            "Developing",
                            "Tasks are shared, but members mostly work alone and "
                            "decisions are not discussed.",
                        ),
                        (
                            "Proficient",
                            "Members share tasks fairly, listen to each other and "
                            "agree decisions together.",
                        ),
                        (
                            "Exemplary",
                            "Members share tasks fairly, build on each other's ideas "
                            "and resolve disagreements constructively.",
                        ),
                    ]
                ),
                "How well the members share the work and build on each other's ideas.",
            ),
            Criterion(
                "problem_solving",
                "Problem solving",
                1.0,
                _levels(
                    [
                        (
                            "Beginning",
                            "The problem is not clearly understood and the approach is guesswork.",
                        ),
                        (
                            "Developing",
                            "The problem is understood and one approach is tried, "
                            "with little checking of whether it works.",
                        ),
                        (
                            "Proficient",
                            "The group plans an approach, tests it and improves it "
                            "when results fall short.",
                        ),
                        (
                            "Exemplary",
                            "The group compares several approaches, justifies its "
                            "choice with evidence and reflects on its limits.",
                        ),
                    ]
                ),
                "How the group understands the problem, plans, tests and improves a solution.",
            ),
        )
    )


# --- parsing -------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    # bool is an int in Python but never a sensible number of points or a weight.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite_number(value: object) -> bool:
    """A number a float can hold: not infinite, not NaN, not an integer beyond 1e308
    (which ``math.isfinite`` answers with an OverflowError instead)."""
    if not _is_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _text(
    errors: list[dict[str, str]],
    path: str,
    value: object,
    *,
    low: int,
    high: int,
    what: str,
) -> str | None:
    """A stripped string of ``low``..``high`` characters, or None with an error noted."""
    if not isinstance(value, str):
        errors.append({"path": path, "message": f"{what} must be text"})
        return None
    value = value.strip()
    if len(value) < low:
        errors.append({"path": path, "message": f"{what} is required"})
        return None
    if len(value) > high:
        errors.append({"path": path, "message": f"{what} has at most {high} characters"})
        return None
    return value


def _description(errors: list[dict[str, str]], path: str, value: object) -> str:
    if value is None:
        return ""
    text = _text(errors, path, value, low=0, high=MAX_DESCRIPTION, what="a description")
    return text or ""


def _parse_level(
    errors: list[dict[str, str]], path: str, data: object, seen: list[float]
) -> Level | None:
    """One level; the points of every level with sensible points go to ``seen``."""
    if not isinstance(data, Mapping):
        errors.append({"path": path, "message": "a level is an object with points and a label"})
        return None
    start = len(errors)
    points = data.get("points")
    if not _is_finite_number(points):
        errors.append({"path": f"{path}.points", "message": "points must be a number"})
    elif points < 0:
        errors.append({"path": f"{path}.points", "message": "points cannot be negative"})
    else:
        if any(_same_points(points, other) for other in seen):
            errors.append(
                {"path": f"{path}.points", "message": f"another level is already worth {points:g}"}
            )
        seen.append(float(points))
    label = _text(errors, f"{path}.label", data.get("label"), low=1, high=MAX_LABEL, what="a label")
    description = _description(errors, f"{path}.description", data.get("description"))
    if len(errors) > start:
        return None
    return Level(float(points), label, description)


def _parse_criterion(
    errors: list[dict[str, str]], path: str, data: object, keys: set[str]
) -> Criterion | None:
    if not isinstance(data, Mapping):
        errors.append(
            {"path": path, "message": "a criterion is an object with a key, a name and levels"}
        )
        return None
    start = len(errors)
    key = data.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        errors.append(
            {
                "path": f"{path}.key",
                "message": "a key is 1 to 40 lower-case letters, digits or underscores, "
                "starting with a letter",
            }
        )
    elif key in keys:
        errors.append({"path": f"{path}.key", "message": f"another criterion has key {key!r}"})
    else:
        keys.add(key)
    name = _text(errors, f"{path}.name", data.get("name"), low=1, high=MAX_NAME, what="a name")
    weight = data.get("weight")
    if weight is None:
        weight = 1.0
    elif not _is_finite_number(weight):
        errors.append({"path": f"{path}.weight", "message": "a weight must be a number"})
    elif not 0 < weight <= MAX_WEIGHT:
        errors.append(
            {
                "path": f"{path}.weight",
                "message": f"a weight is more than 0 and at most {MAX_WEIGHT:g}",
            }
        )
    description = _description(errors, f"{path}.description", data.get("description"))

    raw_levels = data.get("levels")
    levels: list[Level] = []
    if not isinstance(raw_levels, Sequence) or isinstance(raw_levels, str | bytes):
        errors.append({"path": f"{path}.levels", "message": "levels must be a list"})
    else:
        if not MIN_LEVELS <= len(raw_levels) <= MAX_LEVELS:
            errors.append(
                {
                    "path": f"{path}.levels",
                    "message": f"a criterion has {MIN_LEVELS} to {MAX_LEVELS} levels",
                }
            )
        seen: list[float] = []
        for j, raw in enumerate(raw_levels):
            level = _parse_level(errors, f"{path}.levels[{j}]", raw, seen)
            if level is not None:
                levels.append(level)
        # Only when every level's points were read is "all zero" a fact, not a symptom;
        # with unique points it can only happen alongside a repeated or missing level,
        # but it is the problem a teacher should hear about.
        if len(seen) == len(raw_levels) and seen and max(seen) <= 0:
            errors.append(
                {
                    "path": f"{path}.levels",
                    "message": "at least one level must be worth more than 0 points",
                }
            )
    if len(errors) > start:
        return None
    return Criterion(
        key,
        name,
        float(weight),
        tuple(sorted(levels, key=lambda level: level.points)),
        description,
    )


def parse_rubric(data: Mapping) -> Rubric:
    """Read a rubric from its JSON form, or raise `RubricError` listing every problem.

    ``{"criteria": [{"key", "name", "weight" (default 1), "description" (optional),
    "levels": [{"points", "label", "description" (optional)}]}]}``. Each error has a
    JSON path such as ``criteria[1].levels[0].points`` (indices as given). Levels
    are stored sorted by points, lowest first.
    """
    errors: list[dict[str, str]] = []
    raw_criteria = data.get("criteria") if isinstance(data, Mapping) else None
    if not isinstance(raw_criteria, Sequence) or isinstance(raw_criteria, str | bytes):
        raise RubricError([{"path": "criteria", "message": "criteria must be a list"}])
    if not 1 <= len(raw_criteria) <= MAX_CRITERIA:
        errors.append({"path": "criteria", "message": f"a rubric has 1 to {MAX_CRITERIA} criteria"})
    keys: set[str] = set()
    criteria = [
        _parse_criterion(errors, f"criteria[{i}]", raw, keys) for i, raw in enumerate(raw_criteria)
    ]
    if errors:
        raise RubricError(errors)
    return Rubric(tuple(c for c in criteria if c is not None))


def scores_alike(a: Rubric, b: Rubric) -> bool:
    """Whether two rubrics score every rating alike: the same criterion keys with the
    same weights and level points. Names, labels, descriptions and the order criteria
    are shown in may differ; those only say in words what the points already mean.

    A project whose rubric is in use may still take a wording change (a typo in a
    level's description is common once students read it) but nothing that would
    re-score work already rated.
    """

    def shape(rubric: Rubric) -> dict[str, tuple[float, tuple[float, ...]]]:
        return {
            c.key: (c.weight, tuple(level.points for level in c.levels)) for c in rubric.criteria
        }

    left, right = shape(a), shape(b)
    if left.keys() != right.keys():
        return False
    for key, (weight, points) in left.items():
        other_weight, other_points = right[key]
        if not _same_points(weight, other_weight) or len(points) != len(other_points):
            return False
        if not all(_same_points(x, y) for x, y in zip(points, other_points, strict=True)):
            return False
    return True


def rubric_to_dict(rubric: Rubric) -> dict:
    """The JSON form of a rubric; `parse_rubric` reads it back to an equal rubric."""
    return {
        "criteria": [
            {
                "key": c.key,
                "name": c.name,
                "weight": c.weight,
                "description": c.description,
                "levels": [
                    {"points": level.points, "label": level.label, "description": level.description}
                    for level in c.levels
                ],
            }
            for c in rubric.criteria
        ]
    }


# --- rubric scores -------------------------------------------------------------------


def validate_ratings(rubric: Rubric, ratings: Mapping) -> list[dict]:
    """Problems with one evaluation ``{criterion_key: points}``; [] when it is valid.

    Every criterion must be rated with the points of one of its levels; keys that
    are not criteria are errors. Paths are ``ratings.<key>``.
    """
    if not isinstance(ratings, Mapping):
        return [{"path": "ratings", "message": "ratings are an object of criterion: points"}]
    errors = []
    for criterion in rubric.criteria:
        path = f"ratings.{criterion.key}"
        if criterion.key not in ratings:
            errors.append({"path": path, "message": f"{criterion.name} is not rated"})
            continue
        points = ratings[criterion.key]
        if not _is_finite_number(points):
            errors.append({"path": path, "message": "points must be a number"})
        elif criterion.level_for(points) is None:
            allowed = ", ".join(f"{level.points:g}" for level in criterion.levels)
            errors.append(
                {"path": path, "message": f"{points:g} is not a level's points (one of {allowed})"}
            )
    for key in ratings:
        if rubric.criterion(key) is None:
            errors.append({"path": f"ratings.{key}", "message": "not a criterion of this rubric"})
    return errors


@dataclass(frozen=True)
class CriterionScore:
    """One criterion's part of a score: the points given and what they add to the total."""

    key: str
    points: float
    max_points: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class RubricScore:
    """A 0–100 score and the contribution of each criterion (they sum to the score)."""

    score: float
    criteria: tuple[CriterionScore, ...]


def _apportion(shares: Sequence[Fraction]) -> list[int]:
    """Whole hundredths per share that sum to the rounded total (largest remainder).

    Rounding each share on its own can miss the rounded total by a hundredth or two
    (three equal thirds of 100 round to 33.33 each, 99.99 in all); a teacher adding
    the published contributions must land on the published score.
    """
    target = math.floor(sum(shares, Fraction(0)) + Fraction(1, 2))
    floors = [math.floor(share) for share in shares]
    left = target - sum(floors)
    # Largest remainder first; ties go to the earlier criterion so the result is stable.
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def _score(rubric: Rubric, points: Mapping[str, Fraction]) -> RubricScore:
    if not rubric.criteria:
        raise RubricError([{"path": "criteria", "message": "a rubric has at least one criterion"}])
    total_weight = sum((Fraction(c.weight) for c in rubric.criteria), Fraction(0))
    # Exact fractions, so the apportioning sees true remainders, not float noise.
    shares = [
        Fraction(c.weight)
        * points[c.key]
        / Fraction(c.max_points)
        / total_weight
        * 100
        * _HUNDREDTHS
        for c in rubric.criteria
    ]
    hundredths = _apportion(shares)
    criteria = tuple(
        CriterionScore(
            c.key,
            round(float(points[c.key]), 2),
            c.max_points,
            c.weight,
            h / _HUNDREDTHS,
        )
        for c, h in zip(rubric.criteria, hundredths, strict=True)
    )
    return RubricScore(sum(hundredths) / _HUNDREDTHS, criteria)


def rubric_score(rubric: Rubric, ratings: Mapping) -> RubricScore:
    """Score one evaluation 0–100: each criterion's weighted share of its top level.

    score = 100 · Σ weight · points / max_points / Σ weight. Contributions are given
    to two decimals and sum exactly to the score. Raises `RubricError` when the
    ratings are not valid for the rubric (`validate_ratings`).
    """
    errors = validate_ratings(rubric, ratings)
    if errors:
        raise RubricError(errors)
    return _score(rubric, {c.key: Fraction(ratings[c.key]) for c in rubric.criteria})


@dataclass(frozen=True)
class GroupScore:
    """The teachers' score of a group's work; None until a teacher has evaluated it."""

    score: float | None
    evaluators: int
    criteria: tuple[CriterionScore, ...]


def group_score(rubric: Rubric, teacher_ratings: Sequence[Mapping]) -> GroupScore:
    """Score a group's work from its teacher evaluations (one mapping per teacher).

    Several teachers may evaluate the same work: each criterion's points are the
    mean of theirs (published to two decimals), and the score is the rubric score
    of those means, so one teacher's generous level counts as much as another's
    strict one. No evaluation yet: score None, evaluators 0, no criteria. Raises
    `RubricError` (paths ``teacher_ratings[i].ratings.<key>``) for an invalid one.
    """
    errors = []
    for i, ratings in enumerate(teacher_ratings):
        errors += [
            {**e, "path": f"teacher_ratings[{i}].{e['path']}"}
            for e in validate_ratings(rubric, ratings)
        ]
    if errors:
        raise RubricError(errors)
    if not teacher_ratings:
        return GroupScore(None, 0, ())
    n = len(teacher_ratings)
    means = {
        c.key: sum((Fraction(r[c.key]) for r in teacher_ratings), Fraction(0)) / n
        for c in rubric.criteria
    }
    scored = _score(rubric, means)
    return GroupScore(scored.score, n, scored.criteria)


# --- peer moderation -----------------------------------------------------------------


@dataclass(frozen=True)
class PeerRating:
    """One member's rating of another (or of themselves): a rubric score, 0–100."""

    rater_id: int
    ratee_id: int
    score: float


@dataclass(frozen=True)
class ModerationSettings:
    """How far peer ratings move a member's mark away from the group score.

    ``peer_weight`` is the share of the group score that peer ratings moderate (0:
    everyone gets the group score; 1: all of it follows the contribution factor).
    ``self_assessment``: members rate themselves too, and that rating counts.
    ``non_submission_penalty`` is the share of the moderated mark deducted from a
    member who rated nobody.
    """

    peer_weight: float = 0.5
    self_assessment: bool = False
    non_submission_penalty: float = 0.0

    def __post_init__(self) -> None:
        errors = []
        for name in ("peer_weight", "non_submission_penalty"):
            value = getattr(self, name)
            if not _is_finite_number(value) or not 0 <= value <= 1:
                errors.append({"path": name, "message": "a share between 0 and 1"})
        if not isinstance(self.self_assessment, bool):
            errors.append({"path": "self_assessment", "message": "true or false"})
        if errors:
            raise RubricError(errors)


@dataclass(frozen=True)
class IndividualScore:
    """One member's mark: the group score, moderated by peers, less any penalty."""

    student_id: int
    group_score: float | None
    contribution_factor: float
    peer_raters: int
    rated_peers: bool
    moderated_score: float | None
    penalty: float
    score: float | None
    explanation: str


def _counted_ratings(
    members: Sequence[int], ratings: Sequence[PeerRating], self_assessment: bool
) -> dict[int, dict[int, float]]:
    """Each member's ratings that count, ``{rater: {ratee: score}}``; a later one replaces."""
    member_set = set(members)
    given: dict[int, dict[int, float]] = {}
    for r in ratings:
        if r.rater_id not in member_set or r.ratee_id not in member_set:
            continue
        if r.rater_id == r.ratee_id and not self_assessment:
            continue
        given.setdefault(r.rater_id, {})[r.ratee_id] = float(r.score)
    # A rating of oneself alone is one unit shared among one person, whatever its points:
    # it says nothing about how the work was shared, and counting it would make rating
    # only oneself pay (no penalty, and a factor pulled towards an equal share).
    return {rater: scores for rater, scores in given.items() if set(scores) - {rater}}


def contribution_factors(
    members: Sequence[int], ratings: Sequence[PeerRating], self_assessment: bool
) -> dict[int, tuple[float, int]]:
    """Each member's ``(contribution factor, number of raters who rated them)``.

    See `individual_scores` for the rule. A member nobody rated gets (1.0, 0).
    """
    given = _counted_ratings(members, ratings, self_assessment)
    received: dict[int, list[float]] = {m: [] for m in members}
    for scores in given.values():
        total = sum(scores.values())
        if total <= 0:
            continue  # all zeros say nothing about who did more
        rated = len(scores)
        for ratee, score in scores.items():
            # The rater's share to this ratee (score / total) times the number of
            # people they rated: 1.0 is an equal share whatever the rater's scale.
            received[ratee].append(score / total * rated)
    return {
        m: (sum(shares) / len(shares), len(shares)) if shares else (1.0, 0)
        for m, shares in received.items()
    }


def individual_scores(
    group_score: float | None,
    members: Sequence[int],
    ratings: Sequence[PeerRating],
    settings: ModerationSettings,
) -> list[IndividualScore]:
    """Each member's mark: the group score moderated by their peers' ratings.

    Which ratings count. A rater counts when they are a member, rated at least one
    teammate, and the ratings they gave — to teammates, and to themselves when
    ``self_assessment`` is on — add up to more than zero (a member who rated only
    themselves has not rated their teammates). Ratings of non-members, by
    non-members, and of oneself when self-assessment is off are ignored. A later
    rating of the same person by the same rater replaces an earlier one.

    Contribution factor (WebPA-style). Each counted rater splits one unit among the
    people they rated in proportion to their scores: f(r, e) = score(r, e) / total_r.
    A member's factor is the mean, over the raters who rated them, of f(r, e) · k_r,
    where k_r is how many people r rated — so 1.0 is an equal share and 1.2 is a
    fifth more than an equal share, on every rater's own scale (a harsh rater and a
    generous one who rank the team alike give the same factors). A member nobody
    rated keeps 1.0; so does a group of one.

    Why the mean and not WebPA's sum. Classic WebPA adds up the shares a member
    received and multiplies by n / (number who submitted). A member who rated
    nobody still receives from everyone else, while each submitter receives from
    one fewer person (the one who did not rate), so the non-rater's factor comes out
    higher for the same ratings — not rating would pay. Averaging the shares per
    rating received removes that: equal ratings give everyone 1.0, whoever rated.
    When everyone rates everyone the factors average exactly 1. While a rater's
    total stays positive, raising their rating of a member never lowers that
    member's factor.

    Mark. moderated = group_score · ((1 − peer_weight) + peer_weight · factor), so
    ``peer_weight`` is the share of the mark peers can move. A member of a group
    with teammates who rated nobody (or gave everyone zero) loses
    ``non_submission_penalty`` of the moderated mark. score = moderated − penalty,
    held within 0..100; moderated score, penalty and score are given to two
    decimals and the published score is the published moderated score less the
    published penalty (unless the 0..100 limit applies). A group of one is never
    penalised: with nobody else to rate, a self-rating could not move the factor.
    ``group_score`` None (not yet evaluated): moderated score and score are None.

    Results follow the order of ``members``. Raises `RubricError` for a group score
    or a rating score outside 0..100, or a member listed twice.
    """
    errors = []
    if group_score is not None and (
        not _is_finite_number(group_score) or not 0 <= group_score <= 100
    ):
        errors.append({"path": "group_score", "message": "a score between 0 and 100, or null"})
    seen: set[int] = set()
    for i, member in enumerate(members):
        if member in seen:
            errors.append({"path": f"members[{i}]", "message": f"member {member} is listed twice"})
        seen.add(member)
    for i, rating in enumerate(ratings):
        if not _is_number(rating.score) or not 0 <= rating.score <= 100:
            errors.append({"path": f"ratings[{i}].score", "message": "a score between 0 and 100"})
    if errors:
        raise RubricError(errors)

    factors = contribution_factors(members, ratings, settings.self_assessment)
    given = _counted_ratings(members, ratings, settings.self_assessment)
    alone = len(members) <= 1
    results = []
    for member in members:
        factor, raters = factors[member]
        if alone:
            factor, raters = 1.0, 0
        mine = given.get(member, {})
        rated = sum(mine.values()) > 0
        self_rated = member in given.get(member, {}) and rated
        penalised = not alone and not rated and settings.non_submission_penalty > 0
        if group_score is None:
            moderated = score = None
            penalty = 0.0
        else:
            weight = settings.peer_weight
            moderated = round(group_score * ((1 - weight) + weight * factor), 2)
            penalty = round(settings.non_submission_penalty * moderated, 2) if penalised else 0.0
            score = round(min(max(moderated - penalty, 0.0), 100.0), 2)
        results.append(
            IndividualScore(
                student_id=member,
                group_score=None if group_score is None else float(group_score),
                contribution_factor=factor,
                peer_raters=raters,
                rated_peers=rated,
                moderated_score=moderated,
                penalty=penalty,
                score=score,
                explanation=_explain(
                    group_score=group_score,
                    alone=alone,
                    factor=factor,
                    raters=raters,
                    self_rated=self_rated,
                    gave_only_zeros=bool(mine) and not rated,
                    penalised=penalised,
                    moderated=moderated,
                    penalty=penalty,
                    score=score,
                    settings=settings,
                ),
            )
        )
    return results


def _number(value: float) -> str:
    """78.0 -> "78", 82.5 -> "82.5", 82.675 -> "82.68"."""
    return f"{round(value, 2):.2f}".rstrip("0").rstrip(".")


def _share_of_mark(weight: float) -> str:
    if weight == 1:
        return "all of the mark"
    if weight == 0.5:
        return "half of the mark"
    return f"{_number(weight * 100)}% of the mark"


def _whose_ratings(raters: int, self_rated: bool) -> str:
    """ "Your 3 teammates' ratings put", "Your own rating puts", ..."""
    teammates = raters - (1 if self_rated else 0)
    if teammates == 0:
        return "Your own rating puts"
    who = "your teammate's" if teammates == 1 else f"your {teammates} teammates'"
    if self_rated:
        return f"Your own and {who} ratings put"
    return f"{who[0].upper()}{who[1:]} {'rating puts' if teammates == 1 else 'ratings put'}"


def _explain(
    *,
    group_score: float | None,
    alone: bool,
    factor: float,
    raters: int,
    self_rated: bool,
    gave_only_zeros: bool,
    penalised: bool,
    moderated: float | None,
    penalty: float,
    score: float | None,
    settings: ModerationSettings,
) -> str:
    """A sentence or two a student can read: where their mark came from."""
    if group_score is None:
        return "Waiting for the teacher's evaluation of your group's work."
    parts = [f"Your group's work scored {_number(group_score)}."]
    deducted = penalised and penalty > 0
    # "Your score is the group's" would be untrue a sentence before a deduction.
    same = "you start from the group's score" if deducted else "your score is the group's"
    if alone:
        parts.append(f"You are the only member of your group, so {same}.")
    elif settings.peer_weight == 0:
        parts.append(f"Peer ratings do not change marks in this project, so {same}.")
    elif raters == 0:
        parts.append(f"No teammate has rated you yet, so {same}.")
    else:
        share = (
            "exactly an equal share"
            if round(factor, 2) == 1
            else f"{factor:.2f} times an equal share"
        )
        parts.append(
            f"{_whose_ratings(raters, self_rated)} your contribution at {share}; with "
            f"{_share_of_mark(settings.peer_weight)} moderated by peers that gives "
            f"{_number(moderated)}."
        )
    if deducted:
        reason = (
            "your ratings gave every teammate zero, which says nothing about who did what"
            if gave_only_zeros
            else "you did not rate your teammates"
        )
        parts.append(
            f"{_number(settings.non_submission_penalty * 100)}% ({_number(penalty)}) was "
            f"deducted because {reason}, leaving {_number(moderated - penalty)}."
        )
    if moderated - penalty > 100:
        parts.append("Marks are capped at 100, so your score is 100.")
    return " ".join(parts)
