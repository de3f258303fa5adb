"""xapi: the agent filter finds the members of an actor or object Group

Statements stored from now on carry "member|<agent key>" marks in agent_keys (and so in
xapi_statement_refs) for each member of a Group that is their actor or object. This
gives the statements stored before the same marks. No schema change.

Revision ID: 0018_xapi_group_member_marks
Revises: 0017_concept_map_owner
Create Date: 2026-12-07 13:00:00

"""
import hashlib
import json

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0018_xapi_group_member_marks'
down_revision = '0017_concept_map_owner'
branch_labels = None
depends_on = None

MARK = 'member|'
_BATCH = 1000
# Statements whose actor or object is a Group: only they get marks.
_GROUPS = {
    'postgresql': (
        "(statement->'actor'->>'objectType' = 'Group' OR object_type = 'Group')"
    ),
    'sqlite': (
        "(json_extract(statement, '$.actor.objectType') = 'Group' OR object_type = 'Group')"
    ),
}


def _agent_key(agent):
    # The rule of masteryai_lti.xapi.indexing.agent_key as of this revision (a
    # migration must not change when the application code does).
    if not isinstance(agent, dict):
        return None
    for kind in ('mbox', 'mbox_sha1sum', 'openid', 'account'):
        value = agent.get(kind)
        if value is None:
            continue
        if kind == 'account':
            value = f"{value.get('homePage', '')}|{value.get('name', '')}"
        object_type = 'group' if agent.get('objectType') == 'Group' else 'agent'
        return f'{object_type}|{kind}|{value}'
    return None


def _marks(statement):
    marks = set()
    target = statement.get('object') or {}
    for group in (statement.get('actor'), target):
        if isinstance(group, dict) and group.get('objectType') == 'Group':
            for member in group.get('member') or []:
                key = _agent_key(member)
                if key:
                    marks.add(MARK + key)
    return marks


def _load(value):
    return json.loads(value) if isinstance(value, str) else value


def _rewrite(add: bool):
    bind = op.get_bind()
    where = _GROUPS[bind.dialect.name]
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                'SELECT id, institution_id, agent_keys, statement FROM xapi_statements'
                f' WHERE id > :last AND {where} ORDER BY id LIMIT {_BATCH}'
            ),
            {'last': last},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        updates, refs = [], []
        for pk, institution_id, agent_keys, statement in rows:
            keys = set(_load(agent_keys))
            marks = _marks(_load(statement)) if add else {k for k in keys if k.startswith(MARK)}
            changed = (keys | marks) if add else (keys - marks)
            if changed == keys:
                continue
            updates.append({'pk': pk, 'keys': json.dumps(sorted(changed))})
            for mark in marks - keys if add else marks:
                digest = hashlib.md5(mark.encode('utf-8')).hexdigest()
                refs.append({'i': institution_id, 'h': digest, 's': pk})
        if updates:
            cast = 'CAST(:keys AS jsonb)' if bind.dialect.name == 'postgresql' else ':keys'
            bind.execute(
                sa.text(f'UPDATE xapi_statements SET agent_keys = {cast} WHERE id = :pk'),
                updates,
            )
        if refs and add:
            insert = (
                'INSERT INTO xapi_statement_refs (institution_id, kind, ref_hash, statement_pk)'
                " VALUES (:i, 'agent', :h, :s)"
            )
            if bind.dialect.name == 'postgresql':
                insert += ' ON CONFLICT DO NOTHING'
            else:
                insert = insert.replace('INSERT', 'INSERT OR IGNORE', 1)
            bind.execute(sa.text(insert), refs)
        elif refs:
            bind.execute(
                sa.text(
                    'DELETE FROM xapi_statement_refs WHERE institution_id = :i'
                    " AND kind = 'agent' AND ref_hash = :h AND statement_pk = :s"
                ),
                refs,
            )


def upgrade():
    _rewrite(add=True)


def downgrade():
    _rewrite(add=False)
