"""Engagement Index engine (pure: no Flask, SQLAlchemy or Redis).

One course at a time. Input is columnar activity (daily counts per student and
kind), the course's due items and the submissions against them; output is a
`CourseEngagement` holding, per student, the 0-100 index, its band, weekly
trend and a per-factor breakdown whose contributions sum exactly to the score.

Days are integers (e.g. ``date.toordinal()`` in the product, day-of-presentation
for OULAD); ``as_of_day`` is the clock: the engine never reads the time itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

FACTORS: tuple[str, ...] = (
    "attendance",
    "submission",
    "quiz",
    "interaction",
    "timeliness",
    "resource",
)
DEFAULT_WEIGHTS: dict[str, int] = {
    "attendance": 25,
    "submission": 20,
    "quiz": 15,
    "interaction": 15,
    "timeliness": 15,
    "resource": 10,
}
# Activity kinds as stored in engagement events; their integer codes index ActivityTable.kind.
ACTIVITY_KINDS: tuple[str, ...] = (
    "attendance",
    "submission",
    "quiz",
    "interaction",
    "resource_view",
    "launch",
)
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(ACTIVITY_KINDS)}
# Factors measured as counts (normalised against the course median of counts);
# the others are rates in 0..1.
COUNT_FACTORS = frozenset({"attendance", "quiz", "interaction", "resource"})
BANDS = (("high", 70.0), ("medium", 40.0), ("low", 0.0))
# A submission this many days late earns no timeliness credit (linear decay before that).
LATE_GRACE_DAYS = 7.0
# Handing work in earlier than this many days before the due day counts as this many.
EARLY_CAP_DAYS = 14.0
# Activity kinds counted as events (clicks) for the risk model's activity intensity.
EVENT_KINDS_FOR_RISK = ("quiz", "interaction", "resource_view", "launch")

_F = {name: i for i, name in enumerate(FACTORS)}


class WeightsError(ValueError):
    """Raised for per-course weights that are not six non-negative integers summing to 100."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


def validate_weights(weights: Mapping[str, object]) -> dict[str, int]:
    """Return weights as ``{factor: int}`` or raise `WeightsError` listing every problem.

    Every factor must be present, an integer 0..100, no unknown keys, and the sum 100.
    """
    errors: list[dict[str, str]] = []
    clean: dict[str, int] = {}
    for key in weights:
        if key not in _F:
            errors.append({"path": key, "message": f"unknown factor; expected one of {FACTORS}"})
    for name in FACTORS:
        if name not in weights:
            errors.append({"path": name, "message": "missing weight"})
            continue
        value = weights[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append({"path": name, "message": "must be an integer"})
            continue
        # int() of an infinite or NaN float raises (JSON's 1e400 reads as infinity).
        if isinstance(value, float) and not math.isfinite(value):
            errors.append({"path": name, "message": "must be between 0 and 100"})
            continue
        if value != int(value):
            errors.append({"path": name, "message": "must be an integer"})
            continue
        if not 0 <= value <= 100:
            errors.append({"path": name, "message": "must be between 0 and 100"})
            continue
        clean[name] = int(value)
    if not errors and sum(clean.values()) != 100:
        errors.append({"path": "", "message": f"weights sum to {sum(clean.values())}, not 100"})
    if errors:
        raise WeightsError(errors)
    return clean


@dataclass(frozen=True)
class ActivityTable:
    """Daily activity, one row per (student, kind, day): ``count`` events that day.

    ``student`` indexes the roster. Submissions against due items go in
    `SubmissionTable`; a 'submission' or 'quiz' row here only marks presence.
    """

    student: np.ndarray
    kind: np.ndarray
    day: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls) -> ActivityTable:
        """An activity table without rows."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), z.copy(), np.zeros(0, dtype=np.float64))

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, str, int, float]]) -> ActivityTable:
        """Build from ``(student_index, kind, day, count)`` tuples."""
        rows = list(rows)
        if not rows:
            return cls.empty()
        s, k, d, c = zip(*rows, strict=True)
        return cls(
            np.asarray(s, dtype=np.int64),
            np.asarray([KIND_CODE[x] for x in k], dtype=np.int64),
            np.asarray(d, dtype=np.int64),
            np.asarray(c, dtype=np.float64),
        )


@dataclass(frozen=True)
class DueItem:
    """An assignment or quiz with a due day; ``kind`` is 'submission' or 'quiz'.

    ``title`` is for people (a declared item's name); the key is what events name.
    ``due_at`` (ISO 8601 instant, "" when unknown) is for people too: ``due_day`` is
    a UTC day, and a teacher's "20:00 on the 4th" in New York is the 5th in UTC.
    """

    key: str
    kind: str
    due_day: int
    title: str = ""
    due_at: str = ""


@dataclass(frozen=True)
class SubmissionTable:
    """First submission of each (student, item): day submitted and score 0..1 (NaN if none)."""

    student: np.ndarray
    item: np.ndarray
    day: np.ndarray
    score: np.ndarray

    @classmethod
    def empty(cls) -> SubmissionTable:
        """A submission table without rows."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), z.copy(), np.zeros(0, dtype=np.float64))

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, int, int, float | None]]) -> SubmissionTable:
        """Build from ``(student_index, item_index, day, score_or_None)`` tuples."""
        rows = list(rows)
        if not rows:
            return cls.empty()
        s, i, d, sc = zip(*rows, strict=True)
        return cls(
            np.asarray(s, dtype=np.int64),
            np.asarray(i, dtype=np.int64),
            np.asarray(d, dtype=np.int64),
            np.asarray([np.nan if x is None else x for x in sc], dtype=np.float64),
        )


