"""xapi: State, Activity Profile and Agent Profile documents

Revision ID: 0012_xapi_documents
Revises: 0011_xapi_statement_refs
Create Date: 2026-11-26 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import masteryai_lti.core.types

# revision identifiers, used by Alembic.
revision = '0012_xapi_documents'
down_revision = '0011_xapi_statement_refs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'xapi_documents',
        sa.Column(
            'id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False
        ),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('activity_id', sa.Text(), nullable=True),
        sa.Column('agent_key', sa.Text(), nullable=True),
        sa.Column('registration', sa.Uuid(), nullable=True),
        sa.Column('document_id', sa.Text(), nullable=False),
        sa.Column('context_hash', sa.String(length=64), nullable=False),
        sa.Column('document_hash', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=255), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('etag', sa.String(length=40), nullable=False),
        sa.Column('updated', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('credential_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['credential_id'],
            ['xapi_credentials.id'],
            name=op.f('fk_xapi_documents_credential_id_xapi_credentials'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['institution_id'],
            ['institutions.id'],
            name=op.f('fk_xapi_documents_institution_id_institutions'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_documents')),
        sa.UniqueConstraint(
            'institution_id', 'document_hash', name=op.f('uq_xapi_documents_institution_id_document_hash')
        ),
    )
    op.create_index(
        'ix_xapi_documents_context',
        'xapi_documents',
        ['institution_id', 'context_hash', 'updated'],
        unique=False,
    )


def downgrade():
    op.drop_index('ix_xapi_documents_context', table_name='xapi_documents')
    op.drop_table('xapi_documents')
