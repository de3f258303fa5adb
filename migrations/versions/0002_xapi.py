"""xapi: statements, attachments, credentials, engagement rules, pull state

Revision ID: 0002_xapi
Revises: 0001_foundation
Create Date: 2026-11-24 18:59:00.344257

"""
from alembic import op
import sqlalchemy as sa

import masteryai_lti.core.types
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002_xapi'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('xapi_credentials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('secret_digest', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_xapi_credentials_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_xapi_credentials_institution_id_institutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_credentials')),
    sa.UniqueConstraint('key', name=op.f('uq_xapi_credentials_key'))
    )
    with op.batch_alter_table('xapi_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_xapi_credentials_institution_id'), ['institution_id'], unique=False)
    op.create_table('xapi_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('sha2', sa.String(length=128), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_xapi_attachments_institution_id_institutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_attachments')),
    sa.UniqueConstraint('institution_id', 'sha2', name=op.f('uq_xapi_attachments_institution_id_sha2'))
    )
    op.create_table('xapi_engagement_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('verb_id', sa.String(length=512), nullable=True),
    sa.Column('activity_type', sa.String(length=512), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('created_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_xapi_engagement_rules_institution_id_institutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_engagement_rules')),
    sa.UniqueConstraint('institution_id', 'verb_id', 'activity_type', name=op.f('uq_xapi_engagement_rules_institution_id_verb_id_activity_type'))
    )
    with op.batch_alter_table('xapi_engagement_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_xapi_engagement_rules_institution_id'), ['institution_id'], unique=False)
    op.create_table('xapi_pull_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('next_url', sa.Text(), nullable=True),
    sa.Column('last_stored', sa.String(length=40), nullable=True),
    sa.Column('pulled', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_xapi_pull_states_institution_id_institutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_pull_states')),
    sa.UniqueConstraint('institution_id', 'source', name=op.f('uq_xapi_pull_states_institution_id_source'))
    )
    op.create_table('xapi_statements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Integer(), nullable=True),
    sa.Column('stored', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('timestamp', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor_key', sa.Text(), nullable=True),
    sa.Column('verb_id', sa.Text(), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_activity_id', sa.Text(), nullable=True),
    sa.Column('object_agent_key', sa.Text(), nullable=True),
    sa.Column('object_statement_id', sa.Uuid(), nullable=True),
    sa.Column('registration', sa.Uuid(), nullable=True),
    sa.Column('is_voiding', sa.Boolean(), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('agent_keys', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('activity_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('has_attachments', sa.Boolean(), nullable=False),
    sa.Column('statement', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('projection_state', sa.String(length=20), nullable=False),
    sa.Column('projected_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('projection_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['xapi_credentials.id'], name=op.f('fk_xapi_statements_credential_id_xapi_credentials'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_xapi_statements_institution_id_institutions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_xapi_statements_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_statements')),
    sa.UniqueConstraint('institution_id', 'statement_id', name=op.f('uq_xapi_statements_institution_id_statement_id'))
    )
    with op.batch_alter_table('xapi_statements', schema=None) as batch_op:
        batch_op.create_index('ix_xapi_statements_activity', ['institution_id', 'object_activity_id', 'stored'], unique=False)
        batch_op.create_index('ix_xapi_statements_activity_ids', ['activity_ids'], unique=False, postgresql_using='gin', postgresql_ops={'activity_ids': 'jsonb_path_ops'})
        batch_op.create_index('ix_xapi_statements_actor', ['institution_id', 'actor_key', 'stored'], unique=False)
        batch_op.create_index('ix_xapi_statements_agent_keys', ['agent_keys'], unique=False, postgresql_using='gin', postgresql_ops={'agent_keys': 'jsonb_path_ops'})
        batch_op.create_index('ix_xapi_statements_object_agent', ['institution_id', 'object_agent_key'], unique=False)
        batch_op.create_index('ix_xapi_statements_outbox', ['projection_state', 'id'], unique=False, postgresql_where=sa.text("projection_state = 'pending'"), sqlite_where=sa.text("projection_state = 'pending'"))
        batch_op.create_index('ix_xapi_statements_page', ['institution_id', 'stored', 'id'], unique=False)
        batch_op.create_index('ix_xapi_statements_registration', ['institution_id', 'registration'], unique=False)
        batch_op.create_index('ix_xapi_statements_target', ['institution_id', 'object_statement_id'], unique=False)
        batch_op.create_index('ix_xapi_statements_verb', ['institution_id', 'verb_id', 'stored'], unique=False)


def downgrade():
    with op.batch_alter_table('xapi_statements', schema=None) as batch_op:
        batch_op.drop_index('ix_xapi_statements_verb')
        batch_op.drop_index('ix_xapi_statements_target')
        batch_op.drop_index('ix_xapi_statements_registration')
        batch_op.drop_index('ix_xapi_statements_page')
        batch_op.drop_index('ix_xapi_statements_outbox', postgresql_where=sa.text("projection_state = 'pending'"), sqlite_where=sa.text("projection_state = 'pending'"))
        batch_op.drop_index('ix_xapi_statements_object_agent')
        batch_op.drop_index('ix_xapi_statements_agent_keys', postgresql_using='gin', postgresql_ops={'agent_keys': 'jsonb_path_ops'})
        batch_op.drop_index('ix_xapi_statements_actor')
        batch_op.drop_index('ix_xapi_statements_activity_ids', postgresql_using='gin', postgresql_ops={'activity_ids': 'jsonb_path_ops'})
        batch_op.drop_index('ix_xapi_statements_activity')
    op.drop_table('xapi_statements')
    op.drop_table('xapi_pull_states')
    with op.batch_alter_table('xapi_engagement_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_xapi_engagement_rules_institution_id'))
    op.drop_table('xapi_engagement_rules')
    op.drop_table('xapi_attachments')
    with op.batch_alter_table('xapi_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_xapi_credentials_institution_id'))
    op.drop_table('xapi_credentials')
