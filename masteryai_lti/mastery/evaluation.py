"""Evaluation of the mastery engine: next-answer prediction on real histories (pure, no I/O).

``EvalAdapter`` runs the production engine behind the two calls an evaluation harness
needs. ``evaluate(records, folds=5)`` splits students into folds; for each fold it fits
on the other folds (``fitting.fit``), then replays the held-out students in time order
(predict, then update) and scores the predictions: AUC, RMSE, expected calibration
error (ECE, 10 equal-width bins), log-loss and attempts per second. The same split is
scored for baselines implemented here: per-item mean, PFA (performance factors
analysis, a logistic regression per skill on prior successes and failures), BKT
(Bayesian knowledge tracing, four parameters per skill fitted on a grid) and Elo by
concept (student ability, student-concept skill and item difficulty, Elo updates with
count-dependent step sizes). It also reports whether "mastered" means something: the
accuracy of the next attempt on a concept right after the engine first marks it mastered.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from masteryai_lti.mastery import engine, fitting
from masteryai_lti.mastery.history import AttemptRecord


def _concepts(skill: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(skill, str):
        return tuple(part for part in skill.split("|") if part)
    return tuple(skill)


class EvalAdapter:
    """The production engine behind ``predict``/``update`` calls of an evaluation harness.

    ``skill`` is a concept key or ``"a|b"``; ``t`` is an aware datetime or POSIX seconds;
    ``extra`` may hold ``duration`` (seconds or None). ``items`` seeds item difficulties
    (e.g. ``FitResult.items``); unknown items start at the prior and are learned online.
    """

    def __init__(
        self,
        params: engine.MasteryParams | None = None,
        items: dict[str, engine.ItemState] | None = None,
        threshold: float = 70.0,
        concept_priors: dict[str, engine.ConceptPrior] | None = None,
    ) -> None:
        self.params = params or engine.default_params()
        self.items: dict[str, engine.ItemState] = items if items is not None else {}
        self.concept_priors: dict[str, engine.ConceptPrior] = (
            concept_priors if concept_priors is not None else {}
        )
        self.students: dict[str, engine.StudentState] = {}
        self.threshold = threshold

    def _student(self, student: str) -> engine.StudentState:
        state = self.students.get(student)
        if state is None:
            state = self.students[student] = engine.StudentState.new(self.params)
        return state

    def _item(self, item: str) -> engine.ItemState:
        state = self.items.get(item)
        if state is None:
            state = self.items[item] = engine.ItemState.new(self.params)
        return state

    def predict(
        self, student: str, skill: str | Sequence[str], item: str, t: datetime | float
    ) -> float:
        """Probability that ``student`` answers ``item`` correctly at ``t``."""
        return engine.predict(
            self.params,
            self._student(student),
            self._item(item),
            _concepts(skill),
            t,
            None,
            self.concept_priors,
        ).probability

    def update(
        self,
        student: str,
        skill: str | Sequence[str],
        item: str,
        correct: bool,
        t: datetime | float,
        extra: dict | None = None,
    ) -> None:
        """Apply the attempt to the student's beliefs and the item's difficulty."""
        duration = (extra or {}).get("duration")
        engine.update(
            self.params,
            self._student(student),
            self._item(item),
            _concepts(skill),
            bool(correct),
            t,
            duration,
            None,
            self.concept_priors,
        )

    def is_mastered(self, student: str, concept: str, t: datetime | float) -> bool:
        """Whether the engine marks ``concept`` mastered for ``student`` at ``t``."""
        return engine.concept_mastery(
            self.params,
            self._student(student),
            concept,
            t,
            self.threshold,
            None,
            self.concept_priors,
        ).mastered


# --- metrics -------------------------------------------------------------------------------


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve (rank statistic; ties share their average rank)."""
    order = sorted(range(len(scores)), key=scores.__getitem__)
    positives = sum(1 for y in labels if y)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    rank_sum = 0.0
    i = 0
    n = len(order)
    while i < n:
        j = i
        while j + 1 < n and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average_rank = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            if labels[order[k]]:
                rank_sum += average_rank
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def rmse(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Root mean squared error of probabilities against 0/1 outcomes."""
    return math.sqrt(
        sum((float(y) - p) ** 2 for y, p in zip(labels, scores, strict=True)) / len(labels)
    )


def log_loss(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Mean negative log-likelihood."""
    total = 0.0
    for y, p in zip(labels, scores, strict=True):
        p = min(max(p, 1e-9), 1.0 - 1e-9)
        total -= math.log(p if y else 1.0 - p)
    return total / len(labels)


def ece(labels: Sequence[bool], scores: Sequence[float], bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width probability bins."""
    counts = [0] * bins
    sums = [0.0] * bins
    hits = [0.0] * bins
    for y, p in zip(labels, scores, strict=True):
        b = min(max(int(p * bins), 0), bins - 1)
        counts[b] += 1
        sums[b] += p
        hits[b] += 1.0 if y else 0.0
    n = len(labels)
    return sum(abs(hits[b] - sums[b]) for b in range(bins) if counts[b]) / n


@dataclass
class Scores:
    """Figures of one model over all test folds."""

    auc: float
    rmse: float
    ece: float
    log_loss: float
    attempts: int
    attempts_per_s: float

    def to_dict(self) -> dict:
        """Rounded JSON-able figures."""
        return {
            "auc": round(self.auc, 4),
            "rmse": round(self.rmse, 4),
            "ece": round(self.ece, 4),
            "log_loss": round(self.log_loss, 4),
            "attempts": self.attempts,
            "attempts_per_s": round(self.attempts_per_s),
        }


def score(labels: Sequence[bool], predictions: Sequence[float], seconds: float) -> Scores:
    """All figures for one model."""
    return Scores(
        auc=auc(labels, predictions),
        rmse=rmse(labels, predictions),
        ece=ece(labels, predictions),
        log_loss=log_loss(labels, predictions),
        attempts=len(labels),
        attempts_per_s=len(labels) / seconds if seconds > 0 else float("inf"),
    )


# --- baselines -----------------------------------------------------------------------------


class ItemMeanBaseline:
    """Per-item share of correct answers (smoothed towards the overall mean), kept online."""

    name = "item_mean"

    def __init__(self, train: Sequence[AttemptRecord], prior_weight: float = 2.0) -> None:
        self.prior_weight = prior_weight
        self.counts: dict[str, list[float]] = {}
        self.overall = sum(r.correct for r in train) / max(len(train), 1)
        for r in train:
            self.update(r)

    def predict(self, r: AttemptRecord) -> float:
        """Smoothed item mean."""
        hits, seen = self.counts.get(r.item, (0.0, 0.0))
        return (hits + self.prior_weight * self.overall) / (seen + self.prior_weight)

    def update(self, r: AttemptRecord) -> None:
        """Count the answer."""
        entry = self.counts.setdefault(r.item, [0.0, 0.0])
        entry[0] += 1.0 if r.correct else 0.0
        entry[1] += 1.0


class EloConceptBaseline:
    """Elo by concept: ability + student-concept skill - item difficulty, Elo updates.

    Step sizes follow the uncertainty function ``a / (1 + b n)`` of the number of
    answers ``n`` already seen by that parameter (Pelánek's Elo for adaptive practice).
    Item difficulties are warmed on the training folds.
    """

    name = "elo_concept"

    def __init__(
        self,
        train: Sequence[AttemptRecord],
        a: float = 1.0,
        b: float = 0.06,
        concept_a: float = 1.0,
        concept_b: float = 0.02,
    ) -> None:
        self.a, self.b, self.concept_a, self.concept_b = a, b, concept_a, concept_b
        self.item: dict[str, list[float]] = {}
        self._reset_students()
        for r in train:
            self.update(r)
        self._reset_students()

    def _reset_students(self) -> None:
        self.ability: dict[str, list[float]] = {}
        self.skill: dict[tuple[str, str], list[float]] = {}

    def _logit(self, r: AttemptRecord) -> float:
        ability = self.ability.get(r.student, (0.0, 0))[0]
        skill = sum(self.skill.get((r.student, c), (0.0, 0))[0] for c in r.concepts)
        skill /= len(r.concepts)
        return ability + skill - self.item.get(r.item, (0.0, 0))[0]

    def predict(self, r: AttemptRecord) -> float:
        """Logistic of the Elo logit."""
        return 1.0 / (1.0 + math.exp(-self._logit(r)))

    def update(self, r: AttemptRecord) -> None:
        """One Elo step for ability, each concept skill and the item."""
        residual = (1.0 if r.correct else 0.0) - self.predict(r)
        entry = self.ability.setdefault(r.student, [0.0, 0])
        entry[0] += self.a / (1.0 + self.b * entry[1]) * residual
        entry[1] += 1
        for c in r.concepts:
            entry = self.skill.setdefault((r.student, c), [0.0, 0])
            entry[0] += self.concept_a / (1.0 + self.concept_b * entry[1]) * residual
            entry[1] += 1
        entry = self.item.setdefault(r.item, [0.0, 0])
        entry[0] -= self.a / (1.0 + self.b * entry[1]) * residual
        entry[1] += 1


class PFABaseline:
    """Performance factors analysis: per skill ``beta + gamma * successes + rho * failures``.

    Summed over an item's skills; fitted by full-batch gradient descent (Adam) on the
    training folds with numpy (an optional dependency of the offline tools).
    """

    name = "pfa"

    def __init__(self, train: Sequence[AttemptRecord], iterations: int = 300) -> None:
        import numpy as np

        self.np = np
        self.skills: dict[str, int] = {}
        for r in train:
            for c in r.concepts:
                self.skills.setdefault(c, len(self.skills))
        rows, skills, wins, fails, labels = [], [], [], [], []
        counts: dict[tuple[str, str], list[int]] = {}
        for i, r in enumerate(fitting.chronological(train)):
            labels.append(1.0 if r.correct else 0.0)
            for c in r.concepts:
                entry = counts.setdefault((r.student, c), [0, 0])
                rows.append(i)
                skills.append(self.skills[c])
                wins.append(entry[0])
                fails.append(entry[1])
            for c in r.concepts:
                counts[(r.student, c)][0 if r.correct else 1] += 1
        n_rows, n_skills = len(labels), len(self.skills)
        row = np.asarray(rows)
        skill = np.asarray(skills)
        win = np.asarray(wins, dtype=float)
        fail = np.asarray(fails, dtype=float)
        y = np.asarray(labels)
        theta = np.zeros(3 * n_skills)
        m = np.zeros_like(theta)
        v = np.zeros_like(theta)
        rate = 0.05
        for step in range(1, iterations + 1):
            beta, gamma, rho = (
                theta[:n_skills],
                theta[n_skills : 2 * n_skills],
                theta[2 * n_skills :],
            )
            pair = beta[skill] + gamma[skill] * win + rho[skill] * fail
            z = np.bincount(row, weights=pair, minlength=n_rows)
            p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
            residual = (p - y)[row] / n_rows
            grad = np.concatenate(
                [
                    np.bincount(skill, weights=residual, minlength=n_skills),
                    np.bincount(skill, weights=residual * win, minlength=n_skills),
                    np.bincount(skill, weights=residual * fail, minlength=n_skills),
                ]
            )
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad * grad
            theta -= rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
        self.beta = theta[:n_skills].tolist()
        self.gamma = theta[n_skills : 2 * n_skills].tolist()
        self.rho = theta[2 * n_skills :].tolist()
        self.counts: dict[tuple[str, str], list[int]] = {}

    def predict(self, r: AttemptRecord) -> float:
        """Logistic of the summed skill terms (unknown skills contribute 0)."""
        z = 0.0
        for c in r.concepts:
            k = self.skills.get(c)
            if k is None:
                continue
            wins, fails = self.counts.get((r.student, c), (0, 0))
            z += self.beta[k] + self.gamma[k] * wins + self.rho[k] * fails
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def update(self, r: AttemptRecord) -> None:
        """Count the success or failure for each skill."""
        for c in r.concepts:
            entry = self.counts.setdefault((r.student, c), [0, 0])
            entry[0 if r.correct else 1] += 1


class BKTBaseline:
    """Bayesian knowledge tracing (Corbett & Anderson): per skill P(L0), P(T), P(G), P(S).

    Fitted per skill by maximum likelihood over a grid (vectorised with numpy over the
    grid, one pass over the skill's training sequences). An item with several skills is
    predicted by the mean of its skills' predictions and updates each of them.
    """

    name = "bkt"
    GRID_L0 = (0.1, 0.3, 0.5, 0.7, 0.9)
    GRID_T = (0.01, 0.05, 0.1, 0.2, 0.35)
    GRID_G = (0.05, 0.15, 0.25, 0.35)
    GRID_S = (0.02, 0.08, 0.15, 0.25)

    def __init__(self, train: Sequence[AttemptRecord]) -> None:
        import numpy as np

        grid = np.array(
            [
                (l0, t, g, sl)
                for l0 in self.GRID_L0
                for t in self.GRID_T
                for g in self.GRID_G
                for sl in self.GRID_S
            ]
        )
        l0, tr, gu, sl = grid.T
        sequences: dict[str, dict[str, list[bool]]] = {}
        for r in fitting.chronological(train):
            for c in r.concepts:
                sequences.setdefault(c, {}).setdefault(r.student, []).append(r.correct)
        self.params: dict[str, tuple[float, float, float, float]] = {}
        for skill, by_student in sequences.items():
            loglik = np.zeros(len(grid))
            for answers in by_student.values():
                known = l0.copy()
                for correct in answers:
                    p = known * (1 - sl) + (1 - known) * gu
                    if correct:
                        loglik += np.log(p)
                        known = known * (1 - sl) / p
                    else:
                        loglik += np.log(1 - p)
                        known = known * sl / (1 - p)
                    # Clipped: long runs push the posterior to 0/1 where rounding breaks it.
                    known = np.clip(known + (1 - known) * tr, 1e-6, 1 - 1e-6)
            self.params[skill] = tuple(float(v) for v in grid[int(np.argmax(loglik))])
        self.default = (0.5, 0.1, 0.2, 0.1)
        self.known: dict[tuple[str, str], float] = {}

    def _skill_p(self, student: str, skill: str) -> tuple[float, tuple[float, float, float, float]]:
        params = self.params.get(skill, self.default)
        known = self.known.get((student, skill), params[0])
        return known * (1 - params[3]) + (1 - known) * params[2], params

    def predict(self, r: AttemptRecord) -> float:
        """Mean over the item's skills of P(correct | P(L))."""
        return sum(self._skill_p(r.student, c)[0] for c in r.concepts) / len(r.concepts)

    def update(self, r: AttemptRecord) -> None:
        """Posterior on each skill, then the learning transition."""
        for c in r.concepts:
            p, (l0, tr, gu, sl) = self._skill_p(r.student, c)
            known = self.known.get((r.student, c), l0)
            if r.correct:
                known = known * (1 - sl) / p
            else:
                known = known * sl / (1 - p)
            self.known[(r.student, c)] = min(max(known + (1 - known) * tr, 1e-6), 1 - 1e-6)


BASELINES: dict[str, Callable[[Sequence[AttemptRecord]], object]] = {
    "item_mean": ItemMeanBaseline,
    "pfa": PFABaseline,
    "elo_concept": EloConceptBaseline,
    "bkt": BKTBaseline,
}


# --- the evaluation ------------------------------------------------------------------------


def split_students(
    records: Iterable[AttemptRecord], folds: int, seed: int = 2009
) -> list[set[str]]:
    """Students shuffled with ``seed`` and dealt into ``folds`` groups."""
    students = sorted({r.student for r in records})
    random.Random(seed).shuffle(students)
    return [set(students[k::folds]) for k in range(folds)]


@dataclass
class MasteredCheck:
    """Accuracy of answers given on concepts the engine marks mastered."""

    next_attempts: int = 0
    next_correct: int = 0
    while_mastered_attempts: int = 0
    while_mastered_correct: int = 0

    def to_dict(self) -> dict:
        """Counts and accuracies (None when no attempt qualified)."""
        return {
            "next_attempt_accuracy": round(self.next_correct / self.next_attempts, 4)
            if self.next_attempts
            else None,
            "next_attempts": self.next_attempts,
            "while_mastered_accuracy": round(
                self.while_mastered_correct / self.while_mastered_attempts, 4
            )
            if self.while_mastered_attempts
            else None,
            "while_mastered_attempts": self.while_mastered_attempts,
        }


@dataclass
class EvaluationReport:
    """Everything ``flask mastery evaluate`` prints."""

    engine: Scores
    baselines: dict[str, Scores]
    mastered: MasteredCheck
    folds: int
    students: int
    threshold: float
    per_fold_auc: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        """One JSON object: engine figures at top level, baselines nested."""
        data = self.engine.to_dict()
        data.update(
            {
                "folds": self.folds,
                "students": self.students,
                "per_fold_auc": [round(a, 4) for a in self.per_fold_auc],
                "mastered": {"threshold": self.threshold, **self.mastered.to_dict()},
                "baselines": {name: s.to_dict() for name, s in self.baselines.items()},
            }
        )
        return data


def _replay_engine(
    adapter: EvalAdapter, test: Sequence[AttemptRecord], check: MasteredCheck
) -> tuple[list[float], float, float]:
    """Predict-then-update over ``test``; returns predictions, engine seconds, total seconds."""
    predictions: list[float] = []
    engine_seconds = 0.0
    # (student, concept) pairs the previous attempt turned mastered: their next attempt counts.
    newly_mastered: set[tuple[str, str]] = set()
    started = time.perf_counter()
    for r in test:
        skill = "|".join(r.concepts)
        before = [adapter.is_mastered(r.student, c, r.timestamp) for c in r.concepts]
        for c, mastered in zip(r.concepts, before, strict=True):
            if mastered:
                check.while_mastered_attempts += 1
                check.while_mastered_correct += r.correct
            key = (r.student, c)
            if key in newly_mastered:
                newly_mastered.discard(key)
                if mastered:
                    check.next_attempts += 1
                    check.next_correct += r.correct
        t0 = time.perf_counter()
        predictions.append(adapter.predict(r.student, skill, r.item, r.timestamp))
        adapter.update(r.student, skill, r.item, r.correct, r.timestamp, {"duration": r.duration})
        engine_seconds += time.perf_counter() - t0
        for c, mastered in zip(r.concepts, before, strict=True):
            if not mastered and adapter.is_mastered(r.student, c, r.timestamp):
                newly_mastered.add((r.student, c))
    return predictions, engine_seconds, time.perf_counter() - started


def evaluate(
    records: Sequence[AttemptRecord],
    folds: int = 5,
    params: engine.MasteryParams | None = None,
    search: bool = True,
    threshold: float = 70.0,
    baselines: Sequence[str] = tuple(BASELINES),
    progress: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """K-fold student-level evaluation of the engine and the baselines.

    ``params`` is the starting point of each fold's fit; with ``search=False`` only item
    difficulties are learned from the training folds.
    """
    groups = split_students(records, folds)
    ordered = fitting.chronological(records)
    labels: list[bool] = []
    engine_predictions: list[float] = []
    engine_seconds = 0.0
    baseline_predictions: dict[str, list[float]] = {name: [] for name in baselines}
    baseline_seconds: dict[str, float] = {name: 0.0 for name in baselines}
    check = MasteredCheck()
    per_fold_auc: list[float] = []
    for k, group in enumerate(groups):
        train = [r for r in ordered if r.student not in group]
        test = [r for r in ordered if r.student in group]
        if not test:
            continue
        fitted = fitting.fit(train, start=params, search=search)
        adapter = EvalAdapter(
            fitted.params,
            {i: replace(s) for i, s in fitted.items.items()},
            threshold,
            {c: replace(p) for c, p in fitted.concepts.items()},
        )
        predictions, seconds, _ = _replay_engine(adapter, test, check)
        fold_labels = [r.correct for r in test]
        per_fold_auc.append(auc(fold_labels, predictions))
        labels.extend(fold_labels)
        engine_predictions.extend(predictions)
        engine_seconds += seconds
        for name in baselines:
            model = BASELINES[name](train)
            t0 = time.perf_counter()
            out = baseline_predictions[name]
            for r in test:
                out.append(model.predict(r))  # type: ignore[attr-defined]
                model.update(r)  # type: ignore[attr-defined]
            baseline_seconds[name] += time.perf_counter() - t0
        if progress is not None:
            progress(
                f"fold {k + 1}/{folds}: {len(test)} attempts, engine AUC {per_fold_auc[-1]:.4f}"
            )
    return EvaluationReport(
        engine=score(labels, engine_predictions, engine_seconds),
        baselines={
            name: score(labels, baseline_predictions[name], baseline_seconds[name])
            for name in baselines
        },
        mastered=check,
        folds=folds,
        students=len({r.student for r in records}),
        threshold=threshold,
        per_fold_auc=per_fold_auc,
    )
