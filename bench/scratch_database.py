"""The scratch PostgreSQL database a benchmark runs in (created when missing)."""

from __future__ import annotations

import sqlalchemy as sa


def _server_admin(url: str) -> tuple[sa.Engine, str]:
    """An engine on the server's ``postgres`` database, and the scratch database's name."""
    base, name = url.rsplit("/", 1)
    admin = sa.create_engine(
        base.replace("postgresql://", "postgresql+psycopg2://") + "/postgres",
        isolation_level="AUTOCOMMIT",
    )
    return admin, name


def ensure_database(url: str) -> None:
    """Create the database named at the end of ``url`` unless it exists."""
    admin, name = _server_admin(url)
    with admin.connect() as connection:
        if not connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}
        ):
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    """Drop the scratch database named at the end of ``url``."""
    admin, name = _server_admin(url)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def add_scratch_arguments(parser, database: str, redis_db: int = 8) -> None:
    """``--database-url`` (the scratch database ``database`` on the local PostgreSQL)
    and ``--redis-url``, the two every benchmark takes."""
    parser.add_argument(
        "--database-url", default=f"postgresql://postgres@127.0.0.1:5432/{database}"
    )
    parser.add_argument("--redis-url", default=f"redis://127.0.0.1:6379/{redis_db}")


def fresh_app(database_url: str, redis_url: str, *, jobs_inline: bool = True):
    """The app on the scratch database, its tables created empty and its cache cleared."""
    ensure_database(database_url)
    from masteryai_lti import create_app
    from masteryai_lti.extensions import cache, db

    settings = {
        "ENV_NAME": "test",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench-secret-key-long-enough-for-hmac-signing",
        "RATELIMIT_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    }
    if jobs_inline:
        settings["JOBS_INLINE"] = True
    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        db.create_all()
        cache.clear()
    return app
