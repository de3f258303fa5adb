"""`flask db upgrade` from empty reaches head, and the result matches the models."""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests.conftest import PG_HOST, PG_PORT, _reachable, base_config

IN_CI = os.environ.get("CI", "").lower() == "true"


def _fresh_postgres() -> tuple[str, callable]:
    name = f"masteryai_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}", drop


def _fresh_sqlite() -> tuple[str, callable]:
    path = os.path.join(tempfile.mkdtemp(prefix="masteryai-mig-"), "m.db")
    return f"sqlite:///{path}", lambda: None


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request):
    if request.param == "postgresql" and not _reachable(PG_HOST, PG_PORT):
        if IN_CI:
            pytest.fail("PostgreSQL unreachable under CI=true")
        pytest.skip("PostgreSQL not running here")
    url, drop = _fresh_postgres() if request.param == "postgresql" else _fresh_sqlite()
    yield url
    drop()


def test_upgrade_from_empty_matches_models(empty_database):
    from masteryai_lti import create_app
    from masteryai_lti.extensions import db

    app = create_app(base_config(SQLALCHEMY_DATABASE_URI=empty_database, REDIS_URL=""))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            head = connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert differences == [], differences
        assert head is not None
        # And back down to empty, so every migration is reversible.
        downgrade(revision="base")
        with db.engine.connect() as connection:
            remaining = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()
