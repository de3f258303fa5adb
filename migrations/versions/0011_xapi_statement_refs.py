"""xapi: related agents and activities in a b-tree side table instead of GIN indexes

Revision ID: 0011_xapi_statement_refs
Revises: 0010_assignment_placement
Create Date: 2026-11-24 22:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011_xapi_statement_refs'
down_revision = '0010_assignment_placement'
branch_labels = None
depends_on = None

_BACKFILL = {
    'postgresql': """
        INSERT INTO xapi_statement_refs (institution_id, kind, ref_hash, statement_pk)
        SELECT DISTINCT s.institution_id, refs.kind, md5(refs.ref), s.id
        FROM xapi_statements s
        CROSS JOIN LATERAL (
            SELECT 'agent' AS kind, k AS ref FROM jsonb_array_elements_text(s.agent_keys) k
            UNION ALL
            SELECT 'activity', a FROM jsonb_array_elements_text(s.activity_ids) a
        ) refs
    """,
}


def upgrade():
    op.create_table(
        'xapi_statement_refs',
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('ref_hash', sa.String(length=32), nullable=False),
        sa.Column(
            'statement_pk',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ['statement_pk'],
            ['xapi_statements.id'],
            name=op.f('fk_xapi_statement_refs_statement_pk_xapi_statements'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint(
            'institution_id', 'kind', 'ref_hash', 'statement_pk', name=op.f('pk_xapi_statement_refs')
        ),
    )
    bind = op.get_bind()
    op.drop_index('ix_xapi_statements_agent_keys', table_name='xapi_statements')
    op.drop_index('ix_xapi_statements_activity_ids', table_name='xapi_statements')
    if bind.dialect.name == 'postgresql':
        op.execute(_BACKFILL['postgresql'])
    else:
        # SQLite has no md5(): hash in Python (the embedded default holds little data).
        import hashlib
        import json

        rows = bind.execute(
            sa.text('SELECT id, institution_id, agent_keys, activity_ids FROM xapi_statements')
        ).all()
        refs = set()
        for pk, institution_id, agent_keys, activity_ids in rows:
            for kind, values in (('agent', agent_keys), ('activity', activity_ids)):
                for value in json.loads(values) if isinstance(values, str) else values:
                    digest = hashlib.md5(value.encode('utf-8')).hexdigest()
                    refs.add((institution_id, kind, digest, pk))
        if refs:
            bind.execute(
                sa.text(
                    'INSERT INTO xapi_statement_refs (institution_id, kind, ref_hash, statement_pk)'
                    ' VALUES (:i, :k, :h, :s)'
                ),
                [{'i': i, 'k': k, 'h': h, 's': s} for i, k, h, s in refs],
            )


def downgrade():
    # The GIN options apply on PostgreSQL; SQLite gets plain indexes, as in 0002.
    op.create_index(
        'ix_xapi_statements_agent_keys',
        'xapi_statements',
        ['agent_keys'],
        unique=False,
        postgresql_using='gin',
        postgresql_ops={'agent_keys': 'jsonb_path_ops'},
    )
    op.create_index(
        'ix_xapi_statements_activity_ids',
        'xapi_statements',
        ['activity_ids'],
        unique=False,
        postgresql_using='gin',
        postgresql_ops={'activity_ids': 'jsonb_path_ops'},
    )
    op.drop_table('xapi_statement_refs')
