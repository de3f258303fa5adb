"""Simulated learners: adaptive generator vs fixed curriculum vs random unmastered items.

Run:  python bench/adaptive.py [--learners 200] [--seed 7] [--json]

Each simulated learner has a latent skill per concept (logit scale). Answering an
item of difficulty ``b`` on concept ``c`` succeeds with probability

    sigmoid(skill[c] - prerequisite_penalty(c) - b)

where the penalty grows with how far each prerequisite's skill is below the
mastery line. Every attempt teaches, much less when prerequisites are missing,
and skills fade toward their starting level while a concept is left idle
(forgetting, 90-day time constant, one session a day).

How much an attempt teaches depends on its success probability p. Two learning
models are run, because the answer depends on this assumption:
- ``zone`` (the desirable-difficulty premise the generator is built on): gain
  proportional to p^2 (1 - p), largest at p = 2/3, small for items far too hard
  (nothing is understood) or far too easy (nothing is retrieved with effort);
- ``neutral``: gain proportional to p (1 - p), largest at p = 1/2, so the
  generator's 60-85% band is *not* optimal and only targeting and sequencing help.

A concept is *truly mastered* when the learner would answer the engine's
reference item (``mastery_item_difficulty``: b = +1, a hard item, in the shipped
parameters) correctly with probability >= 0.70 (the MASTERY_THRESHOLD of 70). The run
for a learner ends when every concept is truly mastered at the same time (capped).

Three policies see only the learner's answers, through the same mastery
estimator: the production engine (``mastery.engine``, default parameters) or,
with ``--estimator elo``, a plain per-concept Elo rating:
- generator: ``recommender.generate_assignment`` (sessions of 10 items);
- fixed: a linear curriculum in topological order, a fixed block of items per
  concept climbing easy -> hard, repeated from the start until done (the block
  size is swept and the best one reported, to be fair to it);
- random: uniformly random items from concepts the estimator has not marked mastered.

Figures: attempts until everything is truly mastered (mean and median, a
learner who never finishes counting as the cap; share who finish within it)
and the share of attempts answered inside the desirable-difficulty band (true
success probability 60-85%).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from masteryai_lti.mastery import engine  # noqa: E402
from masteryai_lti.mastery.graph import Concept, ConceptGraph  # noqa: E402
from masteryai_lti.mastery.recommender import (  # noqa: E402
    AnsweredItem,
    ConceptState,
    GeneratorSettings,
    ItemCandidate,
    generate_assignment,
    label_for_difficulty,
)

THRESHOLD = 70.0
# Mastery is measured on the engine's reference item (a "hard" item, +1 logit, in the
# shipped parameters) so the simulation's truth and the estimator mean the same thing.
REFERENCE = getattr(engine.default_params(), "mastery_item_difficulty", 0.0)
# Skill at which the reference item is answered correctly 70% of the time.
TRUE_LINE = math.log(0.7 / 0.3) + REFERENCE
BAND = (0.60, 0.85)
SESSION = 10  # items per day
START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# -- world -------------------------------------------------------------------------


def build_graph(layers: int = 4, width: int = 3, rng: random.Random | None = None) -> ConceptGraph:
    """A layered DAG: each concept beyond the first layer needs 1-2 from the layer below."""
    rng = rng or random.Random(1)
    graph = ConceptGraph()
    previous: list[str] = []
    for layer in range(layers):
        current = [f"L{layer}C{i}" for i in range(width)]
        for key in current:
            graph.add_concept(Concept(key, key))
            if previous:
                for p in rng.sample(previous, k=rng.choice([1, 2])):
                    graph.add_prerequisite(key, p)
        previous = current
    return graph


def build_bank(graph: ConceptGraph, per_concept: int = 40) -> list[ItemCandidate]:
    """Items spread over difficulties -3..+3 logits, labels cut from the difficulty."""
    items = []
    for key in graph.topological_order():
        for i in range(per_concept):
            b = -3.0 + 6.0 * i / (per_concept - 1)
            items.append(ItemCandidate(f"{key}#{i}", (key,), label_for_difficulty(b), b))
    return items


@dataclass
class Learner:
    """Latent per-concept skill with prerequisite effects, learning and forgetting."""

    graph: ConceptGraph
    start: dict[str, float]
    rng: random.Random
    learn_rate: float
    model: str = "zone"
    skill: dict[str, float] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)
    day: float = 0.0

    def __post_init__(self) -> None:
        self.skill = dict(self.start)

    def _penalty(self, key: str) -> float:
        return 0.6 * sum(max(0.0, TRUE_LINE - self.skill[p]) for p in self.graph.prerequisites[key])

    def _readiness(self, key: str) -> float:
        factor = 1.0
        for p in self.graph.prerequisites[key]:
            factor *= sigmoid(3.0 * (self.skill[p] - TRUE_LINE + 0.5))
        return 0.15 + 0.85 * factor

    def p_correct(self, key: str, b: float) -> float:
        return sigmoid(self.skill[key] - self._penalty(key) - b)

    def forget(self, day: float) -> None:
        """Idle concepts fade toward the starting skill (90-day time constant)."""
        for key, seen in self.last_seen.items():
            idle = day - max(seen, self.day)
            if idle > 0:
                base = self.start[key]
                self.skill[key] = base + (self.skill[key] - base) * math.exp(-idle / 90.0)
        self.day = day

    def answer(self, key: str, b: float) -> tuple[bool, float]:
        p = self.p_correct(key, b)
        correct = self.rng.random() < p
        # Learning is largest on items that are challenging but feasible and
        # collapses when the prerequisites are missing.
        shape = 6.75 * p * p * (1.0 - p) if self.model == "zone" else 4.0 * p * (1.0 - p)
        gain = self.learn_rate * shape * self._readiness(key)
        self.skill[key] += gain * (1.0 if correct else 0.6)
        self.last_seen[key] = self.day
        return correct, p

    def truly_mastered(self) -> bool:
        return all(self.p_correct(k, REFERENCE) >= 0.70 for k in self.graph.concepts)


# -- what every policy sees: a per-concept Elo estimate ------------------------------


class EngineEstimator:
    """The production mastery engine (``mastery.engine``) as every policy's estimator."""

    def __init__(self, graph: ConceptGraph) -> None:
        self.params = engine.default_params()
        self.student = engine.StudentState.new(self.params)
        self.prerequisites = {k: sorted(v) for k, v in graph.prerequisites.items()}
        self.keys = list(graph.concepts)
        self.now = START

    def update(self, key: str, b: float, correct: bool, at: datetime) -> None:
        # The bank's difficulties are known to the simulation: a well-calibrated item.
        item = engine.ItemState(difficulty=b, var=0.05, responses=100)
        engine.update(self.params, self.student, item, [key], correct, at, None, self.prerequisites)
        self.now = at

    def _report(self, key: str) -> engine.ConceptMastery:
        return engine.concept_mastery(
            self.params, self.student, key, self.now, THRESHOLD, self.prerequisites
        )

    def mastery(self, key: str) -> float:
        return self._report(key).mastery

    def states(self) -> dict[str, ConceptState]:
        found = {}
        for k in self.keys:
            m = self._report(k)
            found[k] = ConceptState(
                mastery=m.mastery,
                uncertainty=m.uncertainty,
                last_practiced=m.last_practiced,
                attempts=m.attempts,
                peak_mastery=m.peak_mastery,
                mastered=m.mastered,
            )
        return found

    def predict(self, candidate: ItemCandidate, _states) -> float:
        item = engine.ItemState(difficulty=candidate.effective_difficulty, var=0.05, responses=100)
        return engine.predict(
            self.params,
            self.student,
            item,
            list(candidate.concept_keys),
            self.now,
            self.prerequisites,
        ).probability


