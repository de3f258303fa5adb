"""The scratch PostgreSQL database a benchmark runs in (created when missing)."""

from __future__ import annotations

import sqlalchemy as sa


def ensure_database(url: str) -> None:
    """Create the database named at the end of ``url`` unless it exists."""
    base, name = url.rsplit("/", 1)
    admin = sa.create_engine(
        base.replace("postgresql://", "postgresql+psycopg2://") + "/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        if not connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}
        ):
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
