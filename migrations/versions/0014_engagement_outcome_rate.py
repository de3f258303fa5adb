"""engagement: a course's usual share of students who fail or withdraw, for calibrated risk

Revision ID: 0014_engagement_outcome_rate
Revises: 0013_engagement_graded_items
Create Date: 2026-12-07 10:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014_engagement_outcome_rate'
down_revision = '0013_engagement_graded_items'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('engagement_settings') as batch_op:
        batch_op.add_column(sa.Column('outcome_rate', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('engagement_settings') as batch_op:
        batch_op.drop_column('outcome_rate')
