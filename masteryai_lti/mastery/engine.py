"""Mastery engine (pure): a Bayesian knowledge-tracing-style model per student and concept.

The model
---------
Every answer is predicted on the logit scale as a sum of named terms::

    logit P(correct) = bias + first_attempt + ability + concept_mastery + decay
                       + prerequisite_transfer - item_difficulty (+ uncertainty shrinkage)
                       (+ calibration)

* ``ability`` is the student's general level (one Gaussian belief per student);
* ``concept_mastery`` is the student's level on the item's concepts (one Gaussian belief
  per student and concept, starting from the concept's learned starting level; the mean
  over the item's concepts when an item has several);
* ``decay`` pulls a concept learned above the prior back towards the prior while it is not
  practised (half-life in days on real timestamps; never below the prior);
* ``prerequisite_transfer`` lets what a student knows of a concept's prerequisites inform a
  concept with little evidence of its own (fades as the concept gathers evidence);
* ``item_difficulty`` is learned online from responses (one Gaussian belief per item);
* ``first_attempt`` is a fitted offset for a concept the student has never practised
  (their first answer on it is usually worse than their level elsewhere suggests);
* ``uncertainty`` is the shrinkage towards 50 % that the beliefs' variance implies (probit
  approximation), so an unknown student or item gives a cautious prediction;
* ``calibration`` is what the fitted calibration of the final logit adds or takes away:
  ``temperature * logit + calibration_offset`` (a temperature below 1 tempers predictions
  the history shows to be over-confident). It calibrates what is reported (predictions and
  mastery); the updates below learn from the probability before it.

After each attempt every belief taking part is updated by one step of assumed-density
filtering (a Laplace update of a Gaussian prior under a logistic likelihood): a component
moves in proportion to its own variance, so a new item or a new concept learns fast and a
well-known one barely moves. The evidence of an attempt is weighted by the time spent
(a very fast correct answer is partly a guess; a very slow one is partly help). Practice
itself teaches: each attempt adds a gain proportional to ``1 - P(mastered-typical-item)``,
so gains get smaller near mastery. Variance grows a little after every attempt (the student
is learning, recent answers say more than old ones) and with idle time (forgetting).

Invariants the tests pin: a correct answer never lowers and a wrong answer never raises
the answered concepts' mastery; decay lowers mastery over idle time and never below the
prior; an item with several concepts credits each of them.

Public API (plain data in and out, no I/O, clock passed in)
-----------------------------------------------------------
``MasteryParams``
    Frozen dataclass of model parameters; ``MasteryParams.from_dict`` / ``to_dict``;
    ``default_params()`` loads the shipped defaults (``default_params.json``, fitted on
    historical data by ``flask mastery fit``).
``StudentState``
    Mutable per-student state: ``ability``, ``ability_var`` and ``concepts`` (a dict of concept
    key -> ``ConceptBelief``). ``to_dict()`` / ``StudentState.from_dict(d)`` give JSON-able
    plain data for database storage. ``StudentState.new(params)`` starts at the prior.
``ItemState``
    Mutable per-item difficulty belief (``difficulty``, ``var``, ``responses``);
    ``ItemState.new(params, difficulty=None)`` (e.g. seeded from an easy/medium/hard label),
    ``to_dict`` / ``from_dict``. Pass ``None`` as the item for an unknown item.
``ConceptPrior``
    Mutable per-concept starting level shared by a course (``mean``, ``var``, ``students``),
    learned from students' first attempts when a dict of them is passed as
    ``concept_priors``; ``ConceptPrior.new(params)``, ``to_dict`` / ``from_dict``.
``predict(params, student, item, concepts, now, prerequisites=None, concept_priors=None)``
    ``Prediction.probability`` and ``Prediction.terms`` (dict of the named logit terms whose
    sum is ``Prediction.logit``).
``update(params, student, item, concepts, correct, now, duration=None, prerequisites=None,
concept_priors=None)``
    Applies one attempt in place to ``student``, ``item`` (and the concept priors) and
    returns the ``Prediction`` made before it (what the model expected).
``concept_mastery(params, student, concept, now, threshold=70, prerequisites=None,
concept_priors=None)``
    -> ``ConceptMastery`` (mastery 0-100 at ``now`` with decay applied — the chance of
    answering a "hard" reference item — uncertainty in mastery points, last practised,
    attempts, peak mastery, mastered flag).
``mastery_report(params, student, now, threshold=70, prerequisites=None, concept_priors=None)``
    -> dict concept -> ``ConceptMastery`` for every concept the student has practised.
``copy_concepts(student, renames)``
    Gives each concept ``new`` of ``renames`` (old key -> new key) an independent copy of
    the student's belief about ``old`` (a concept graph copied under new keys).

``concepts`` is a sequence of concept keys (strings); ``now`` is an aware ``datetime`` or
POSIX seconds; ``prerequisites`` maps a concept key to the keys of its prerequisites.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_PARAMS_PATH = Path(__file__).with_name("default_params.json")

_SECONDS_PER_DAY = 86400.0
# Probit approximation of E[sigmoid(z)] for z ~ N(m, V): sigmoid(m / sqrt(1 + pi V / 8)).
_PI_OVER_8 = math.pi / 8.0
_LOGIT_CLIP = 30.0


@dataclass(frozen=True)
class MasteryParams:
    """Parameters of the mastery model (logit scale unless said otherwise).

    The defaults are sensible for a new course; ``flask mastery fit`` estimates them
    from a course's history and writes them as JSON for ``MasteryParams.from_dict``.
    """

    bias: float = 0.6
    """Logit of a correct answer for an average student on an average item."""
    ability_var: float = 1.2
    """Prior variance of a student's general ability."""
    ability_drift: float = 0.0005
    """Variance added to ability after each attempt (students change)."""
    concept_mean: float = -0.5
    """Prior mean of a concept belief (the level the decay returns to)."""
    concept_var: float = 0.5
    """Prior variance of a concept belief."""
    concept_prior_var: float = 0.3
    """Prior variance of a concept's starting level (``ConceptPrior``, learned across students)."""
    concept_prior_min_var: float = 0.005
    """Floor of a concept prior's variance so starting levels keep adapting."""
    concept_drift: float = 0.04
    """Variance added to a concept after each attempt (learning: recent answers weigh more)."""
    item_var: float = 1.0
    """Prior variance of a new item's difficulty."""
    item_min_var: float = 0.01
    """Floor of an item's difficulty variance so difficulties keep adapting."""
    gain_correct: float = 0.4
    """Learning from a correct attempt, times (1 - mastery) — smaller gains near mastery."""
    gain_wrong: float = 0.05
    """Learning from practising even when wrong (never enough to raise mastery on a wrong)."""
    decay_half_life_days: float = 60.0
    """Half-life of the part of a concept belief above the prior when unpractised."""
    forget_var_per_day: float = 0.01
    """Variance regained per idle day (capped at the prior variance)."""
    transfer_weight: float = 0.4
    """Weight of the prerequisites' excess over the prior for a concept with little evidence."""
    guess_seconds: float = 3.0
    """Correct answers faster than this count as partly guessed."""
    guess_weight: float = 0.5
    """Evidence weight of such a fast correct answer."""
    slow_seconds: float = 600.0
    """Answers slower than this (help sought, tab left open) count for less."""
    slow_weight: float = 0.7
    """Evidence weight of such a slow answer."""
    uncertainty_scale: float = 1.0
    """How much belief variance shrinks predictions towards 50 % (1: the probit rule)."""
    first_attempt_bias: float = 0.0
    """Logit offset for a concept the student has never practised (share of the item's concepts)."""
    temperature: float = 1.0
    """Scale of the final logit, fitted for calibration (below 1: less extreme predictions)."""
    calibration_offset: float = 0.0
    """Offset added to the final logit after the temperature, fitted with it."""
    mastery_item_difficulty: float = 2.0
    """Difficulty of the reference item mastery is measured on (a "hard" item and then some)."""
    mastered_margin: float = 0.5
    """How many standard deviations of belief mastery must clear the threshold by."""

    def to_dict(self) -> dict[str, float]:
        """Plain dict of every parameter (JSON-able)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> MasteryParams:
        """Build parameters from a dict; unknown keys are ignored, missing keys default."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in names})  # type: ignore[arg-type]


