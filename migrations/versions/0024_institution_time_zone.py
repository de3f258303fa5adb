"""identity: an institution's time zone, in which engagement counts its days

A school in New York studying in the evening crossed midnight UTC: two active days,
the next day's submission, "today" flipping at 19:00. Existing institutions keep UTC,
which is what they were counted in.

Revision ID: 0024_institution_time_zone
Revises: 0023_pbl_group_sign_up
Create Date: 2026-12-09 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_institution_time_zone'
down_revision = '0023_pbl_group_sign_up'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))


def downgrade():
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
