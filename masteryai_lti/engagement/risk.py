"""At-risk scoring (pure): probability of failing or withdrawing, with ranked reasons.

Features come from a `CourseEngagement` (so the product and the OULAD evaluation
share every step). A logistic model turns them into a calibrated probability;
its coefficients are fitted offline (`flask engagement fit`) and shipped as
``risk_model.json`` with their provenance.

Reasons are ranked by a counterfactual: for each actionable factor, how much
would the probability drop if the student's raw value rose to the course
median? The factor with the largest drop is cited first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .engine import COUNT_FACTORS, FACTORS, CourseEngagement, factor_reason

# Factors whose raw value is a count of activity events (part of `CourseEngagement.events`).
_EVENT_FACTORS = [FACTORS.index(name) for name in ("quiz", "interaction", "resource")]

MODEL_PATH = Path(__file__).with_name("risk_model.json")
FEATURES: tuple[str, ...] = (
    *(f"rel_{name}" for name in FACTORS),
    "recency_weeks",
    "never_active",
    "trend",
    "score_gap",
    "no_score",
    "rel_last_week",
    "intensity",
    "early_days",
    "other_courses",
    "earlier_runs",
)
_REL_CLIP = (-6.0, 4.0)
# One other course at the same time is common (two in five OULAD students); two or
# more (one in fourteen) is a load worth a teacher's mention.
HEAVY_LOAD_COURSES = 2


@dataclass(frozen=True)
class RiskModel:
    """Logistic model: p = 1 / (1 + exp(-(intercept + coef · x)))."""

    coef: np.ndarray
    intercept: float
    provenance: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping) -> RiskModel:
        """Load from the JSON form; features must match `FEATURES` by name."""
        names = list(data["features"])
        if names != list(FEATURES):
            raise ValueError(f"model features {names} do not match {list(FEATURES)}")
        return cls(
            np.asarray(data["coef"], dtype=float),
            float(data["intercept"]),
            dict(data.get("provenance", {})),
        )

    def to_dict(self) -> dict:
        """JSON-able form."""
        return {
            "features": list(FEATURES),
            "coef": [round(float(c), 6) for c in self.coef],
            "intercept": round(self.intercept, 6),
            "provenance": self.provenance,
        }

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for a feature matrix (n, len(FEATURES))."""
        z = self.intercept + x @ self.coef
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    @property
    def outcome_rate(self) -> float | None:
        """The share of students who failed or withdrew in the data it was fitted on."""
        rate = self.provenance.get("positive_rate")
        return None if rate is None else float(rate)

    def for_outcome_rate(self, rate: float | None) -> RiskModel:
        """This model for a course where ``rate`` of the students usually fail or withdraw.

        The shipped model learned OULAD's distance-learning rate (44 %); a school class
        with 10 % would read every probability three to four times too high. Assuming
        students who fail look alike in both places and only their share differs (label
        shift), the log-odds move by the difference of the two rates' log-odds
        (Saerens, Latinne & Decaestecker 2002): the order of students, and so every
        AUC, is unchanged; the probabilities fit the course. ``None`` keeps the model.
        """
        if rate is None or self.outcome_rate is None or rate == self.outcome_rate:
            return self
        shift = _log_odds(rate) - _log_odds(self.outcome_rate)
        return RiskModel(self.coef, self.intercept + shift, self.provenance)


def _log_odds(p: float) -> float:
    return float(np.log(p) - np.log1p(-p))


def load_model(path: Path | str = MODEL_PATH) -> RiskModel:
    """Read a model JSON file (default: the one shipped with the package)."""
    return RiskModel.from_dict(json.loads(Path(path).read_text()))


