"""`flask engagement ...` commands: OULAD evaluation and risk-model fitting."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

cli = AppGroup("engagement", help="Engagement index and at-risk tools.")


@cli.command("evaluate")
@click.option("--oulad", "oulad", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--weeks", required=True, type=click.IntRange(1, 40))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Use this risk-model JSON instead of fitting on the 2013 presentations.",
)
def evaluate_command(oulad: str, weeks: int, as_json: bool, model_path: str | None) -> None:
    """Fit on OULAD 2013, report early at-risk metrics on 2014 after WEEKS weeks."""
    from .evaluation import evaluate
    from .risk import load_model

    result = evaluate(oulad, weeks, load_model(model_path) if model_path else None)
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    click.echo(
        f"OULAD week {weeks}: {result['test_students']} students in "
        f"{result['test_presentations']} presentations (2014), "
        f"positive rate {result['test_positive_rate']}"
    )
    click.echo(f"  at-risk AUC (within course) {result['auc_risk']}")
    click.echo(f"  engagement index AUC        {result['auc_index']}")
    click.echo(
        f"  top 20% flagged: precision {result['precision_top20']}, "
        f"recall {result['recall_top20']}; Brier {result['brier']}"
    )
    for module, value in result["per_module"].items():
        click.echo(f"  module {module}: AUC {value}")


@cli.command("fit")
@click.option("--oulad", "oulad", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--weeks", default=4, show_default=True, type=click.IntRange(1, 40))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
def fit_command(oulad: str, weeks: int, out: str) -> None:
    """Fit the risk model on the OULAD 2013 presentations and write its JSON."""
    from .engine import compute_course
    from .evaluation import TRAIN_YEAR, fit_risk_model, load_oulad

    data = [p for p in load_oulad(oulad, weeks) if p.presentation.startswith(TRAIN_YEAR)]
    model = fit_risk_model([(p, compute_course(p.course_input)) for p in data], weeks)
    Path(out).write_text(json.dumps(model.to_dict(), indent=1) + "\n")
    click.echo(f"wrote {out} ({model.provenance['students']} students)")


@cli.command("recompute")
@click.option("--course", "course_id", type=int, help="Only this course.")
@click.option(
    "--queue", "on_queue", is_flag=True, help="Put the job on the RQ queue instead (for cron)."
)
def recompute_command(course_id: int | None, on_queue: bool) -> None:
    """Recompute engagement, refresh caches and write today's snapshots.

    Run it nightly from cron (``flask engagement recompute --queue``) so the
    history and the flag hysteresis have a snapshot per day.
    """
    from masteryai_lti.extensions import jobs

    from . import service

    if on_queue:
        if course_id is not None:
            jobs.enqueue(service.recompute_course_job, course_id)
        else:
            jobs.enqueue(service.recompute_all)
        click.echo("queued" if not jobs.inline else "ran inline (no worker queue configured)")
        return
    if course_id is not None:
        done = service.recompute_course(course_id)
        click.echo(f"course {course_id}: {done['students']} students")
        return
    click.echo(f"recomputed {service.recompute_all()} courses")