@dataclass(frozen=True)
class CourseInput:
    """Everything the engine needs for one course over one period ending at ``as_of_day``."""

    roster: Sequence[int]
    activity: ActivityTable
    items: Sequence[DueItem]
    submissions: SubmissionTable
    as_of_day: int
    period_days: int = 30
    weights: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # Course-level figures from a previous full computation: lets one student be
    # scored alone (after a new event) against the class without reloading it.
    reference: CourseReference | None = None
    # Enrolment context per roster student, for the risk model only (the index
    # measures engagement, not circumstances): other courses taken at the same
    # time and earlier runs of this course the student was enrolled in. None = 0.
    other_courses: Sequence[int] | None = None
    earlier_runs: Sequence[int] | None = None


@dataclass(frozen=True)
class CourseReference:
    """Course medians, factors with signal and typical weekly activity."""

    median: tuple[float, ...]
    active: tuple[bool, ...]
    typical_week: float

    def to_dict(self) -> dict:
        """JSON-able form."""
        return {
            "median": list(self.median),
            "active": list(self.active),
            "typical_week": self.typical_week,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> CourseReference:
        """Inverse of `to_dict`."""
        return cls(
            tuple(float(x) for x in data["median"]),
            tuple(bool(x) for x in data["active"]),
            float(data["typical_week"]),
        )


@dataclass(frozen=True)
class FactorBreakdown:
    """One factor of one student's index."""

    factor: str
    raw: float
    course_median: float
    normalised: float
    weight: float
    contribution: float
    reason: str


@dataclass(frozen=True)
class StudentEngagement:
    """One student's index with its explanation."""

    student_id: int
    score: float
    band: str
    trend: str
    trend_slope: float
    weekly_active_days: list[int]
    days_since_active: int | None
    factors: list[FactorBreakdown]

    def to_dict(self) -> dict:
        """JSON-able form."""
        return {
            "student_id": self.student_id,
            "score": self.score,
            "band": self.band,
            "trend": self.trend,
            "trend_slope": self.trend_slope,
            "weekly_active_days": self.weekly_active_days,
            "days_since_active": self.days_since_active,
            "factors": [f.__dict__.copy() for f in self.factors],
        }


@dataclass
class CourseEngagement:
    """Columnar result for a whole course (row i = roster[i]).

    ``contributions`` are in tenths of a point (integers) so that each row sums
    exactly to ``score`` × 10 — the score shown is the sum of what is shown.
    """

    roster: np.ndarray
    raw: np.ndarray  # (n, 6)
    median: np.ndarray  # (6,)
    normalised: np.ndarray  # (n, 6)
    active_factors: np.ndarray  # (6,) bool: the factor has signal in this course
    weights: np.ndarray  # (6,) effective weights after spreading dropped ones, sum 100
    contributions: np.ndarray  # (n, 6) int tenths
    score: np.ndarray  # (n,) float, one decimal
    weekly: np.ndarray  # (n, W) active days per week, oldest first
    trend_slope: np.ndarray  # (n,)
    days_since_active: np.ndarray  # (n,) int, -1 = never active in the period
    mean_score: np.ndarray  # (n,) mean score 0..1 of submitted work, NaN when none
    missing_items: np.ndarray  # (n,) due items not submitted
    due_items: int
    period_days: int
    # Risk inputs beyond the index: activity events (quiz, interaction, resource
    # views, launches) in the period, mean days ahead of the due day of handed-in
    # work (0..EARLY_CAP_DAYS), and the course's typical weekly active days.
    events: np.ndarray | None = None  # (n,)
    mean_early_days: np.ndarray | None = None  # (n,)
    typical_week: float = 1.0
    other_courses: np.ndarray | None = None  # (n,) int
    earlier_runs: np.ndarray | None = None  # (n,) int

    @property
    def size(self) -> int:
        """Number of roster students."""
        return int(self.roster.shape[0])

    def band(self, i: int) -> str:
        """Band of student row i."""
        return band_for(float(self.score[i]))

    def trend(self, i: int) -> str:
        """'rising', 'steady' or 'falling' for student row i."""
        return trend_label(float(self.trend_slope[i]))

    def index_of(self, student_id: int) -> int:
        """Row of a student id, or raise KeyError."""
        hits = np.flatnonzero(self.roster == student_id)
        if hits.size == 0:
            raise KeyError(student_id)
        return int(hits[0])

    def student(self, i: int) -> StudentEngagement:
        """Full breakdown with reasons for student row i."""
        factors = []
        for j, name in enumerate(FACTORS):
            factors.append(
                FactorBreakdown(
                    factor=name,
                    raw=round(float(self.raw[i, j]), 3),
                    course_median=round(float(self.median[j]), 3),
                    normalised=round(float(self.normalised[i, j]), 3),
                    weight=round(float(self.weights[j]), 2),
                    contribution=float(self.contributions[i, j]) / 10.0,
                    reason=factor_reason(self, i, j),
                )
            )
        dsa = int(self.days_since_active[i])
        return StudentEngagement(
            student_id=int(self.roster[i]),
            score=float(self.score[i]),
            band=self.band(i),
            trend=self.trend(i),
            trend_slope=round(float(self.trend_slope[i]), 3),
            weekly_active_days=[int(x) for x in self.weekly[i]],
            days_since_active=None if dsa < 0 else dsa,
            factors=factors,
        )


def band_for(score: float) -> str:
    """Band label for an index value."""
    for name, low in BANDS:
        if score >= low:
            return name
    return BANDS[-1][0]


def trend_label(slope: float) -> str:
    """Label a weekly-activity slope (relative to the course's typical week)."""
    if slope <= -0.15:
        return "falling"
    if slope >= 0.15:
        return "rising"
    return "steady"


def _plural(n: float, word: str) -> str:
    shown = f"{n:g}" if n == int(n) else f"{n:.1f}"
    return f"{shown} {word}{'' if n == 1 else 's'}"


def factor_reason(course: CourseEngagement, i: int, j: int) -> str:
    """One-line explanation of factor j for student row i."""
    name = FACTORS[j]
    if not course.active_factors[j]:
        return f"no {name} data in this course; weight spread over the other factors"
    raw, med = float(course.raw[i, j]), float(course.median[j])
    if name == "attendance":
        return f"{_plural(raw, 'active day')} vs course median {med:g}"
    if name == "quiz":
        return f"{_plural(raw, 'quiz attempt')} vs course median {med:g}"
    if name == "interaction":
        return f"{_plural(raw, 'interaction')} vs course median {med:g}"
    if name == "resource":
        return f"{_plural(raw, 'resource view')} vs course median {med:g}"
    if name == "submission":
        missing = int(course.missing_items[i])
        return (
            f"{round(raw * 100)}% of due work submitted ({missing} missing of "
            f"{course.due_items}) vs course median {round(med * 100)}%"
        )
    return f"{round(raw * 100)}% on-time credit on due work vs course median {round(med * 100)}%"


def missing_work(inp: CourseInput, i: int) -> list[DueItem]:
    """The items due in the period that roster row i has not handed in, soonest first:
    what a teacher or the student can act on behind a low submission factor."""
    end = inp.as_of_day
    start = end - inp.period_days
    sub = inp.submissions
    handed = set(sub.item[(sub.student == i) & (sub.day <= end)].tolist())
    due = [
        item for n, item in enumerate(inp.items) if start < item.due_day <= end and n not in handed
    ]
    return sorted(due, key=lambda item: (item.due_day, item.key, item.kind))


def effective_weights(weights: Mapping[str, int], active: np.ndarray) -> np.ndarray:
    """Spread the weight of factors without signal over the others, proportionally.

    If every factor with weight is inactive the result is all zeros.
    """
    w = np.asarray([float(weights[name]) for name in FACTORS])
    kept = np.where(active, w, 0.0)
    total = kept.sum()
    if total <= 0:
        return np.zeros(len(FACTORS))
    return kept * (100.0 / total)


def course_medians(raw: np.ndarray, last_day: np.ndarray) -> np.ndarray:
    """Each factor's median over the students seen in the period (any activity or
    handed-in work); zeros when nobody has been.

    Students who never appeared are not the class's norm. A roster synced from the
    LMS brings every enrolled student, most of whom may not have opened anything
    yet: counted in, they made every median 0 once they were half the roster, and a
    median of 0 gives full credit (see `normalise`) — the absent scored 100 too.
    """
    seen = seen_in_period(raw, last_day)
    if not seen.any():
        return np.zeros(raw.shape[1])
    return np.median(raw[seen], axis=0)


def seen_in_period(raw: np.ndarray, last_day: np.ndarray) -> np.ndarray:
    """Per student: any activity or handed-in work in the period."""
    return (last_day >= 0) | (raw > 0).any(axis=1)


def normalise(raw: np.ndarray, median: np.ndarray) -> np.ndarray:
    """Course-relative credit in 0..1: the raw value over the course median, capped at 1.

    A student at or above the median gets full credit, so a quiet student who
    does the work is not penalised for being below the loudest; with a median
    of zero nobody is penalised at all on that factor.
    """
    safe = np.where(median > 0, median, 1.0)
    ratio = np.where(median > 0, raw / safe, 1.0)
    return np.clip(ratio, 0.0, 1.0)


def _exact_tenths(parts: np.ndarray) -> np.ndarray:
    """Round each row of ``parts`` (points) to tenths so the row sums to round(sum, 1).

    Largest-remainder rounding: floors first, then hand the missing tenths to
    the largest fractional remainders.
    """
    scaled = parts * 10.0
    floors = np.floor(scaled + 1e-9)
    target = np.rint(scaled.sum(axis=1))
    short = (target - floors.sum(axis=1)).astype(np.int64)
    order = np.argsort(-(scaled - floors), axis=1, kind="stable")
    rank = np.empty_like(order)
    rows = np.arange(parts.shape[0])[:, None]
    rank[rows, order] = np.arange(parts.shape[1])[None, :]
    floors += rank < short[:, None]
    return floors.astype(np.int64)


def compute_raw(inp: CourseInput) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-student raw factor values over the period, plus auxiliary arrays.

    Returns ``(raw (n, 6), aux)`` where aux has weekly, last_day, mean_score,
    missing_items, has_signal (6,).
    """
    n = len(inp.roster)
    end = inp.as_of_day
    start = end - inp.period_days
    # Whole weeks only: a partial oldest week would look like a rising trend.
    weeks = max(1, inp.period_days // 7)
    act = inp.activity
    in_window = (act.day > start) & (act.day <= end) & (act.count > 0) & (act.student < n)
    s, k = act.student[in_window], act.kind[in_window]
    d, c = act.day[in_window], act.count[in_window]

    raw = np.zeros((n, len(FACTORS)))
    has_signal = np.zeros(len(FACTORS), dtype=bool)

    # Active days: any activity that day (an attendance record marked present, a
    # launch, a view...). Dedupe (student, day) pairs with one sort.
    offset = d - start
    span = inp.period_days + 1
    # Sort + adjacent compare: much faster than np.unique's hash path on large int arrays.
    keys = np.sort(s * span + offset)
    pair = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys
    ps, pd = pair // span, pair % span
    raw[:, _F["attendance"]] = np.bincount(ps, minlength=n)
    has_signal[_F["attendance"]] = pair.size > 0
    week_idx = (end - (pd + start)) // 7
    in_weeks = week_idx < weeks
    cell = ps[in_weeks] * weeks + (weeks - 1 - week_idx[in_weeks])
    weekly = np.bincount(cell, minlength=n * weeks).reshape(n, weeks).astype(np.int64)
    # Pairs are sorted by (student, day): each student's last pair is their last active day.
    last_day = np.full(n, -1, dtype=np.int64)
    if pair.size:
        last = np.concatenate((ps[1:] != ps[:-1], [True]))
        last_day[ps[last]] = pd[last]

    counted = (("quiz", "quiz"), ("interaction", "interaction"), ("resource", "resource_view"))
    ev_sel = np.isin(k, [KIND_CODE[x] for x in EVENT_KINDS_FOR_RISK])
    events = np.bincount(s[ev_sel], weights=c[ev_sel], minlength=n)
    for factor, kind in counted:
        sel = k == KIND_CODE[kind]
        raw[:, _F[factor]] = np.bincount(s[sel], weights=c[sel], minlength=n)
        has_signal[_F[factor]] = bool(sel.any())

    # Due items: those whose due day falls inside the period, up to now.
    items = list(inp.items)
    due_mask = np.array([start < it.due_day <= end for it in items], dtype=bool)
    due_days = np.array([it.due_day for it in items], dtype=np.int64)
    is_quiz = np.array([it.kind == "quiz" for it in items], dtype=bool)
    sub = inp.submissions
    ok = (sub.student < n) & (sub.day <= end)
    ss, si, sd, sc = sub.student[ok], sub.item[ok], sub.day[ok], sub.score[ok]
    n_due = int(due_mask.sum())
    missing = np.zeros(n, dtype=np.int64)
    if items and sub.student.size:
        # Submitted quizzes are quiz attempts too.
        qsel = is_quiz[si]
        raw[:, _F["quiz"]] += np.bincount(ss[qsel], minlength=n)
        has_signal[_F["quiz"]] |= bool(qsel.any())
    if n_due:
        dsel = due_mask[si]
        submitted = np.bincount(ss[dsel], minlength=n)
        raw[:, _F["submission"]] = submitted / n_due
        missing = n_due - submitted
        late = np.maximum(0, sd[dsel] - due_days[si[dsel]])
        credit = np.clip(1.0 - late / LATE_GRACE_DAYS, 0.0, 1.0)
        raw[:, _F["timeliness"]] = np.bincount(ss[dsel], weights=credit, minlength=n) / n_due
        has_signal[_F["submission"]] = True
        has_signal[_F["timeliness"]] = True
    # How far ahead of the due day work was handed in (any item, due yet or not).
    early = np.zeros(n)
    if items and ss.size:
        ahead = np.clip(due_days[si] - sd, 0.0, EARLY_CAP_DAYS)
        handed = np.bincount(ss, minlength=n)
        early = np.bincount(ss, weights=ahead, minlength=n) / np.maximum(handed, 1)
    scored = ~np.isnan(sc)
    cnt = np.bincount(ss[scored], minlength=n)
    tot = np.bincount(ss[scored], weights=sc[scored], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    aux = {
        "weekly": weekly,
        "last_day": last_day,
        "mean_score": mean_score,
        "missing_items": missing,
        "has_signal": has_signal,
        "events": events,
        "mean_early_days": early,
        "n_due": np.array(n_due),
        "start": np.array(start),
    }
    return raw, aux


def compute_course(inp: CourseInput) -> CourseEngagement:
    """Compute the Engagement Index of every roster student of one course.

    Raises `WeightsError` on invalid weights.
    """
    weights = validate_weights(inp.weights)
    raw, aux = compute_raw(inp)
    n = raw.shape[0]
    ref = inp.reference
    if ref is not None:
        active = np.asarray(ref.active, dtype=bool)
        median = np.asarray(ref.median, dtype=float)
    else:
        active = aux["has_signal"]
        median = course_medians(raw, aux["last_day"])
    norm = normalise(raw, median)
    w = effective_weights(weights, active)
    # A median of 0 credits everyone in full on that factor, but a student who has
    # done nothing at all in the period has earned nothing (they showed 15 of 100
    # next to "no activity yet").
    seen = seen_in_period(raw, aux["last_day"])
    norm = np.where(active[None, :] & seen[:, None], norm, 0.0)
    tenths = _exact_tenths(norm * w[None, :]) if n else np.zeros((0, len(FACTORS)), np.int64)
    score = tenths.sum(axis=1) / 10.0

    weekly = aux["weekly"]
    # Slope of weekly active days (least squares), relative to the course's
    # typical week so that "falling" means the same in busy and quiet courses.
    weeks = weekly.shape[1]
    typical = _typical_week(weekly) if ref is None else ref.typical_week
    if weeks > 1:
        x = np.arange(weeks) - (weeks - 1) / 2.0
        slope = (weekly * x[None, :]).sum(axis=1) / (x**2).sum()
        slope = slope / typical
    else:
        slope = np.zeros(n)
    last_day = aux["last_day"]
    since = np.where(last_day >= 0, inp.period_days - last_day, -1)
    return CourseEngagement(
        roster=np.asarray(list(inp.roster), dtype=np.int64),
        raw=raw,
        median=median,
        normalised=norm,
        active_factors=active,
        weights=w,
        contributions=tenths,
        score=score,
        weekly=weekly,
        trend_slope=slope,
        days_since_active=since.astype(np.int64),
        mean_score=aux["mean_score"],
        missing_items=aux["missing_items"],
        due_items=int(aux["n_due"]),
        period_days=inp.period_days,
        events=aux["events"],
        mean_early_days=aux["mean_early_days"],
        typical_week=float(typical),
        other_courses=_per_student(inp.other_courses, n),
        earlier_runs=_per_student(inp.earlier_runs, n),
    )


def _per_student(values: Sequence[int] | None, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=np.int64)
    out = np.asarray(values, dtype=np.int64)
    if out.shape != (n,):
        raise ValueError(f"expected one value per roster student ({n}), got {out.shape}")
    return out


def _typical_week(weekly: np.ndarray) -> float:
    """The course's median weekly active days (at least 1, to keep ratios finite)."""
    if weekly.shape[0] == 0:
        return 1.0
    return max(1.0, float(np.median(weekly.mean(axis=1))))


def course_reference(course: CourseEngagement) -> CourseReference:
    """The course-level figures of a computed course, for scoring single students later."""
    return CourseReference(
        tuple(float(x) for x in course.median),
        tuple(bool(x) for x in course.active_factors),
        course.typical_week,
    )


def score_with_raw(course: CourseEngagement, i: int, j: int, new_raw: float) -> float:
    """Index of student row i if factor j's raw value were ``new_raw`` (course medians fixed).

    Used for counterfactual explanations: what would raising one factor do?
    """
    n_new = float(normalise(np.array([new_raw]), np.array([course.median[j]]))[0])
    if not course.active_factors[j]:
        return float(course.score[i])
    delta = (n_new - course.normalised[i, j]) * course.weights[j]
    return float(course.score[i]) + delta
