"""Mastery engine speed: predict+update latency percentiles and full-replay time.

    python bench/mastery_engine.py [--attempts FILE.csv] [--calls 50000]

Latency: one ``predict`` then one ``update`` (what the attempt service does) timed per
call with ``perf_counter_ns`` on generated learners (students with up to 40 practised
concepts, 15 % two-concept items, 2 000 items). Replay: predict-then-update over every
attempt of ``--attempts`` (e.g. the converted ASSISTments 2009 file, 274,537 attempts)
in time order, CSV parsing excluded and reported apart. Prints figures and conditions.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from masteryai_lti.mastery import engine, fitting  # noqa: E402
from masteryai_lti.mastery.history import read_attempts_csv  # noqa: E402


def latency(calls: int, seed: int = 3) -> dict[str, float]:
    """Per-call predict+update latency in microseconds."""
    rng = random.Random(seed)
    params = engine.default_params()
    students = [engine.StudentState.new(params) for _ in range(500)]
    items = [engine.ItemState.new(params, rng.gauss(0, 1)) for _ in range(2000)]
    concepts = [f"c{k}" for k in range(40)]
    now = 1_767_600_000.0
    # Warm the states so beliefs and dict sizes look like a term's use.
    for _ in range(20000):
        s = rng.choice(students)
        tags = [rng.choice(concepts)]
        engine.update(params, s, rng.choice(items), tags, rng.random() < 0.65, now)
        now += 7.0
    plan = []
    for _ in range(calls):
        tags = [rng.choice(concepts)]
        if rng.random() < 0.15:
            tags.append(rng.choice(concepts))
        plan.append((rng.choice(students), rng.choice(items), tags, rng.random() < 0.65))
    samples = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for student, item, tags, correct in plan:
            now += 30.0
            t0 = clock()
            engine.predict(params, student, item, tags, now)
            engine.update(params, student, item, tags, correct, now, 25.0)
            samples.append(clock() - t0)
    finally:
        gc.enable()
    samples.sort()
    n = len(samples)
    return {
        "calls": n,
        "p50_us": samples[n // 2] / 1000,
        "p90_us": samples[int(n * 0.90)] / 1000,
        "p99_us": samples[int(n * 0.99)] / 1000,
        "mean_us": statistics.fmean(samples) / 1000,
    }


def replay(path: str) -> dict[str, float]:
    """Parse time and predict-then-update time over a whole attempts CSV."""
    t0 = time.perf_counter()
    records = fitting.chronological(read_attempts_csv(path))
    parsed = time.perf_counter() - t0
    params = engine.default_params()
    t0 = time.perf_counter()
    loss = fitting.replay(params, records, {})
    replayed = time.perf_counter() - t0
    return {
        "attempts": len(records),
        "parse_s": parsed,
        "replay_s": replayed,
        "attempts_per_s": len(records) / replayed,
        "log_loss": loss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", help="attempts CSV to replay (optional)")
    parser.add_argument("--calls", type=int, default=50000)
    args = parser.parse_args()
    print(
        f"conditions: CPython {platform.python_version()} on {platform.machine()}, "
        f"{platform.system()}; {os.cpu_count()} cores shared, load average "
        f"{os.getloadavg()[0]:.1f}; single process, gc off while timing calls"
    )
    figures = latency(args.calls)
    print(
        "predict+update: {calls} calls, p50 {p50_us:.1f} us, p90 {p90_us:.1f} us, "
        "p99 {p99_us:.1f} us, mean {mean_us:.1f} us".format(**figures)
    )
    if args.attempts:
        figures = replay(args.attempts)
        print(
            "full replay of {attempts} attempts: {replay_s:.1f} s "
            "({attempts_per_s:.0f} attempts/s; CSV parse {parse_s:.1f} s apart), "
            "log-loss {log_loss:.4f}".format(**figures)
        )


if __name__ == "__main__":
    main()
