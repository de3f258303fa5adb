"""`flask mastery ...` commands: offline fitting, evaluation and dataset conversion."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

cli = AppGroup("mastery", help="Mastery model: fit, evaluate, convert histories.")


def _read(path: str):
    from .history import HistoryFormatError, read_attempts_csv

    try:
        records = read_attempts_csv(path)
    except HistoryFormatError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    if not records:
        raise click.ClickException(f"{path}: no attempts")
    return records


def _load_params(path: str | None, shipped: bool = True):
    from .engine import MasteryParams, default_params

    if path is None:
        return default_params() if shipped else MasteryParams()
    data = json.loads(Path(path).read_text())
    return MasteryParams.from_dict(data.get("params", data))


@cli.command("fit")
@click.option("--attempts", "attempts", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--start",
    "start",
    type=click.Path(exists=True, dir_okay=False),
    help="Start the search from this params JSON (default: the shipped defaults).",
)
@click.option(
    "--rounds",
    default=2,
    show_default=True,
    type=click.IntRange(0, 10),
    help="Coordinate-search rounds over the global parameters (0: items only).",
)
@click.option(
    "--with-items/--without-items",
    default=False,
    show_default=True,
    help="Also write the learned item difficulties and concept priors.",
)
def fit_command(attempts: str, out: str, start: str | None, rounds: int, with_items: bool) -> None:
    """Fit the model's parameters on an attempts CSV and write them as JSON."""
    from .fitting import fit

    records = _read(attempts)
    result = fit(records, start=_load_params(start), rounds=rounds, search=rounds > 0)
    Path(out).write_text(json.dumps(result.to_dict(include_items=with_items), indent=1))
    click.echo(
        f"fitted on {result.attempts} attempts, {len(result.items)} items; "
        f"replay log-loss {result.log_loss:.4f}; wrote {out}"
    )


@cli.command("evaluate")
@click.option("--attempts", "attempts", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--params",
    "params_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Starting parameters (default: the class defaults: the shipped ones were fitted on "
    "ASSISTments 2009 as a whole, held-out students included).",
)
@click.option(
    "--search/--no-search",
    default=True,
    show_default=True,
    help="Search global parameters on each fold's training students.",
)
@click.option("--threshold", default=70.0, show_default=True, type=click.FloatRange(0, 100))
def evaluate_command(
    attempts: str,
    folds: int,
    as_json: bool,
    params_path: str | None,
    search: bool,
    threshold: float,
) -> None:
    """Student-level K-fold next-answer evaluation of the engine and the baselines."""
    from .evaluation import evaluate

    records = _read(attempts)
    progress = None if as_json else click.echo
    report = evaluate(
        records,
        folds=folds,
        params=_load_params(params_path, shipped=False),
        search=search,
        threshold=threshold,
        progress=progress,
    )
    data = report.to_dict()
    if as_json:
        click.echo(json.dumps(data, sort_keys=True))
        return
    click.echo(f"{data['students']} students, {data['attempts']} attempts, {folds} folds")
    click.echo(f"{'model':<14}{'AUC':>8}{'RMSE':>8}{'ECE':>8}{'logloss':>9}{'attempts/s':>12}")
    rows = [("engine", data)] + list(data["baselines"].items())
    for name, row in rows:
        click.echo(
            f"{name:<14}{row['auc']:>8.4f}{row['rmse']:>8.4f}{row['ece']:>8.4f}"
            f"{row['log_loss']:>9.4f}{row['attempts_per_s']:>12}"
        )
    mastered = data["mastered"]
    click.echo(
        f"mastered at {threshold:g}: next-attempt accuracy {mastered['next_attempt_accuracy']} "
        f"(n={mastered['next_attempts']}), while mastered {mastered['while_mastered_accuracy']} "
        f"(n={mastered['while_mastered_attempts']})"
    )


@cli.command("convert-akt")
@click.option(
    "--src",
    "src",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Directory holding <prefix>_test1..5.csv of arghosh/AKT's data folder.",
)
@click.option("--prefix", default="assist2009_pid", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
def convert_akt_command(src: str, prefix: str, out: str) -> None:
    """Convert AKT's ASSISTments sequence files into the attempts CSV (keep it out of git)."""
    from .history import convert_akt_directory, write_attempts_csv

    try:
        records = convert_akt_directory(src, prefix)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    count = write_attempts_csv(records, out)
    students = len({r.student for r in records})
    click.echo(f"wrote {count} attempts of {students} students to {out}")