def default_params() -> MasteryParams:
    """The shipped parameters (fitted offline), or the class defaults when absent."""
    try:
        data = json.loads(DEFAULT_PARAMS_PATH.read_text())
    except FileNotFoundError:
        return MasteryParams()
    return MasteryParams.from_dict(data.get("params", data))


@dataclass
class ConceptBelief:
    """Gaussian belief about one student's level on one concept (plus bookkeeping)."""

    mean: float
    var: float
    attempts: int = 0
    correct: int = 0
    last_practiced: float | None = None
    """POSIX seconds of the last attempt, None if never practised."""
    peak_mean: float | None = None
    """Highest ``mean`` reached (tells a fading concept from a never-learned one)."""
    prior: float | None = None
    """Starting level the belief decays back to (None: ``params.concept_mean``)."""


@dataclass
class StudentState:
    """Everything the engine knows about one student: plain, mutable, serialisable."""

    ability: float = 0.0
    ability_var: float = 1.2
    concepts: dict[str, ConceptBelief] = field(default_factory=dict)

    @classmethod
    def new(cls, params: MasteryParams) -> StudentState:
        """A student nothing is known about yet (the prior)."""
        return cls(ability=0.0, ability_var=params.ability_var)

    def to_dict(self) -> dict:
        """JSON-able dict for storage; ``from_dict`` restores an equal state."""
        return {
            "ability": self.ability,
            "ability_var": self.ability_var,
            "concepts": {
                key: [b.mean, b.var, b.attempts, b.correct, b.last_practiced, b.peak_mean, b.prior]
                for key, b in self.concepts.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> StudentState:
        """Inverse of ``to_dict``."""
        concepts = {
            str(key): ConceptBelief(
                mean=float(v[0]),
                var=float(v[1]),
                attempts=int(v[2]),
                correct=int(v[3]),
                last_practiced=None if v[4] is None else float(v[4]),
                peak_mean=None if v[5] is None else float(v[5]),
                prior=None if len(v) < 7 or v[6] is None else float(v[6]),
            )
            for key, v in data.get("concepts", {}).items()
        }
        return cls(
            ability=float(data.get("ability", 0.0)),
            ability_var=float(data.get("ability_var", 1.2)),
            concepts=concepts,
        )


@dataclass
class ItemState:
    """Gaussian belief about one item's difficulty (logit; 0 average, positive harder)."""

    difficulty: float = 0.0
    var: float = 1.0
    responses: int = 0

    @classmethod
    def new(cls, params: MasteryParams, difficulty: float | None = None) -> ItemState:
        """A new item, optionally seeded (e.g. -1/0/+1 for an easy/medium/hard label)."""
        return cls(difficulty=difficulty or 0.0, var=params.item_var, responses=0)

    def to_dict(self) -> dict:
        """JSON-able dict for storage."""
        return {"difficulty": self.difficulty, "var": self.var, "responses": self.responses}

    @classmethod
    def from_dict(cls, data: Mapping) -> ItemState:
        """Inverse of ``to_dict``."""
        return cls(
            difficulty=float(data.get("difficulty", 0.0)),
            var=float(data.get("var", 1.0)),
            responses=int(data.get("responses", 0)),
        )


@dataclass
class ConceptPrior:
    """Where students start on a concept, learned from their first attempts (shared state).

    Some concepts are new to everyone, others are half-known from earlier years; the
    course's history says which. Stored per course like item difficulties.
    """

    mean: float = 0.0
    var: float = 0.3
    students: int = 0

    @classmethod
    def new(cls, params: MasteryParams) -> ConceptPrior:
        """A concept nothing is known about: the global prior."""
        return cls(mean=params.concept_mean, var=params.concept_prior_var, students=0)

    def to_dict(self) -> dict:
        """JSON-able dict for storage."""
        return {"mean": self.mean, "var": self.var, "students": self.students}

    @classmethod
    def from_dict(cls, data: Mapping) -> ConceptPrior:
        """Inverse of ``to_dict``."""
        return cls(
            mean=float(data.get("mean", 0.0)),
            var=float(data.get("var", 0.3)),
            students=int(data.get("students", 0)),
        )


@dataclass(slots=True)
class Prediction:
    """Predicted probability of a correct answer and the logit terms that explain it."""

    probability: float
    logit: float
    terms: dict[str, float]


@dataclass(frozen=True)
class ConceptMastery:
    """What a student's mastery of one concept looks like at a given moment."""

    concept: str
    mastery: float
    """0-100: chance of answering a reference item (``mastery_item_difficulty``), decay applied."""
    uncertainty: float
    """One standard deviation of the belief, in mastery points."""
    last_practiced: datetime | None
    attempts: int
    correct: int
    peak_mastery: float | None
    mastered: bool


def _seconds(now: datetime | float) -> float:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return now.timestamp()
    return float(now)


def _sigmoid(z: float) -> float:
    if z < -_LOGIT_CLIP:
        z = -_LOGIT_CLIP
    elif z > _LOGIT_CLIP:
        z = _LOGIT_CLIP
    return 1.0 / (1.0 + math.exp(-z))


def _decayed(params: MasteryParams, belief: ConceptBelief, now_s: float) -> tuple[float, float]:
    """Mean and variance of ``belief`` after idling until ``now_s``.

    Only the part above the prior decays: forgetting never makes a student look worse
    than someone who never practised, and never makes a weak student look better.
    """
    last = belief.last_practiced
    if last is None or now_s <= last:
        return belief.mean, belief.var
    days = (now_s - last) / _SECONDS_PER_DAY
    mean = belief.mean
    floor = params.concept_mean if belief.prior is None else belief.prior
    excess = mean - floor
    if excess > 0.0 and params.decay_half_life_days > 0.0:
        mean = floor + excess * 0.5 ** (days / params.decay_half_life_days)
    var = belief.var + params.forget_var_per_day * days
    if var > params.concept_var:
        var = max(belief.var, params.concept_var)
    return mean, var


def _transfer(
    params: MasteryParams,
    student: StudentState,
    concept: str,
    own_var: float,
    now_s: float,
    prerequisites: Mapping[str, Sequence[str]] | None,
) -> float:
    """Prerequisite transfer for ``concept``: fades as the concept's own variance shrinks."""
    if not prerequisites or params.transfer_weight == 0.0:
        return 0.0
    prereqs = prerequisites.get(concept)
    if not prereqs:
        return 0.0
    total = 0.0
    known = 0
    for key in prereqs:
        belief = student.concepts.get(key)
        if belief is not None:
            floor = params.concept_mean if belief.prior is None else belief.prior
            total += _decayed(params, belief, now_s)[0] - floor
            known += 1
    if not known:
        return 0.0
    confidence_gap = min(1.0, own_var / params.concept_var)
    return params.transfer_weight * confidence_gap * total / known


def _evaluate(
    params: MasteryParams,
    student: StudentState,
    item: ItemState | None,
    concepts: Sequence[str],
    now_s: float,
    prerequisites: Mapping[str, Sequence[str]] | None,
    concept_priors: Mapping[str, ConceptPrior] | None = None,
) -> tuple[Prediction, list[tuple[str, float, float, ConceptPrior | None]], float]:
    """Prediction plus, per concept, (key, decayed mean, decayed var, prior if first seen)."""
    weight = 1.0 / len(concepts) if concepts else 0.0
    concept_term = 0.0
    first_term = 0.0
    decay_term = 0.0
    transfer_term = 0.0
    variance = student.ability_var
    parts = []
    for key in concepts:
        belief = student.concepts.get(key)
        prior = None
        if belief is None:
            prior = concept_priors.get(key) if concept_priors else None
            if prior is None:
                mean = raw = params.concept_mean
                var = params.concept_var
            else:
                mean = raw = prior.mean
                var = params.concept_var + prior.var
            first_term += weight * params.first_attempt_bias
        else:
            raw = belief.mean
            mean, var = _decayed(params, belief, now_s)
        parts.append((key, mean, var, prior))
        concept_term += weight * raw
        decay_term += weight * (mean - raw)
        if prerequisites:
            transfer_term += weight * _transfer(params, student, key, var, now_s, prerequisites)
        variance += weight * weight * var
    if item is None:
        difficulty, item_var = 0.0, params.item_var
    else:
        difficulty, item_var = item.difficulty, item.var
    variance += item_var
    mean_logit = (
        params.bias
        + first_term
        + student.ability
        + concept_term
        + decay_term
        + transfer_term
        - difficulty
    )
    scaled = mean_logit / math.sqrt(1.0 + _PI_OVER_8 * params.uncertainty_scale * variance)
    final = params.temperature * scaled + params.calibration_offset
    probability = _sigmoid(final)
    terms = {
        "bias": params.bias,
        "first_attempt": first_term,
        "ability": student.ability,
        "concept_mastery": concept_term,
        "decay": decay_term,
        "prerequisite_transfer": transfer_term,
        "item_difficulty": -difficulty,
        "uncertainty": scaled - mean_logit,
        "calibration": final - scaled,
    }
    return Prediction(probability, final, terms), parts, variance


def predict(
    params: MasteryParams,
    student: StudentState,
    item: ItemState | None,
    concepts: Sequence[str],
    now: datetime | float,
    prerequisites: Mapping[str, Sequence[str]] | None = None,
    concept_priors: Mapping[str, ConceptPrior] | None = None,
) -> Prediction:
    """Probability that ``student`` answers ``item`` (tagged ``concepts``) correctly at ``now``.

    ``Prediction.terms`` holds the named logit terms; their sum is ``Prediction.logit``.
    ``concept_priors`` (optional) gives where students start on each concept.
    Nothing is modified.
    """
    return _evaluate(params, student, item, concepts, _seconds(now), prerequisites, concept_priors)[
        0
    ]


def _evidence_weight(params: MasteryParams, correct: bool, duration: float | None) -> float:
    """How much an attempt counts, from the time spent on it (None: fully)."""
    if duration is None or duration < 0:
        return 1.0
    if correct and duration < params.guess_seconds:
        return params.guess_weight
    if duration > params.slow_seconds:
        return params.slow_weight
    return 1.0


def update(
    params: MasteryParams,
    student: StudentState,
    item: ItemState | None,
    concepts: Sequence[str],
    correct: bool,
    now: datetime | float,
    duration: float | None = None,
    prerequisites: Mapping[str, Sequence[str]] | None = None,
    concept_priors: dict[str, ConceptPrior] | None = None,
) -> Prediction:
    """Apply one attempt to ``student`` (and ``item``) in place; return the prior prediction.

    Each concept of the item is credited; ``duration`` (seconds or None) weights the
    evidence. Decay up to ``now`` is made permanent for the practised concepts. When
    ``concept_priors`` is given, a student's first attempt on a concept also teaches that
    concept's prior (a missing entry is created), as an item learns its difficulty.
    """
    now_s = _seconds(now)
    prediction, parts, variance = _evaluate(
        params, student, item, concepts, now_s, prerequisites, concept_priors
    )
    # The filter learns from the belief's own probability; the temperature only calibrates
    # what is reported (it reads the belief, it does not change the likelihood).
    p = _sigmoid(prediction.logit - prediction.terms["calibration"])
    y = 1.0 if correct else 0.0
    w = _evidence_weight(params, correct, duration)
    slope = p * (1.0 - p) * w
    denom = 1.0 + slope * variance
    residual = w * (y - p) / denom

    # Ability: a correct answer never lowers it, a wrong one never raises it.
    av = student.ability_var
    ability = student.ability + av * residual
    student.ability_var = max(av - av * av * slope / denom, 1e-4) + params.ability_drift
    student.ability = ability

    weight = 1.0 / len(concepts) if concepts else 0.0
    gain = params.gain_correct if correct else params.gain_wrong
    for key, mean, var, prior in parts:
        belief = student.concepts.get(key)
        if belief is None:
            belief = ConceptBelief(mean=mean, var=var, prior=mean)
            student.concepts[key] = belief
            if concept_priors is not None:
                if prior is None:
                    prior = concept_priors[key] = ConceptPrior.new(params)
                pv = prior.var
                prior.mean += pv * weight * residual
                prior.var = max(
                    pv - pv * pv * weight * weight * slope / denom, params.concept_prior_min_var
                )
                prior.students += 1
        new_mean = mean + var * weight * residual
        # Practice teaches, less so near mastery: (1 - P(average item)).
        mastery_p = _sigmoid(params.bias + ability + new_mean)
        new_mean += gain * (1.0 - mastery_p)
        if not correct and new_mean > mean:
            new_mean = mean
        new_var = var - var * var * weight * weight * slope / denom
        new_var = min(max(new_var, 1e-4) + params.concept_drift, params.concept_var)
        if prerequisites:
            # Transfer fades as the concept's own variance shrinks; keep the reported mastery
            # (belief + transfer) moving the way the answer says.
            shift = _transfer(params, student, key, var, now_s, prerequisites) - _transfer(
                params, student, key, new_var, now_s, prerequisites
            )
            if (correct and shift > 0.0) or (not correct and shift < 0.0):
                new_mean = max(new_mean, mean + shift) if correct else min(new_mean, mean + shift)
        belief.mean = new_mean
        belief.var = new_var
        belief.attempts += 1
        belief.correct += 1 if correct else 0
        belief.last_practiced = now_s
        if belief.peak_mean is None or new_mean > belief.peak_mean:
            belief.peak_mean = new_mean

    if item is not None:
        iv = item.var
        item.difficulty -= iv * residual
        item.var = max(iv - iv * iv * slope / denom, params.item_min_var)
        item.responses += 1
    return prediction


def _mastery_points(params: MasteryParams, ability: float, mean: float) -> float:
    level = params.bias + ability + mean - params.mastery_item_difficulty
    return 100.0 * _sigmoid(params.temperature * level + params.calibration_offset)


def concept_mastery(
    params: MasteryParams,
    student: StudentState,
    concept: str,
    now: datetime | float,
    threshold: float = 70.0,
    prerequisites: Mapping[str, Sequence[str]] | None = None,
    concept_priors: Mapping[str, ConceptPrior] | None = None,
) -> ConceptMastery:
    """Mastery 0-100 of ``concept`` at ``now`` (decay applied) and whether it is mastered.

    Mastery is the chance of answering a reference item of the concept correctly (one of
    difficulty ``params.mastery_item_difficulty``: by default a "hard" item, so that a
    concept called mastered is one the student really gets right); it is "mastered" when it
    reaches ``threshold`` with ``mastered_margin`` standard deviations of belief to spare.
    """
    now_s = _seconds(now)
    belief = student.concepts.get(concept)
    if belief is None:
        prior = concept_priors.get(concept) if concept_priors else None
        mean, var, raw_peak = params.concept_mean, params.concept_var, None
        if prior is not None:
            mean, var = prior.mean, params.concept_var + prior.var
        attempts = correct = 0
        last = None
    else:
        mean, var = _decayed(params, belief, now_s)
        raw_peak = belief.peak_mean
        attempts, correct = belief.attempts, belief.correct
        last = belief.last_practiced
    mean += _transfer(params, student, concept, var, now_s, prerequisites)
    level = params.bias + student.ability + mean - params.mastery_item_difficulty
    # The fitted calibration applies to mastery as it applies to predictions.
    t, offset = params.temperature, params.calibration_offset
    p = _sigmoid(t * level + offset)
    sd = math.sqrt(var + student.ability_var)
    uncertainty = min(50.0, 100.0 * p * (1.0 - p) * t * sd)
    mastery = 100.0 * p
    margin_p = 100.0 * _sigmoid(t * (level - params.mastered_margin * sd) + offset)
    return ConceptMastery(
        concept=concept,
        mastery=mastery,
        uncertainty=uncertainty,
        last_practiced=None if last is None else datetime.fromtimestamp(last, UTC),
        attempts=attempts,
        correct=correct,
        peak_mastery=None
        if raw_peak is None
        else _mastery_points(params, student.ability, raw_peak),
        mastered=margin_p >= threshold,
    )


def mastery_report(
    params: MasteryParams,
    student: StudentState,
    now: datetime | float,
    threshold: float = 70.0,
    prerequisites: Mapping[str, Sequence[str]] | None = None,
    concept_priors: Mapping[str, ConceptPrior] | None = None,
) -> dict[str, ConceptMastery]:
    """``concept_mastery`` for every concept the student has practised."""
    return {
        key: concept_mastery(params, student, key, now, threshold, prerequisites, concept_priors)
        for key in student.concepts
    }


def copy_concepts(student: StudentState, renames: Mapping[str, str]) -> None:
    """Give each ``new`` concept of ``renames`` (``old -> new``) a copy of the student's
    belief about ``old``, in place; concepts the student never met stay unknown.

    The two beliefs are independent afterwards: practice on one leaves the other as it
    was (a course that copied a shared concept graph goes its own way from then on).
    """
    for old, new in renames.items():
        belief = student.concepts.get(old)
        if belief is not None:
            student.concepts[new] = replace(belief)
