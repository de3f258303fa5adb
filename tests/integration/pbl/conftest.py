"""Fixtures of the PBL integration tests: the class of ``world.build_world``."""

from __future__ import annotations

import pytest

from tests.integration.pbl.world import build_world


@pytest.fixture
def world(app):
    """The class (browser tests override it with a class launched from a test LMS)."""
    return build_world(app)


@pytest.fixture
def postgres_world(app):
    """The class, on PostgreSQL only: concurrent writers are checked there."""
    from masteryai_lti.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    return build_world(app)
