"""Shared fixtures: a real database and Redis, an app, a client, a CLI runner.

The database is PostgreSQL when it answers at 127.0.0.1:5432 (database
``$MASTERYAI_TEST_DB``, default ``masteryai_test``, created on demand), else a
SQLite file; ``MASTERYAI_TEST_DATABASE=sqlite|postgres`` forces one. Redis is
``redis://127.0.0.1:6379/$MASTERYAI_TEST_REDIS_DB`` (default 15) when it
answers. Run in parallel (``-n 2``, pytest-xdist), worker N uses the database with
the suffix ``_gwN`` and the Redis index N below. Under ``CI=true`` an unreachable
PostgreSQL or Redis fails the run instead of falling back. Tables are created once
per run and emptied after every test.
"""

from __future__ import annotations

import os
import socket
import tempfile

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() == "true"

# Tests assert behaviour, never wall-clock time: Hypothesis's per-example deadline and
# its too-slow health check are timings, and fail spuriously on a busy 2-core machine.
settings.register_profile("masteryai", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("masteryai")
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# pytest-xdist's workers ("gw0", "gw1", ...) run side by side: each has its own
# database (the name gets the worker's suffix) and Redis index (counting down).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_NUMBER = int(WORKER[2:]) if WORKER.startswith("gw") else 0


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _postgres_url() -> str:
    name = os.environ.get("MASTERYAI_TEST_DB", "masteryai_test") + (f"_{WORKER}" if WORKER else "")
    admin = sa.create_engine(
        f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        )
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"


def _choose_database() -> str:
    forced = os.environ.get("MASTERYAI_TEST_DATABASE", "").lower()
    if forced == "sqlite":
        return "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="masteryai-test-"), "test.db")
    if forced == "postgres" or _reachable(PG_HOST, PG_PORT):
        return _postgres_url()
    if IN_CI:
        raise pytest.UsageError("CI=true but PostgreSQL at 127.0.0.1:5432 is unreachable")
    return "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="masteryai-test-"), "test.db")


def _choose_redis() -> str:
    if os.environ.get("MASTERYAI_TEST_REDIS", "").lower() == "off":
        return ""
    if _reachable(REDIS_HOST, REDIS_PORT):
        index = (int(os.environ.get("MASTERYAI_TEST_REDIS_DB", "15")) - WORKER_NUMBER) % 16
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{index}"
    if IN_CI:
        raise pytest.UsageError("CI=true but Redis at 127.0.0.1:6379 is unreachable")
    return ""


DATABASE_URL = _choose_database()
REDIS_URL = _choose_redis()


def pytest_report_header(config):
    return [f"database: {DATABASE_URL}", f"redis: {REDIS_URL or 'off (in-process cache)'}"]


def base_config(**overrides) -> dict:
    """The settings every test app starts from; tests override what they exercise."""
    config = {
        "ENV_NAME": "test",
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "JOBS_INLINE": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hmac",
        "BCRYPT_ROUNDS": 4,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def app():
    """One app for the run, on the chosen database, with fresh tables."""
    from masteryai_lti import create_app
    from masteryai_lti.extensions import db

    application = create_app(base_config())
    with application.app_context():
        if db.engine.dialect.name == "postgresql":
            # Start from an empty schema: tables left by another branch's models
            # would block drop_all through their foreign keys.
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        else:
            db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _empty_tables(application) -> None:
    from masteryai_lti.extensions import db

    with application.app_context():
        db.session.remove()
        # DELETE, children first, in one transaction: on tables this small it is
        # milliseconds, where TRUNCATE of every table costs seconds of file swaps.
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Empty tables, cache and rate-limit counters after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    _empty_tables(application)
    from masteryai_lti.engagement.service.scoring_parameters import forget_time_zones
    from masteryai_lti.extensions import cache, limiter

    # Institution ids come round again once the tables are emptied (SQLite reuses them):
    # a zone this process remembers must not follow into the next test.
    forget_time_zones()

    with application.app_context():
        cache.clear()
        try:
            limiter.reset()
        except Exception:  # the limiter's Redis may be the one a test stopped
            pass
        # After a test that stopped Redis the limiter counts in memory until it sees
        # Redis again; those counts must not follow the next test either.
        fallback = getattr(limiter, "_fallback_storage", None)
        if fallback is not None:
            fallback.reset()
        limiter._storage_dead = False


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield app


@pytest.fixture
def db_session(app_context):
    from masteryai_lti.extensions import db

    yield db.session
    db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_app(app):
    """Build an extra app with overridden settings (same database and tables).

    It depends on the run's ``app`` so the tables it writes are emptied after the
    test, and afterwards points the process-wide cache and job queue back at that
    app's settings: an extra app re-initialises them, and one built on a Redis the
    test then stopped would leave every later test on a dead cache.
    """
    from masteryai_lti import create_app
    from masteryai_lti.extensions import cache, jobs

    def build(**overrides):
        from masteryai_lti.extensions import limiter

        built = create_app(base_config(**overrides))
        # The limiter is process-wide and `init_app` keeps its "storage is dead" flag:
        # after a test that stopped its Redis, the new app would count in memory and
        # drop those counts when it finds its own Redis alive (a flood test then sees
        # its fourth attempt counted as the first).
        limiter._storage_dead = False
        return built

    yield build
    cache.init_app(app)
    jobs.init_app(app)
