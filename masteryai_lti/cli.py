"""``flask masteryai ...``: demo data, the job worker, cache maintenance."""

from __future__ import annotations

import importlib
import importlib.util

import click
from flask import current_app
from flask.cli import AppGroup

from masteryai_lti.demo import DEMO_PASSWORD, seed_demo

masteryai = AppGroup("masteryai", help="MasteryAI-LTI administration.")


@masteryai.command("demo")
def demo_command() -> None:
    """Seed a demo institution, teacher, 30 students and a course, then each feature's
    demo data (concept graph, items and practice; a month of engagement). Idempotent."""
    summary = seed_demo()
    from masteryai_lti import FEATURES

    for feature in FEATURES:
        module_name = f"masteryai_lti.{feature}.demo"
        if importlib.util.find_spec(module_name):
            module = importlib.import_module(module_name)
            seeder = getattr(module, "seed_demo", None)
            if callable(seeder):
                seeder(summary)
    click.echo(
        "Demo data ready.\n"
        f"  Institution: {summary.institution.name} (slug {summary.institution.slug})\n"
        f"  Course:      {summary.course.title} (id {summary.course.id}, "
        f"join code {summary.course.join_code})\n"
        f"  Teacher:     {summary.teacher.email} / {DEMO_PASSWORD}\n"
        f"  Students:    student01@demo.example ... student30@demo.example / {DEMO_PASSWORD}\n"
        'Log in: POST /api/v1/auth/login with {"email": ..., "password": ...}, '
        "or try it at /api/docs."
    )


@masteryai.command("worker")
@click.option("--burst", is_flag=True, help="Drain the queue, then exit.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker for background jobs (needs REDIS_URL)."""
    from rq import Worker

    from masteryai_lti.core import jobs as jobs_module
    from masteryai_lti.extensions import jobs

    if jobs.queue is None:
        raise click.ClickException("Jobs run inline: set REDIS_URL to use a worker.")
    jobs_module._worker_app = current_app._get_current_object()
    Worker([jobs.queue], connection=jobs.queue.connection).work(burst=burst)


@masteryai.command("cache-clear")
def cache_clear_command() -> None:
    """Drop every cached value (they are recomputed from the database)."""
    from masteryai_lti.extensions import cache

    cache.clear()
    click.echo("Cache cleared.")
