"""pbl: students sign up for a group themselves, where the project allows it

A project may let its students join a group with room (and leave it) while it is open,
up to a number of members the teacher sets.

Revision ID: 0023_pbl_group_sign_up
Revises: 0022_line_item_updates
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_pbl_group_sign_up'
down_revision = '0022_line_item_updates'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pbl_projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_sign_up', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('max_group_size', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('pbl_projects', schema=None) as batch_op:
        batch_op.drop_column('max_group_size')
        batch_op.drop_column('group_sign_up')