class Estimator:
    """Per-concept ability estimate updated Elo-style with a shrinking step."""

    def __init__(self, graph: ConceptGraph) -> None:
        self.theta = dict.fromkeys(graph.concepts, -1.0)
        self.count = dict.fromkeys(graph.concepts, 0)
        self.peak = dict.fromkeys(graph.concepts, 0.0)
        self.last: dict[str, datetime] = {}

    def update(self, key: str, b: float, correct: bool, at: datetime) -> None:
        n = self.count[key]
        step = 1.2 / (1.0 + 0.25 * n) + 0.25
        self.theta[key] += step * ((1.0 if correct else 0.0) - sigmoid(self.theta[key] - b))
        self.count[key] = n + 1
        self.last[key] = at
        self.peak[key] = max(self.peak[key], self.mastery(key))

    def mastery(self, key: str) -> float:
        return 100.0 * sigmoid(self.theta[key] - REFERENCE)

    def predict(self, candidate: ItemCandidate, _states) -> float:
        # Mastery is read on the reference item, so predict from the rating itself.
        theta = sum(self.theta[k] for k in candidate.concept_keys) / len(candidate.concept_keys)
        return sigmoid(theta - candidate.effective_difficulty)

    def states(self) -> dict[str, ConceptState]:
        return {
            k: ConceptState(
                mastery=self.mastery(k),
                last_practiced=self.last.get(k),
                attempts=self.count[k],
                peak_mastery=self.peak[k],
            )
            for k in self.theta
        }


