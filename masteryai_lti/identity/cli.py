"""`flask institutions ...` commands: an institution's settings, for the operator."""

from __future__ import annotations

import click
from flask.cli import AppGroup

cli = AppGroup("institutions", help="Institutions (tenants) and their settings.")


@cli.command("set-time-zone")
@click.argument("slug")
@click.argument("zone")
def set_time_zone_command(slug: str, zone: str) -> None:
    """Count the institution SLUG's engagement days in ZONE (IANA, e.g. Europe/Paris);
    the days already stored are recounted."""
    from masteryai_lti.core.errors import ValidationFailed

    from . import service

    institution = service.get_institution_by_slug(slug)
    if institution is None:
        raise click.ClickException(f"no institution with slug {slug!r}")
    try:
        service.set_time_zone(institution, zone)
    except ValidationFailed as exc:
        raise click.ClickException(exc.errors[0]["message"]) from None
    click.echo(f"{slug}: time zone {institution.time_zone}")
