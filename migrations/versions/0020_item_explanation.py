"""mastery: items carry the teacher's explanation, shown after the student answers

A right/wrong verdict alone teaches little; the explanation is what the student reads
next. Nullable: existing items have none and the player shows only the verdict.

Revision ID: 0020_item_explanation
Revises: 0019_enrollment_test_user
Create Date: 2026-12-07 18:00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_item_explanation"
down_revision = "0019_enrollment_test_user"
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column needs no table rebuild on SQLite.
    op.add_column("mastery_items", sa.Column("explanation", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("mastery_items") as batch_op:
        batch_op.drop_column("explanation")
