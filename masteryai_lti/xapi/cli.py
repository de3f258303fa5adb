"""``flask xapi ...``: credentials, projection drain, file import, pulling from an LRS."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from masteryai_lti.xapi.models import SCOPES

cli = AppGroup("xapi", help="xAPI Statement API administration.")


def _institution_id(slug: str) -> int:
    from masteryai_lti.identity.service import get_institution_by_slug

    institution = get_institution_by_slug(slug)
    if institution is None:
        raise click.ClickException(f"No institution with slug {slug!r}.")
    return institution.id


@cli.command("create-credentials")
@click.option("--institution", "slug", required=True, help="Institution slug (e.g. demo).")
@click.option("--name", required=True, help="Who uses it, e.g. 'Learning Locker'.")
@click.option(
    "--scopes",
    default=",".join(SCOPES),
    show_default=True,
    help="Comma-separated subset of: " + ", ".join(SCOPES),
)
def create_credentials_command(slug: str, name: str, scopes: str) -> None:
    """Issue HTTP Basic credentials for an LRS; prints {"key", "secret"} as JSON."""
    from masteryai_lti.core.errors import ApiError
    from masteryai_lti.xapi.credentials import issue_credential

    wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
    try:
        issued = issue_credential(_institution_id(slug), name, wanted)
    except ApiError as exc:
        raise click.ClickException(exc.detail or exc.title) from None
    click.echo(json.dumps({"key": issued.key, "secret": issued.secret}))


@cli.command("revoke-credentials")
@click.option("--institution", "slug", required=True)
@click.option("--key", required=True)
def revoke_credentials_command(slug: str, key: str) -> None:
    """Revoke a credential by its key."""
    from sqlalchemy import select

    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.credentials import revoke_credential
    from masteryai_lti.xapi.models import XapiCredential

    institution_id = _institution_id(slug)
    row = db.session.scalar(
        select(XapiCredential).where(
            XapiCredential.key == key, XapiCredential.institution_id == institution_id
        )
    )
    if row is None:
        raise click.ClickException("No such credential in that institution.")
    revoke_credential(institution_id, row.id)
    click.echo(f"Revoked {key}.")


@cli.command("project")
@click.option("--retry-failed", is_flag=True, help="Also retry rows whose projection failed.")
def project_command(retry_failed: bool) -> None:
    """Project every pending stored statement (recovery after a crash; idempotent)."""
    from masteryai_lti.xapi import projection

    if retry_failed:
        projection.retry_failed()
    handled = projection.project_pending()
    click.echo(f"Projected {handled} statement(s).")


def _print_report(report) -> None:
    for rejected in report.rejected:
        click.echo(f"rejected {rejected.where}: {rejected.reason}", err=True)
    click.echo(
        json.dumps(
            {"stored": report.stored, "rejected": len(report.rejected), "skipped": report.skipped}
        )
    )


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--institution", "slug", default="demo", show_default=True)
@click.option("--xapi-version", "version", default="1.0.3", show_default=True)
@click.option("--restart", is_flag=True, help="Ignore saved progress and start at line 1.")
def import_command(file: str, slug: str, version: str, restart: bool) -> None:
    """Import statements from FILE (JSON lines or one JSON array); resumable."""
    from masteryai_lti.xapi.transfer import import_file, read_statement_file

    total = sum(1 for _ in read_statement_file(file))
    with click.progressbar(length=total, label="Importing statements", file=None) as bar:
        report = import_file(
            _institution_id(slug), file, version=version, restart=restart, progress=bar.update
        )
    _print_report(report)


@cli.command("pull")
@click.option("--from", "source", required=True, help="The LRS endpoint, e.g. https://lrs/xAPI")
@click.option("--credentials", required=True, help="KEY:SECRET of the remote LRS")
@click.option("--since", default=None, help="Only statements stored after this timestamp.")
@click.option("--institution", "slug", default="demo", show_default=True)
@click.option("--xapi-version", "version", default="1.0.3", show_default=True)
def pull_command(source: str, credentials: str, since: str | None, slug: str, version: str):
    """Pull statements from an LRS that cannot forward, following `more` links; resumable."""
    from masteryai_lti.xapi.transfer import pull

    key, sep, secret = credentials.partition(":")
    if not sep:
        raise click.BadParameter("use KEY:SECRET", param_hint="--credentials")
    try:
        report = pull(_institution_id(slug), source, (key, secret), since=since, version=version)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    _print_report(report)
