"""engagement: the day a student's flag went up, carried in each daily snapshot

Revision ID: 0016_engagement_flagged_since
Revises: 0015_cache_generation
Create Date: 2026-12-07 11:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0016_engagement_flagged_since'
down_revision = '0015_cache_generation'
branch_labels = None
depends_on = None


def upgrade():
    # Existing flagged snapshots stay NULL: readers take such a flag as up since that day.
    with op.batch_alter_table('engagement_snapshots') as batch_op:
        batch_op.add_column(sa.Column('flagged_since', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('engagement_snapshots') as batch_op:
        batch_op.drop_column('flagged_since')
