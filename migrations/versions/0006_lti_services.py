"""lti services: score outbox and graded line items

The durable outbox of AGS score posts (pending/sent/failed with reason, retry
schedule) and the line items the tool found or created for graded links.

Revision ID: 0006_lti_services
Revises: 0005_lti_core
Create Date: 2026-11-24 19:24:10.071499

"""
from alembic import op
import sqlalchemy as sa

import masteryai_lti.core.types
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0006_lti_services'
down_revision = '0005_lti_core'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lti_graded_line_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('resource_link_pk', sa.Integer(), nullable=False),
    sa.Column('lineitem_url', sa.String(length=1024), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('score_maximum', sa.Double(), nullable=False),
    sa.Column('created_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_lti_graded_line_items_institution_id_institutions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_link_pk'], ['lti_resource_links.id'], name=op.f('fk_lti_graded_line_items_resource_link_pk_lti_resource_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_graded_line_items')),
    sa.UniqueConstraint('resource_link_pk', name=op.f('uq_lti_graded_line_items_resource_link_pk'))
    )
    with op.batch_alter_table('lti_graded_line_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_graded_line_items_institution_id'), ['institution_id'], unique=False)

    op.create_table('lti_score_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('resource_link_pk', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('lti_user_id', sa.String(length=255), nullable=False),
    sa.Column('lineitem_url', sa.String(length=1024), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('score_timestamp', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('created_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_lti_score_outbox_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_lti_score_outbox_institution_id_institutions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['lti_registrations.id'], name=op.f('fk_lti_score_outbox_registration_id_lti_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_link_pk'], ['lti_resource_links.id'], name=op.f('fk_lti_score_outbox_resource_link_pk_lti_resource_links'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_score_outbox_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_score_outbox'))
    )
    with op.batch_alter_table('lti_score_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_score_outbox_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_score_outbox_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_score_outbox_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index('ix_lti_score_outbox_resource_link_pk_lti_user_id', ['resource_link_pk', 'lti_user_id'], unique=False)
        batch_op.create_index('ix_lti_score_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)



def downgrade():
    with op.batch_alter_table('lti_score_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_lti_score_outbox_status_next_attempt_at')
        batch_op.drop_index('ix_lti_score_outbox_resource_link_pk_lti_user_id')
        batch_op.drop_index(batch_op.f('ix_lti_score_outbox_registration_id'))
        batch_op.drop_index(batch_op.f('ix_lti_score_outbox_institution_id'))
        batch_op.drop_index(batch_op.f('ix_lti_score_outbox_course_id'))

    op.drop_table('lti_score_outbox')
    with op.batch_alter_table('lti_graded_line_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_graded_line_items_institution_id'))

    op.drop_table('lti_graded_line_items')
