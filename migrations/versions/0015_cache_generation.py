"""core: the cache's generation, so that a delete Redis missed cannot be served again

Revision ID: 0015_cache_generation
Revises: 0014_engagement_outcome_rate
Create Date: 2026-12-07 11:05:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0015_cache_generation'
down_revision = '0014_engagement_outcome_rate'
branch_labels = None
depends_on = None


def upgrade():
    # No row yet: the first generation is "", the keys Redis already holds.
    op.create_table(
        'cache_generation',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cache_generation')),
    )


def downgrade():
    op.drop_table('cache_generation')
