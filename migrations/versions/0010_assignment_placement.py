"""mastery: an assignment remembers the LTI resource link it was opened from (grade passback)

Revision ID: 0010_assignment_placement
Revises: 0009_mastery_concept_priors
Create Date: 2026-11-24 21:05:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010_assignment_placement'
down_revision = '0009_mastery_concept_priors'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mastery_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resource_link_pk', sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_mastery_assignments_resource_link_pk'), ['resource_link_pk'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_mastery_assignments_resource_link_pk_lti_resource_links'),
            'lti_resource_links',
            ['resource_link_pk'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('mastery_assignments', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_mastery_assignments_resource_link_pk_lti_resource_links'),
            type_='foreignkey',
        )
        batch_op.drop_index(batch_op.f('ix_mastery_assignments_resource_link_pk'))
        batch_op.drop_column('resource_link_pk')