def _relative(raw: np.ndarray, median: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Course-relative position of each raw value: log-ratio for counts, difference for rates."""
    out = np.zeros_like(raw, dtype=float)
    for j, name in enumerate(FACTORS):
        if not active[j]:
            continue
        if name in COUNT_FACTORS:
            out[:, j] = np.log1p(raw[:, j]) - np.log1p(median[j])
        else:
            out[:, j] = (raw[:, j] - median[j]) * 3.0
    return np.clip(out, *_REL_CLIP)


def features(course: CourseEngagement, raw: np.ndarray | None = None) -> np.ndarray:
    """Feature matrix (n, len(FEATURES)); ``raw`` overrides the course's raw values.

    Beyond the index factors (relative to the course median, uncapped above it):
    recency, never active, trend, score, three activity details — active days
    in the latest week against the course's typical week, events per active day
    (log), and how many days ahead of the due day work is handed in (log) — and
    the enrolment context: other courses taken at the same time and earlier runs
    of this course (both log(1 + count)).
    An overriding ``raw`` moves the event count by the change in quiz,
    interaction and resource counts, so a counterfactual stays coherent.
    """
    n = course.size
    events = course.events if course.events is not None else np.zeros(n)
    if raw is not None:
        events = events + (raw[:, _EVENT_FACTORS] - course.raw[:, _EVENT_FACTORS]).sum(axis=1)
    raw = course.raw if raw is None else raw
    early = course.mean_early_days if course.mean_early_days is not None else np.zeros(n)
    last_week = np.clip(np.log1p(course.weekly[:, -1]) - np.log1p(course.typical_week), *_REL_CLIP)
    intensity = np.log1p(np.maximum(events, 0.0)) - np.log1p(raw[:, FACTORS.index("attendance")])
    rel = _relative(raw, course.median, course.active_factors)
    since = course.days_since_active
    never = since < 0
    recency = np.where(never, course.period_days + 7, since) / 7.0
    trend = np.clip(course.trend_slope, -3.0, 3.0)
    no_score = np.isnan(course.mean_score)
    gap = np.where(no_score, 0.0, np.nan_to_num(course.mean_score) - 0.7)
    other = course.other_courses if course.other_courses is not None else np.zeros(n)
    earlier = course.earlier_runs if course.earlier_runs is not None else np.zeros(n)
    return np.column_stack(
        [
            rel,
            recency,
            never.astype(float),
            trend,
            gap,
            no_score.astype(float),
            last_week,
            intensity,
            np.log1p(early),
            np.log1p(other),
            np.log1p(earlier),
        ]
    )


# The outcome rates a course may declare: a share, not a certainty either way.
OUTCOME_RATE_RANGE = (0.01, 0.95)


class RiskSettingsError(ValueError):
    """Per-course risk settings that do not hold, each problem with its field."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class RiskSettings:
    """Per-course risk settings.

    Flag at ``flag_at``, clear only below ``clear_below``: the gap between the two is
    the hysteresis that keeps flags from flickering. ``outcome_rate`` is the share of
    the course's students who usually fail or withdraw, to which probabilities are
    calibrated (`RiskModel.for_outcome_rate`); None keeps the model's own.
    """

    flag_at: float = 0.5
    clear_below: float = 0.4
    outcome_rate: float | None = None

    def __post_init__(self) -> None:
        errors = []
        if not 0.0 < self.clear_below <= self.flag_at < 1.0:
            errors.append(
                {"path": "clear_below", "message": "thresholds need 0 < clear_below <= flag_at < 1"}
            )
        low, high = OUTCOME_RATE_RANGE
        if self.outcome_rate is not None and not low <= self.outcome_rate <= high:
            errors.append(
                {
                    "path": "outcome_rate",
                    "message": f"a share between {low:g} and {high:g}, or null for the model's own",
                }
            )
        if errors:
            raise RiskSettingsError(errors)


@dataclass(frozen=True)
class RiskReason:
    """One cited reason: the factor (or context) and the probability drop if fixed."""

    factor: str
    text: str
    actionable: bool
    impact: float


@dataclass(frozen=True)
class StudentRisk:
    """At-risk verdict for one student."""

    student_id: int
    probability: float
    flagged: bool
    no_activity: bool
    reasons: list[RiskReason]

    def to_dict(self) -> dict:
        """JSON-able form."""
        return {
            "student_id": self.student_id,
            "probability": self.probability,
            "flagged": self.flagged,
            "no_activity": self.no_activity,
            "reasons": [r.__dict__.copy() for r in self.reasons],
        }


@dataclass
class CourseRisk:
    """Columnar risk for a course: probabilities, flags and counterfactual drops."""

    course: CourseEngagement
    probability: np.ndarray  # (n,)
    flagged: np.ndarray  # (n,) bool
    drop_if_median: np.ndarray  # (n, 6) probability drop when factor j is raised to the median

    def reasons(self, i: int, limit: int = 3) -> list[RiskReason]:
        """1-3 reasons for row i: actionable factors by counterfactual impact, then context."""
        c = self.course
        out: list[RiskReason] = []
        drops = self.drop_if_median[i]
        since = int(c.days_since_active[i])
        # A student never seen must hear so: keep one slot for that context.
        room = limit - 1 if since < 0 else limit
        for j in np.argsort(-drops, kind="stable").tolist():
            if drops[j] <= 1e-4 or len(out) >= room:
                break
            out.append(RiskReason(FACTORS[j], factor_reason(c, i, j), True, float(drops[j])))
        context: list[RiskReason] = []
        if since < 0:
            context.append(
                RiskReason("recency", f"no activity in the last {c.period_days} days", False, 0.0)
            )
        elif since >= 7:
            context.append(RiskReason("recency", f"last active {since} days ago", False, 0.0))
        if c.trend_slope[i] <= -0.15:
            context.append(RiskReason("trend", "weekly activity is falling", False, 0.0))
        ms = c.mean_score[i]
        if not np.isnan(ms) and ms < 0.6:
            context.append(
                RiskReason("performance", f"average score {round(ms * 100)}%", False, 0.0)
            )
        earlier = 0 if c.earlier_runs is None else int(c.earlier_runs[i])
        if earlier > 0:
            runs = "an earlier run" if earlier == 1 else f"{earlier} earlier runs"
            context.append(
                RiskReason("enrolment", f"taking the course again after {runs}", False, 0.0)
            )
        other = 0 if c.other_courses is None else int(c.other_courses[i])
        if other >= HEAVY_LOAD_COURSES:
            context.append(
                RiskReason(
                    "enrolment", f"taking {other} other courses at the same time", False, 0.0
                )
            )
        for r in context:
            if len(out) >= limit:
                break
            out.append(r)
        return out

    def student(self, i: int) -> StudentRisk:
        """Verdict with reasons for row i."""
        return StudentRisk(
            student_id=int(self.course.roster[i]),
            probability=round(float(self.probability[i]), 4),
            flagged=bool(self.flagged[i]),
            no_activity=bool(self.course.days_since_active[i] < 0),
            reasons=self.reasons(i) if self.flagged[i] else [],
        )


def assess_course(
    course: CourseEngagement,
    model: RiskModel,
    settings: RiskSettings | None = None,
    previously_flagged: Sequence[bool] | np.ndarray | None = None,
) -> CourseRisk:
    """Probability, flag and counterfactual reason impacts for every roster student.

    Probabilities are calibrated to the course's ``settings.outcome_rate`` when it has
    one. Roster students with no activity in the period are always flagged. A student
    flagged before stays flagged until the probability falls below
    ``settings.clear_below``.
    """
    th = settings or RiskSettings()
    model = model.for_outcome_rate(th.outcome_rate)
    x = features(course)
    p = model.predict(x)
    prev = (
        np.zeros(course.size, dtype=bool)
        if previously_flagged is None
        else np.asarray(previously_flagged, dtype=bool)
    )
    flagged = (p >= th.flag_at) | (prev & (p >= th.clear_below)) | (course.days_since_active < 0)
    drops = np.zeros((course.size, len(FACTORS)))
    for j in range(len(FACTORS)):
        if not course.active_factors[j]:
            continue
        raised = course.raw.copy()
        raised[:, j] = np.maximum(raised[:, j], course.median[j])
        drops[:, j] = p - model.predict(features(course, raised))
    return CourseRisk(course, p, flagged, drops)


def fit_standardised(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """`fit_logistic` on features scaled to unit variance, coefficients mapped back.

    The penalty then treats every feature alike whatever its units. Returns
    (coef, intercept) on the original scale, so prediction needs no scaling.
    """
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    coef, intercept = fit_logistic((x - mu) / sd, y, l2=l2, iterations=iterations)
    coef = coef / sd
    return coef, float(intercept - mu @ coef)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """Fit an L2-penalised logistic regression by Newton's method; returns (coef, intercept).

    The intercept is not penalised. Deterministic.
    """
    n, k = x.shape
    xa = np.column_stack([np.ones(n), x])
    beta = np.zeros(k + 1)
    penalty = np.full(k + 1, l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        z = np.clip(xa @ beta, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        grad = xa.T @ (p - y) + penalty * beta
        hess = (xa * (p * (1 - p))[:, None]).T @ xa + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta[1:], float(beta[0])
