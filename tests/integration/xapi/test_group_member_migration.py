"""Migration 0018 gives statements stored before it the Group member marks that the
``agent`` filter looks up, and takes them away again on downgrade."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade

from masteryai_lti.core.types import UtcDateTime
from tests.conftest import base_config
from tests.integration.core.test_migrations import empty_database  # noqa: F401 (fixture)

REVISION = "0018_xapi_group_member_marks"
BEN = "agent|mbox|mailto:ben@example.org"


def _insert_statement(connection, statement_id: uuid.UUID, statement: dict, agent_keys):
    now = datetime(2025, 1, 1, tzinfo=UTC)
    connection.execute(
        sa.text(
            "INSERT INTO xapi_statements (institution_id, statement_id, stored, timestamp,"
            " actor_key, verb_id, object_type, is_voiding, voided, agent_keys, activity_ids,"
            " has_attachments, statement, projection_state)"
            " VALUES (1, :sid, :now, :now, NULL, :verb, 'Activity', false, false, :keys,"
            " :activities, false, :statement, 'projected')"
        ).bindparams(
            sa.bindparam("sid", type_=sa.Uuid()),
            sa.bindparam("now", type_=UtcDateTime()),
            sa.bindparam("keys", type_=sa.JSON()),
            sa.bindparam("activities", type_=sa.JSON()),
            sa.bindparam("statement", type_=sa.JSON()),
        ),
        {
            "sid": statement_id,
            "now": now,
            "verb": statement["verb"]["id"],
            "keys": agent_keys,
            "activities": [statement["object"]["id"]],
            "statement": statement,
        },
    )


def test_upgrade_marks_members_of_stored_group_statements_and_downgrade_unmarks(
    empty_database,  # noqa: F811
):
    from masteryai_lti import create_app
    from masteryai_lti.extensions import db
    from masteryai_lti.xapi import storage

    app = create_app(base_config(SQLALCHEMY_DATABASE_URI=empty_database, REDIS_URL=""))
    with app.app_context():
        before = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        before = before.get_revision(REVISION).down_revision
        upgrade(revision=before)
        group_id, plain_id = uuid.uuid4(), uuid.uuid4()
        group_statement = {
            "id": str(group_id),
            "actor": {"objectType": "Group", "member": [{"mbox": "mailto:ben@example.org"}]},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
            "object": {"id": "http://example.org/meeting"},
        }
        plain_statement = {
            **group_statement,
            "id": str(plain_id),
            "actor": {"mbox": "mailto:cat@example.org"},
        }
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO institutions (id, slug, name, created_at)"
                    " VALUES (1, 'school', 'School', :now)"
                ).bindparams(sa.bindparam("now", type_=UtcDateTime())),
                {"now": datetime.now(UTC)},
            )
            # As stored before 0018: the member is a related agent, without a mark.
            _insert_statement(connection, group_id, group_statement, [BEN])
            _insert_statement(
                connection, plain_id, plain_statement, ["agent|mbox|mailto:cat@example.org"]
            )

        upgrade()
        mark = "member|" + BEN
        keys = _agent_keys(db)
        assert keys == {group_id: [BEN, mark], plain_id: ["agent|mbox|mailto:cat@example.org"]}
        assert _ref_hashes(db) == {hashlib.md5(mark.encode()).hexdigest()}
        found = storage.find_statements(
            1,
            storage.StatementFilter(agent_key=BEN),
            ascending=True,
            limit=10,
            after=None,
            snapshot=None,
        )
        assert [document["id"] for _, _, document in found] == [str(group_id)]
        db.session.rollback()

        downgrade(revision=before)
        assert _agent_keys(db)[group_id] == [BEN]
        assert _ref_hashes(db) == set()
        downgrade(revision="base")
        db.session.remove()
        db.engine.dispose()


def _agent_keys(db) -> dict:
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT statement_id, agent_keys FROM xapi_statements").columns(
                sa.column("statement_id", sa.Uuid()), sa.column("agent_keys", sa.JSON())
            )
        ).all()
    return {sid: json.loads(keys) if isinstance(keys, str) else keys for sid, keys in rows}


def _ref_hashes(db) -> set:
    # Only the mark's ref: the backfill adds no other and 0011's refs were not made here.
    with db.engine.connect() as connection:
        return set(connection.scalars(sa.text("SELECT ref_hash FROM xapi_statement_refs")))
