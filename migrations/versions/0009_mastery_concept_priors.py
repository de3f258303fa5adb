"""mastery: concept priors (where students start, learned from first attempts)

Revision ID: 0009_mastery_concept_priors
Revises: 0008_engagement_rollup
Create Date: 2026-11-24 19:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009_mastery_concept_priors'
down_revision = '0008_engagement_rollup'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mastery_concepts', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'prior',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=True,
            )
        )


def downgrade():
    with op.batch_alter_table('mastery_concepts', schema=None) as batch_op:
        batch_op.drop_column('prior')
