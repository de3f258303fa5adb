"""Evaluation harness on generated learners: metrics, adapter, CSV, CLI (no licensed data)."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import pytest

from masteryai_lti.mastery import evaluation, fitting
from masteryai_lti.mastery.engine import MasteryParams
from masteryai_lti.mastery.evaluation import EvalAdapter
from masteryai_lti.mastery.history import (
    AttemptRecord,
    HistoryFormatError,
    convert_akt_sequences,
    read_attempts_csv,
    write_attempts_csv,
)

START = 1_767_600_000.0  # 2026-01-05


def generated_learners(
    students: int = 60, concepts: int = 4, items_per_concept: int = 12, seed: int = 1
) -> list[AttemptRecord]:
    """Learners with a latent ability, per-concept skill that grows with practice, items of
    known difficulty, some two-concept items, one-minute steps and a day between concepts."""
    rng = random.Random(seed)
    difficulty = {
        f"c{c}-i{i}": rng.gauss(0.0, 1.0) for c in range(concepts) for i in range(items_per_concept)
    }
    records: list[AttemptRecord] = []
    for s in range(students):
        ability = rng.gauss(0.0, 1.0)
        skill = {f"c{c}": rng.gauss(-0.5, 0.7) for c in range(concepts)}
        t = START + s * 3600.0
        for c in range(concepts):
            concept = f"c{c}"
            for _ in range(rng.randint(6, 14)):
                item = f"c{c}-i{rng.randrange(items_per_concept)}"
                tags: tuple[str, ...] = (concept,)
                if c > 0 and rng.random() < 0.15:
                    tags = (concept, f"c{c - 1}")
                z = ability + sum(skill[k] for k in tags) / len(tags) - difficulty[item]
                correct = rng.random() < 1.0 / (1.0 + math.exp(-z))
                records.append(
                    AttemptRecord(f"s{s}", tags, item, correct, t, rng.choice([None, 25.0]))
                )
                skill[concept] += 0.25  # practice teaches
                t += 60.0
            t += 86400.0
    return records


@pytest.fixture(scope="module")
def learners() -> list[AttemptRecord]:
    return generated_learners()


@pytest.fixture()
def learners_csv(tmp_path: Path, learners) -> Path:
    path = tmp_path / "attempts.csv"
    write_attempts_csv(learners, path)
    return path


def test_metrics_on_known_cases():
    labels = [True, False, True, False]
    assert evaluation.auc(labels, [0.9, 0.1, 0.8, 0.2]) == 1.0
    assert evaluation.auc(labels, [0.1, 0.9, 0.2, 0.8]) == 0.0
    assert evaluation.auc(labels, [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert evaluation.rmse([True, False], [1.0, 0.5]) == pytest.approx(math.sqrt(0.125))
    # Perfectly calibrated bins give zero ECE; a constant 0.9 on 50 % outcomes gives 0.4.
    assert evaluation.ece([True, False], [0.5, 0.5]) == pytest.approx(0.0)
    assert evaluation.ece([True, False], [0.9, 0.9]) == pytest.approx(0.4)
    assert evaluation.log_loss([True], [0.5]) == pytest.approx(math.log(2))


def test_adapter_runs_the_engine_and_learns_from_updates():
    adapter = EvalAdapter(MasteryParams())
    first = adapter.predict("ann", "fractions|decimals", "q1", START)
    assert not adapter.is_mastered("ann", "fractions", START)
    for k in range(25):
        adapter.update("ann", "fractions|decimals", f"q{k}", True, START + 60 * k, {"duration": 20})
    later = adapter.predict("ann", "fractions|decimals", "q99", START + 1560)
    assert 0.0 < first < later < 1.0
    assert adapter.is_mastered("ann", "fractions", START + 1560)
    assert adapter.predict("bob", "fractions", "q99", START + 1560) < later
    adapter.update("bob", "fractions", "q99", False, START + 1000, {"duration": None})
    assert adapter.items["q99"].responses == 1


def test_csv_round_trip_multi_skill_iso_timestamps_and_errors(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text(
        "student,skill,item,correct,timestamp,duration\n"
        "s1,a|b,i1,1,2026-01-05T09:00:00Z,12.5\n"
        "s1,a,i2,0,1767603660,\n"
    )
    records = read_attempts_csv(path)
    assert records[0].concepts == ("a", "b") and records[0].duration == 12.5
    assert records[0].timestamp == 1767603600.0 and records[1].duration is None
    assert not records[1].correct
    out = tmp_path / "b.csv"
    write_attempts_csv(records, out)
    assert read_attempts_csv(out) == records
    bad = tmp_path / "bad.csv"
    bad.write_text("student,skill,item,correct,timestamp\ns1,a,i1,maybe,0\n")
    with pytest.raises(HistoryFormatError, match="line 2"):
        read_attempts_csv(bad)


def test_akt_conversion_merges_a_multi_skill_problem_into_one_attempt():
    lines = ["0,501", "7,7,8,9", "3,4,3,5", "1,1,0,1", "1,502", "8", "3", "0"]
    records = list(convert_akt_sequences(lines))
    assert [(r.student, r.item, r.concepts, r.correct) for r in records] == [
        ("501", "7", ("3", "4"), True),
        ("501", "8", ("3",), False),
        ("501", "9", ("5",), True),
        ("502", "8", ("3",), False),
    ]
    assert records[1].timestamp - records[0].timestamp == 60.0
    with pytest.raises(HistoryFormatError):
        list(convert_akt_sequences(lines[:3]))


def test_student_level_folds_partition_students(learners):
    groups = evaluation.split_students(learners, 5)
    assert sum(len(g) for g in groups) == 60
    assert set().union(*groups) == {r.student for r in learners}
    assert all(not (a & b) for i, a in enumerate(groups) for b in groups[i + 1 :])


def test_evaluation_beats_item_mean_on_learners_who_learn(learners):
    report = evaluation.evaluate(learners, folds=3, search=False)
    data = report.to_dict()
    assert data["attempts"] == len(learners)
    assert set(data["baselines"]) == {"item_mean", "pfa", "elo_concept", "bkt"}
    assert data["baselines"]["bkt"]["auc"] > 0.6
    assert data["auc"] > 0.7
    assert data["auc"] > data["baselines"]["item_mean"]["auc"]
    assert 0 < data["rmse"] < 0.5 and 0 <= data["ece"] < 0.1
    assert len(data["per_fold_auc"]) == 3


def test_fit_lowers_replay_loss_and_round_trips(learners):
    start = MasteryParams(gain_correct=0.0, gain_wrong=0.0, bias=-0.5)
    fitted = fitting.fit(learners, start=start, rounds=1, max_students=30)
    baseline = fitting.fit(learners, start=start, search=False)
    assert fitted.log_loss < baseline.log_loss
    assert fitting.FitResult.from_dict(json.loads(json.dumps(fitted.to_dict()))).params == (
        fitted.params
    )


def test_cli_evaluate_prints_one_json_object(runner, learners_csv):
    result = runner.invoke(
        args=[
            "mastery",
            "evaluate",
            "--attempts",
            str(learners_csv),
            "--folds",
            "3",
            "--json",
            "--no-search",
        ]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in ("auc", "rmse", "ece", "attempts_per_s", "baselines", "mastered"):
        assert key in data
    for name in ("item_mean", "pfa", "elo_concept", "bkt"):
        assert {"auc", "rmse", "ece", "attempts_per_s"} <= set(data["baselines"][name])
    assert data["auc"] > data["baselines"]["item_mean"]["auc"]


def test_cli_evaluate_table_and_fit_writes_params(runner, learners_csv, tmp_path: Path):
    table = runner.invoke(
        args=["mastery", "evaluate", "--attempts", str(learners_csv), "--folds", "2", "--no-search"]
    )
    assert table.exit_code == 0, table.output
    assert (
        "elo_concept" in table.output and "bkt" in table.output and "mastered at 70" in table.output
    )
    out = tmp_path / "params.json"
    fit = runner.invoke(
        args=["mastery", "fit", "--attempts", str(learners_csv), "--out", str(out), "--rounds", "1"]
    )
    assert fit.exit_code == 0, fit.output
    written = json.loads(out.read_text())
    assert written["fit"]["attempts"] == len(read_attempts_csv(learners_csv))
    assert MasteryParams.from_dict(written["params"]).concept_var > 0
    assert "items" not in written


def test_cli_rejects_a_malformed_csv(runner, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    with open(bad, "w", newline="") as handle:
        csv.writer(handle).writerows([["student", "item"], ["s1", "i1"]])
    result = runner.invoke(args=["mastery", "evaluate", "--attempts", str(bad)])
    assert result.exit_code != 0
    assert "expected columns" in result.output


def test_fit_tempers_an_over_confident_start():
    # Generated learners answer as a plain logistic model says: a start that sharpens every
    # logit by 1.6 is over-confident, and fitting must bring the temperature back down.
    learners = generated_learners(students=80, seed=5)
    start = MasteryParams(temperature=1.6)
    fitted = fitting.fit(learners, start=start, rounds=1, max_students=40)
    baseline = fitting.fit(learners, start=start, search=False)
    assert fitted.params.temperature < 1.6
    assert fitted.log_loss < baseline.log_loss


def test_calibrate_recovers_a_known_temperature_and_offset():
    rng = random.Random(11)
    logits = [rng.gauss(0.5, 1.8) for _ in range(20000)]
    labels = [rng.random() < 1.0 / (1.0 + math.exp(-(0.7 * z + 0.3))) for z in logits]
    temperature, offset = fitting.calibrate(logits, labels)
    assert temperature == pytest.approx(0.7, abs=0.05)
    assert offset == pytest.approx(0.3, abs=0.06)
    # Already calibrated logits keep a temperature near 1 and an offset near 0.
    labels = [rng.random() < 1.0 / (1.0 + math.exp(-z)) for z in logits]
    temperature, offset = fitting.calibrate(logits, labels)
    assert temperature == pytest.approx(1.0, abs=0.06)
    assert offset == pytest.approx(0.0, abs=0.06)
