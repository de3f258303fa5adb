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


def _school(run, at: str) -> None:
    """Institution 1, as every schema since 0001 has it (rows for migration tests)."""
    run(
        sa.text(
            "INSERT INTO institutions (id, slug, name, created_at) "
            "VALUES (1, 'school', 'School', :at)"
        ),
        {"at": at},
    )


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


def _course(run, at: str, course_id: int = 1, title: str = "Algebra I") -> None:
    """A course of institution 1, as every schema since 0001 has it."""
    run(
        sa.text(
            "INSERT INTO courses (id, institution_id, title, description, created_at, "
            "updated_at) VALUES (:id, 1, :title, '', :at, :at)"
        ),
        {"id": course_id, "title": title, "at": at},
    )


def test_concept_graphs_get_the_owner_their_data_shows(empty_database):
    """0017: a graph used by one course is that course's; a shared one is the course it
    was named after; a shared one named after none of them has no owner (admins only)."""
    from masteryai_lti import create_app
    from masteryai_lti.extensions import db

    app = create_app(base_config(SQLALCHEMY_DATABASE_URI=empty_database, REDIS_URL=""))
    at = "2026-01-01 00:00:00"
    with app.app_context():
        upgrade(revision="0016_engagement_flagged_since")
        with db.engine.begin() as connection:
            run = connection.execute
            _school(run, at)
            # The course that reused the graph got the lower id: ownership is not "first id".
            for course_id, title in [
                (1, "Trap"),
                (2, "Algebra I"),
                (3, "Geometry"),
                (4, "Year 7"),
                (5, "Year 8"),
            ]:
                _course(run, at, course_id, title)
            for map_id, name, users in [
                (1, "Algebra I", (1, 2)),
                (2, "Geometry", (3,)),
                (3, "Department maths", (4, 5)),
            ]:
                run(
                    sa.text(
                        "INSERT INTO mastery_concept_maps (id, institution_id, name, "
                        "description, created_at, updated_at) VALUES (:id, 1, :name, '', :at, :at)"
                    ),
                    {"id": map_id, "name": name, "at": at},
                )
                for course_id in users:
                    run(
                        sa.text(
                            "INSERT INTO mastery_course_maps (course_id, institution_id, "
                            "concept_map_id) VALUES (:course, 1, :map)"
                        ),
                        {"course": course_id, "map": map_id},
                    )
                run(
                    sa.text(
                        "INSERT INTO mastery_concepts (institution_id, concept_map_id, key, "
                        "name, description) VALUES (1, :map, 'k', 'K', '')"
                    ),
                    {"map": map_id},
                )
        upgrade()
        with db.engine.connect() as connection:
            owners = dict(
                connection.execute(
                    sa.text("SELECT id, owner_course_id FROM mastery_concept_maps")
                ).all()
            )
            # SQLite rebuilds the table to add the foreign key: what refers to it stays.
            links = connection.scalar(sa.text("SELECT COUNT(*) FROM mastery_course_maps"))
            concepts = connection.scalar(sa.text("SELECT COUNT(*) FROM mastery_concepts"))
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert owners == {1: 2, 2: 3, 3: None}
        assert (links, concepts) == (5, 3)
        db.engine.dispose()