# -- policies ----------------------------------------------------------------------


@dataclass
class Outcome:
    attempts: int
    finished: bool
    in_band: int


def run(
    policy: str,
    graph,
    bank,
    learner: Learner,
    rng: random.Random,
    cap: int,
    block: int,
    estimator: str = "engine",
):
    est = EngineEstimator(graph) if estimator == "engine" else Estimator(graph)
    by_concept: dict[str, list[ItemCandidate]] = {}
    for item in bank:
        by_concept.setdefault(item.concept_keys[0], []).append(item)
    order = graph.topological_order()
    answered: list[AnsweredItem] = []
    attempts = in_band = 0
    cursor = 0  # fixed curriculum position
    day = 0
    settings = GeneratorSettings(length=SESSION, mastery_threshold=THRESHOLD, band=BAND)
    while attempts < cap:
        now = START + timedelta(days=day)
        learner.forget(float(day))
        if policy == "generator":
            states = est.states()
            plan = generate_assignment(graph, states, bank, answered, now, settings, est.predict)
            if not plan.picks:  # estimator thinks all is mastered: keep reviewing
                fallback = GeneratorSettings(
                    length=SESSION, mastery_threshold=THRESHOLD, band=BAND, review_after_days=0
                )
                plan = generate_assignment(
                    graph, states, bank, answered, now, fallback, est.predict
                )
            session = [(p.concept_key, p.difficulty, p.item_id) for p in plan.picks]
        elif policy == "fixed":
            session = []
            for _ in range(SESSION):
                key = order[(cursor // block) % len(order)]
                i = cursor % block
                items = by_concept[key]
                # Climb from easy to hard within the block (evenly over the bank).
                item = items[int((i + 0.5) * len(items) / block)]
                session.append((key, item.effective_difficulty, item.id))
                cursor += 1
        else:
            states = est.states()
            open_concepts = [
                k for k in order if states[k].attempts == 0 or states[k].mastery < THRESHOLD
            ] or order
            session = []
            for _ in range(SESSION):
                item = rng.choice(by_concept[rng.choice(open_concepts)])
                session.append((item.concept_keys[0], item.effective_difficulty, item.id))
        for key, b, item_id in session:
            correct, p = learner.answer(key, b)
            attempts += 1
            in_band += BAND[0] <= p <= BAND[1]
            est.update(key, b, correct, now)
            answered.append(AnsweredItem(item_id, now))
            if learner.truly_mastered():
                return Outcome(attempts, True, in_band)
        day += 1
    return Outcome(min(attempts, cap), False, in_band)


def make_learner(graph: ConceptGraph, seed: int, model: str) -> Learner:
    rng = random.Random(seed)
    # Some concepts are already known, most are not; learners differ in pace.
    start = {k: rng.gauss(-1.2, 1.0) for k in graph.topological_order()}
    return Learner(graph, start, rng, learn_rate=rng.uniform(0.12, 0.25), model=model)


def summarise(outcomes: list[Outcome]) -> dict:
    attempts = [o.attempts for o in outcomes]
    total = sum(attempts)
    return {
        "mean_attempts": round(statistics.fmean(attempts), 1),
        "median_attempts": statistics.median(attempts),
        "finished_share": round(sum(o.finished for o in outcomes) / len(outcomes), 3),
        "in_band_share": round(sum(o.in_band for o in outcomes) / total, 3),
    }


def compare(graph, bank, model: str, args, blocks: list[int]) -> dict:
    """Run every policy over the same learners under one learning model."""
    results: dict[str, dict] = {}
    runs = [("generator", 0), ("random", 0)] + [("fixed", b) for b in blocks]
    for policy, block in runs:
        outcomes = []
        for n in range(args.learners):
            learner = make_learner(graph, args.seed * 100_003 + n, model)
            rng = random.Random(args.seed * 7919 + n)
            outcomes.append(run(policy, graph, bank, learner, rng, args.cap, block, args.estimator))
        name = policy if policy != "fixed" else f"fixed(block={block})"
        results[name] = summarise(outcomes)
    fixed = {k: v for k, v in results.items() if k.startswith("fixed")}
    best_fixed = min(fixed, key=lambda k: fixed[k]["mean_attempts"])
    gen = results["generator"]["mean_attempts"]
    return {
        "policies": results,
        "best_fixed": best_fixed,
        "generator_saving_vs_best_fixed": round(1.0 - gen / fixed[best_fixed]["mean_attempts"], 3),
        "generator_saving_vs_random": round(1.0 - gen / results["random"]["mean_attempts"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cap", type=int, default=3000)
    parser.add_argument("--blocks", default="10,20,30,40")
    parser.add_argument("--models", default="zone,neutral")
    parser.add_argument("--estimator", choices=["engine", "elo"], default="engine")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    graph = build_graph(rng=random.Random(args.seed))
    bank = build_bank(graph)
    blocks = [int(b) for b in args.blocks.split(",")]
    started = time.perf_counter()
    models = {m: compare(graph, bank, m, args, blocks) for m in args.models.split(",")}
    report = {
        "conditions": {
            "learners": args.learners,
            "seed": args.seed,
            "concepts": len(graph.concepts),
            "edges": len(graph.edges()),
            "items": len(bank),
            "items_per_concept": len(bank) // len(graph.concepts),
            "session_items": SESSION,
            "cap_attempts": args.cap,
            "true_mastery": f"P(correct on an item of difficulty {REFERENCE:+.1f}) >= 0.70 "
            "for every concept at once",
            "band": list(BAND),
            "forgetting_time_constant_days": 90,
            "estimator": args.estimator + " (shared by all policies)",
        },
        "models": models,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    c = report["conditions"]
    print(
        f"{c['learners']} simulated learners, {c['concepts']} concepts / {c['edges']} "
        f"prerequisite edges, {c['items']} items, {SESSION} items a day, cap {args.cap}; "
        f"seed {args.seed}"
    )
    print(f"true mastery: {c['true_mastery']}; band {BAND[0]:.0%}-{BAND[1]:.0%}")
    for model, result in models.items():
        print(f"\nlearning model: {model}")
        print(f"{'policy':<20}{'mean':>8}{'median':>8}{'finished':>10}{'in band':>9}")
        for name, r in result["policies"].items():
            print(
                f"{name:<20}{r['mean_attempts']:>8}{r['median_attempts']:>8}"
                f"{r['finished_share']:>10.1%}{r['in_band_share']:>9.1%}"
            )
        print(
            f"generator needs {result['generator_saving_vs_best_fixed']:.1%} fewer attempts "
            f"than the best fixed curriculum ({result['best_fixed']}) and "
            f"{result['generator_saving_vs_random']:.1%} fewer than random"
        )
    print(f"\n{report['seconds']} s")


if __name__ == "__main__":
    main()
