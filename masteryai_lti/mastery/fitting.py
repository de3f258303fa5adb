"""Offline fitting of the mastery model from an attempt history (pure, no I/O).

``fit(records)`` estimates what a course's history can tell:

1. item difficulties, by replaying the history through the production engine twice
   (the second pass starts from the first pass's difficulties so early students are not
   judged against guesses);
2. the global parameters (bias, prior variances, learning drift, practice gains), by a
   small coordinate search minimising the log-loss of next-answer predictions on a
   replay of (a sample of) the history; a step that lowers the loss is repeated while it
   keeps doing so (up to ``MAX_STEPS``). ``uncertainty_scale`` and ``first_attempt_bias``
   are searched like the others;
3. the calibration of the final logit (``temperature``, ``calibration_offset``): a
   logistic regression of the sample's answers on the model's logits (Platt scaling),
   solved exactly by Newton's method, the sample's items learned on the rest of the
   history with the final parameters. Calibration does not change what the model learns,
   so one replay gives the logits it is fitted on.

The result is JSON-able (``FitResult.to_dict``) and is what ``flask mastery fit`` writes;
``default_params.json`` is such a file fitted on public data, so a new course starts from
sensible values and learns its own item difficulties online.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from masteryai_lti.mastery import engine
from masteryai_lti.mastery.history import AttemptRecord

# Parameters searched, with the multiplicative/additive steps tried around the current value.
SEARCHED = (
    ("bias", "add", (-0.15, 0.15)),
    ("ability_var", "mul", (0.6, 1.6)),
    ("concept_var", "mul", (0.6, 1.6)),
    ("concept_drift", "mul", (0.5, 2.0)),
    ("gain_correct", "add", (-0.05, 0.05)),
    ("gain_wrong", "add", (-0.05, 0.05)),
    ("item_var", "mul", (0.5, 2.0)),
    ("ability_drift", "mul", (0.3, 3.0)),
    # How far belief variance shrinks predictions; the offset of a concept's first attempt.
    ("uncertainty_scale", "mul", (0.7, 1.4)),
    ("first_attempt_bias", "add", (-0.1, 0.1)),
)
# Parameters that may go below zero (the others are variances, rates or scales).
SIGNED = frozenset({"bias", "first_attempt_bias"})
# Steps taken in one direction while each keeps lowering the loss (per parameter and round).
MAX_STEPS = 4


@dataclass
class FitResult:
    """Fitted parameters, learned item difficulties and the fit's own figures."""

    params: engine.MasteryParams
    items: dict[str, engine.ItemState] = field(default_factory=dict)
    concepts: dict[str, engine.ConceptPrior] = field(default_factory=dict)
    log_loss: float | None = None
    attempts: int = 0

    def to_dict(self, include_items: bool = True) -> dict:
        """JSON-able dict: ``params``, ``fit`` figures, optionally ``items`` and ``concepts``."""
        data: dict = {
            "params": self.params.to_dict(),
            "fit": {"log_loss": self.log_loss, "attempts": self.attempts},
        }
        if include_items:
            data["items"] = {key: state.to_dict() for key, state in self.items.items()}
            data["concepts"] = {key: prior.to_dict() for key, prior in self.concepts.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FitResult:
        """Inverse of ``to_dict``."""
        fit = data.get("fit", {})
        return cls(
            params=engine.MasteryParams.from_dict(data.get("params", {})),
            items={k: engine.ItemState.from_dict(v) for k, v in data.get("items", {}).items()},
            concepts={
                k: engine.ConceptPrior.from_dict(v) for k, v in data.get("concepts", {}).items()
            },
            log_loss=fit.get("log_loss"),
            attempts=int(fit.get("attempts", 0)),
        )


def chronological(records: Sequence[AttemptRecord]) -> list[AttemptRecord]:
    """Records by time; ties keep file order (a student's own order is preserved)."""
    return sorted(records, key=lambda r: r.timestamp)


def replay(
    params: engine.MasteryParams,
    records: Sequence[AttemptRecord],
    items: dict[str, engine.ItemState],
    on_prediction: Callable[[AttemptRecord, float], None] | None = None,
    concept_priors: dict[str, engine.ConceptPrior] | None = None,
) -> float:
    """Replay ``records`` (already in time order): predict, then update. Returns mean log-loss.

    ``items`` (and ``concept_priors`` when given) are updated in place: they are learned
    online; students start fresh.
    """
    students: dict[str, engine.StudentState] = {}
    total = 0.0
    update = engine.update
    for r in records:
        student = students.get(r.student)
        if student is None:
            student = students[r.student] = engine.StudentState.new(params)
        item = items.get(r.item)
        if item is None:
            item = items[r.item] = engine.ItemState.new(params)
        p = update(
            params,
            student,
            item,
            r.concepts,
            r.correct,
            r.timestamp,
            r.duration,
            None,
            concept_priors,
        ).probability
        if on_prediction is not None:
            on_prediction(r, p)
        p = min(max(p, 1e-6), 1.0 - 1e-6)
        total -= math.log(p if r.correct else 1.0 - p)
    return total / max(len(records), 1)


def learn_items(
    params: engine.MasteryParams, records: Sequence[AttemptRecord], passes: int = 2
) -> tuple[dict[str, engine.ItemState], dict[str, engine.ConceptPrior]]:
    """Item difficulties and concept priors learned by replaying the history ``passes`` times."""
    items: dict[str, engine.ItemState] = {}
    priors: dict[str, engine.ConceptPrior] = {}
    for _ in range(passes):
        replay(params, records, items, concept_priors=priors)
    return items, priors


def _copy(shared: dict) -> dict:
    return {key: replace(value) for key, value in shared.items()}


def _sample_students(
    records: Sequence[AttemptRecord], max_students: int, seed: int
) -> list[AttemptRecord]:
    students = sorted({r.student for r in records})
    if len(students) <= max_students:
        return list(records)
    chosen = set(random.Random(seed).sample(students, max_students))
    return [r for r in records if r.student in chosen]


def calibrate(
    logits: Sequence[float], labels: Sequence[bool], iterations: int = 25
) -> tuple[float, float]:
    """Temperature and offset minimising the log-loss of ``sigmoid(t * logit + offset)``.

    Two-parameter logistic regression (Platt scaling) by Newton's method; the temperature
    is kept in [0.2, 5] so a calibrated model stays a monotone function of its logit.
    """
    t, offset = 1.0, 0.0
    for _ in range(iterations):
        g_t = g_o = h_tt = h_to = h_oo = 0.0
        for z, y in zip(logits, labels, strict=True):
            u = t * z + offset
            u = min(max(u, -30.0), 30.0)
            p = 1.0 / (1.0 + math.exp(-u))
            r = p - (1.0 if y else 0.0)
            w = p * (1.0 - p)
            g_t += r * z
            g_o += r
            h_tt += w * z * z
            h_to += w * z
            h_oo += w
        det = h_tt * h_oo - h_to * h_to
        if det <= 1e-12:
            break
        step_t = (h_oo * g_t - h_to * g_o) / det
        step_o = (h_tt * g_o - h_to * g_t) / det
        t = min(max(t - step_t, 0.2), 5.0)
        offset -= step_o
        if abs(step_t) < 1e-7 and abs(step_o) < 1e-7:
            break
    return t, offset


def fit(
    records: Sequence[AttemptRecord],
    start: engine.MasteryParams | None = None,
    rounds: int = 2,
    max_students: int = 800,
    seed: int = 7,
    search: bool = True,
) -> FitResult:
    """Fit parameters and item difficulties on ``records`` (any order).

    The coordinate search scores each candidate on a replay of up to ``max_students``
    students whose items start from difficulties learned on the rest of the history (two
    passes), so a candidate is judged the way the model is used: known items, new students.
    The calibration is then fitted on the same students' logits.
    """
    ordered = chronological(records)
    params = start or engine.MasteryParams()
    if search:
        sample = _sample_students(ordered, max_students, seed)
        sample_ids = {r.student for r in sample}
        rest = [r for r in ordered if r.student not in sample_ids] or ordered
        # As in use: items (and concept priors) learned on the history over two passes.
        base_items, base_priors = learn_items(params, rest, passes=2)

        def score(candidate: engine.MasteryParams) -> float:
            return replay(candidate, sample, _copy(base_items), concept_priors=_copy(base_priors))

        best = score(params)
        for _ in range(rounds):
            improved = False
            for name, kind, steps in SEARCHED:
                for step in steps:
                    moved = 0
                    while moved < MAX_STEPS:
                        value = getattr(params, name)
                        new_value = value * step if kind == "mul" else value + step
                        if new_value < 0 and name not in SIGNED:
                            break
                        candidate = replace(params, **{name: round(new_value, 6)})
                        loss = score(candidate)
                        if loss >= best - 1e-5:
                            break
                        best, params, improved = loss, candidate, True
                        moved += 1
                    if moved:
                        break
            if not improved:
                break
        # Calibration last, on the sample's logits before calibration, with the items learned
        # by the final parameters (how settled items are decides how confident predictions are).
        plain = replace(params, temperature=1.0, calibration_offset=0.0)
        base_items, base_priors = learn_items(plain, rest, passes=2)
        logits: list[float] = []
        labels: list[bool] = []

        def collect(r: AttemptRecord, p: float) -> None:
            p = min(max(p, 1e-12), 1.0 - 1e-12)
            logits.append(math.log(p / (1.0 - p)))
            labels.append(r.correct)

        replay(plain, sample, _copy(base_items), collect, _copy(base_priors))
        temperature, offset = calibrate(logits, labels)
        params = replace(
            params, temperature=round(temperature, 4), calibration_offset=round(offset, 4)
        )
    items, priors = learn_items(params, ordered, passes=2)
    students_loss = replay(params, ordered, _copy(items), concept_priors=_copy(priors))
    return FitResult(
        params=params,
        items=items,
        concepts=priors,
        log_loss=students_loss,
        attempts=len(ordered),
    )