def test_upgrading_keeps_the_rows_that_refer_to_rebuilt_tables(empty_database):
    """SQLite adds a foreign key by rebuilding the table (copy, drop, rename); with
    enforcement on, the drop cascades. 0010 rebuilds mastery_assignments: an upgrade
    from 0009 deleted every assignment item of a school's existing database."""
    from masteryai_lti import create_app
    from masteryai_lti.extensions import db

    app = create_app(base_config(SQLALCHEMY_DATABASE_URI=empty_database, REDIS_URL=""))
    at = "2026-01-01 00:00:00"
    with app.app_context():
        upgrade(revision="0009_mastery_concept_priors")
        with db.engine.begin() as connection:
            run = connection.execute
            _school(run, at)
            run(
                sa.text(
                    "INSERT INTO users (id, institution_id, full_name, role, "
                    "is_institution_admin, is_active, created_at) "
                    "VALUES (1, 1, 'Sam', 'student', false, true, :at)"
                ),
                {"at": at},
            )
            _course(run, at)
            run(
                sa.text(
                    "INSERT INTO mastery_assignments (id, institution_id, course_id, user_id, "
                    "title, status, settings, created_at) "
                    "VALUES (1, 1, 1, 1, 'Practice', 'open', '{}', :at)"
                ),
                {"at": at},
            )
            for position in range(3):
                run(
                    sa.text(
                        "INSERT INTO mastery_assignment_items (assignment_id, position, kind, "
                        "difficulty_label, predicted_success, reason) "
                        "VALUES (1, :position, 'practice', 'easy', 0.5, '')"
                    ),
                    {"position": position},
                )

        upgrade()

        with db.engine.connect() as connection:
            items = connection.scalar(sa.text("SELECT COUNT(*) FROM mastery_assignment_items"))
            if connection.dialect.name == "sqlite":
                # Enforcement is back on for the app's connections.
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert items == 3
        db.engine.dispose()


def test_enrollments_of_earlier_test_student_launches_are_marked(empty_database):
    """0019: an enrollment made by a launch whose roles carried the platform's TestUser
    marker (Canvas Student View) is marked; the other enrollments are not."""
    import json

    from masteryai_lti import create_app
    from masteryai_lti.extensions import db

    app = create_app(base_config(SQLALCHEMY_DATABASE_URI=empty_database, REDIS_URL=""))
    at = "2026-01-01 00:00:00"
    roles = {
        1: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        2: [
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            "http://purl.imsglobal.org/vocab/lti/system/person#TestUser",
        ],
    }
    with app.app_context():
        upgrade(revision="0018_xapi_group_member_marks")
        with db.engine.begin() as connection:
            run = connection.execute
            _school(run, at)
            _course(run, at)
            run(
                sa.text(
                    "INSERT INTO lti_registrations (id, institution_id, issuer, client_id, "
                    "auth_login_url, auth_token_url, platform_family, status, created_at, "
                    "updated_at) VALUES (1, 1, 'https://lms', 'c', 'https://lms/auth', '', "
                    "'canvas', 'active', :at, :at)"
                ),
                {"at": at},
            )
            # User 3 is enrolled without a launch (roster sync): nothing says it is a test.
            for user_id in (1, 2, 3):
                run(
                    sa.text(
                        "INSERT INTO users (id, institution_id, full_name, role, "
                        "is_institution_admin, is_active, created_at) "
                        "VALUES (:id, 1, 'U', 'student', FALSE, TRUE, :at)"
                    ),
                    {"id": user_id, "at": at},
                )
                run(
                    sa.text(
                        "INSERT INTO enrollments (institution_id, course_id, user_id, role, "
                        "status, source, created_at, updated_at) "
                        "VALUES (1, 1, :id, 'student', 'active', 'lti', :at, :at)"
                    ),
                    {"id": user_id, "at": at},
                )
            for user_id, user_roles in roles.items():
                claims = {"https://purl.imsglobal.org/spec/lti/claim/roles": user_roles}
                run(
                    sa.text(
                        "INSERT INTO lti_launches (launch_id, institution_id, registration_id, "
                        "deployment_id, user_id, course_id, message_type, role, "
                        "state_binding, claims, created_at) VALUES (:launch, 1, 1, 'd', :id, "
                        "1, 'LtiResourceLinkRequest', 'student', 'cookie', :claims, :at)"
                    ),
                    {
                        "launch": f"launch-{user_id}",
                        "id": user_id,
                        "claims": json.dumps(claims),
                        "at": at,
                    },
                )
        upgrade()
        with db.engine.connect() as connection:
            marks = dict(
                connection.execute(sa.text("SELECT user_id, test_user FROM enrollments")).all()
            )
        assert {user: bool(mark) for user, mark in marks.items()} == {
            1: False,
            2: True,
            3: False,
        }
        db.engine.dispose()
