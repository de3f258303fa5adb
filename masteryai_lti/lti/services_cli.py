"""``flask lti`` commands for platforms and LTI Advantage services.

Attached to the ``lti`` group of :mod:`masteryai_lti.lti.cli` (imported at its
bottom): ``add-platform``, ``approve-platform``, ``list-platforms``,
``drain-outbox`` and ``sync-roster``.
"""

from __future__ import annotations

import time

import click
from sqlalchemy import select

from masteryai_lti.core.errors import ApiError
from masteryai_lti.extensions import db
from masteryai_lti.lti import outbox, registration, registry, roster
from masteryai_lti.lti.cli import cli
from masteryai_lti.lti.models import LtiRegistration
from masteryai_lti.lti.service_client import PlatformServiceError


@cli.command("add-platform")
@click.option(
    "--issuer", required=True, help="The platform's issuer (iss), e.g. https://moodle.school.edu"
)
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization URL.")
@click.option("--token-url", required=True, help="The platform's OAuth2 access token URL.")
@click.option("--jwks-url", required=True, help="The platform's public keyset URL.")
@click.option(
    "--deployment-id", "deployment_ids", multiple=True, help="Deployment id (repeatable)."
)
@click.option("--audience", default=None, help="Token audience, when not the token URL.")
@click.option("--institution", "institution_slug", default=None, help="Existing institution slug.")
@click.option("--institution-name", default=None, help="Name of a new institution.")
@click.option(
    "--family",
    type=click.Choice(["generic", "moodle", "canvas"]),
    default=None,
    help="Platform family (detected from the issuer when omitted).",
)
def add_platform_command(
    issuer,
    client_id,
    auth_login_url,
    token_url,
    jwks_url,
    deployment_ids,
    audience,
    institution_slug,
    institution_name,
    family,
) -> None:
    """Register a platform by hand (what dynamic registration does automatically)."""
    try:
        created = registry.register_platform(
            # Exactly as the platform writes it: launches compare iss byte for byte.
            issuer=issuer,
            client_id=client_id,
            auth_login_url=auth_login_url,
            auth_token_url=token_url,
            key_set_url=jwks_url,
            deployment_ids=deployment_ids,
            auth_audience=audience,
            institution_slug=institution_slug,
            institution_name=institution_name,
            platform_family=family,
        )
    except ApiError as exc:
        raise click.ClickException(exc.detail or str(exc)) from exc
    click.echo(
        f"Platform registration {created.id}: {created.issuer} client {created.client_id} "
        f"({created.platform_family}), institution {created.institution_id}, "
        f"{len(created.deployments)} deployment(s)."
    )


@cli.command("approve-platform")
@click.argument("registration_id", type=int)
def approve_platform_command(registration_id: int) -> None:
    """Allow launches from a dynamically registered platform held for approval."""
    try:
        approved = registration.set_registration_status(registration_id, "active")
    except ApiError as exc:
        raise click.ClickException(exc.detail or str(exc)) from exc
    click.echo(f"Platform registration {approved.id} ({approved.issuer}) is active.")


@cli.command("list-platforms")
def list_platforms_command() -> None:
    """Show every platform registration."""
    for row in db.session.scalars(select(LtiRegistration).order_by(LtiRegistration.id)):
        click.echo(
            f"{row.id:>4}  {row.status:<8} {row.platform_family:<8} {row.issuer}  "
            f"client {row.client_id}  institution {row.institution_id}"
        )


@cli.command("drain-outbox")
@click.option(
    "--every",
    type=int,
    default=0,
    help="Keep draining every N seconds (0: drain once and exit, e.g. from cron).",
)
def drain_outbox_command(every: int) -> None:
    """Deliver grade posts that are due, retries included."""
    while True:
        report = outbox.drain_outbox()
        click.echo(
            f"sent {report['sent']}, retrying {report['retrying']}, failed {report['failed']}"
        )
        if every <= 0:
            return
        db.session.remove()
        time.sleep(every)


def _roster_line(report: dict) -> str:
    return (
        f"{report['members']} members over {report['pages']} page(s): "
        f"{report['users_created']} new users, {report['enrollments_deactivated']} deactivated."
    )


@cli.command("sync-roster")
@click.argument("course_id", type=int, required=False)
@click.option(
    "--all",
    "every_course",
    is_flag=True,
    help="Sync every course an LMS offered a roster for (for cron); exits 1 if any failed.",
)
def sync_roster_command(course_id: int | None, every_course: bool) -> None:
    """Sync a course's members from its LMS (NRPS), or every course's with --all."""
    if every_course == (course_id is not None):
        raise click.UsageError("Give a COURSE_ID or --all.")
    if every_course:
        failed = 0
        for synced, report in roster.sync_all_courses().items():
            if "error" in report:
                failed += 1
                click.echo(f"course {synced}: failed: {report['error']}")
            else:
                click.echo(f"course {synced}: {_roster_line(report)}")
        if failed:
            raise SystemExit(1)
        return
    try:
        report = roster.sync_course(course_id).as_dict()
    except ApiError as exc:
        raise click.ClickException(exc.detail or str(exc)) from exc
    except PlatformServiceError as exc:
        raise click.ClickException(f"The LMS did not answer: {exc.reason}") from exc
    click.echo(_roster_line(report))
