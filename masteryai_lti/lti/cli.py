"""``flask lti ...`` commands. Each command calls a service function.

Add a command by decorating a function with ``@cli.command("name")`` in this
module (or in a module imported at the bottom of it); the app factory registers
the ``cli`` group.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from masteryai_lti.core.errors import ApiError
from masteryai_lti.lti import keys

cli = AppGroup("lti", help="LTI 1.3: platforms and the tool's signing keys.")


@cli.command("rotate-key")
def rotate_key_command() -> None:
    """Add a new signing key; the previous one is retired but stays published."""
    key = keys.rotate_key()
    click.echo(f"New active key {key.kid}; previous keys are retired and still published.")


@cli.command("list-keys")
def list_keys_command() -> None:
    """Show the tool's keys, newest first."""
    for key in keys.list_keys():
        retired = f" retired {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else ""
        click.echo(f"{key.kid}  {key.status:<8} created {key.created_at:%Y-%m-%d %H:%M}{retired}")


@cli.command("delete-key")
@click.argument("kid")
def delete_key_command(kid: str) -> None:
    """Delete a retired key: it leaves the JWKS (do this once platforms have refetched)."""
    try:
        keys.delete_key(kid)
    except ApiError as exc:
        raise click.ClickException(exc.detail or str(exc)) from exc
    click.echo(f"Deleted key {kid}.")


# Platform and LTI Advantage service commands (add-platform, drain-outbox, ...).
from masteryai_lti.lti import services_cli  # noqa: E402,F401
