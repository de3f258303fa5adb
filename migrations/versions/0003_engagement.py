"""engagement: events, attendance, settings, snapshots

Revision ID: 0003_engagement
Revises: 0002_xapi
Create Date: 2026-11-24 19:02:24.667457

"""
from alembic import op
import sqlalchemy as sa

import masteryai_lti.core.types
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0003_engagement'
down_revision = '0002_xapi'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attendance_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('session_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_attendance_records_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_attendance_records_institution_id_institutions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_attendance_records_recorded_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attendance_records_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_records')),
    sa.UniqueConstraint('course_id', 'user_id', 'session_date', name=op.f('uq_attendance_records_course_id_user_id_session_date'))
    )
    op.create_table('engagement_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=False),
    sa.Column('due_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('object_id', sa.String(length=512), nullable=True),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_engagement_events_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_engagement_events_institution_id_institutions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_engagement_events_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_events')),
    sa.UniqueConstraint('institution_id', 'source', 'source_id', name=op.f('uq_engagement_events_institution_id_source_source_id'))
    )
    with op.batch_alter_table('engagement_events', schema=None) as batch_op:
        batch_op.create_index('ix_engagement_events_course_day', ['course_id', 'day'], unique=False)
        batch_op.create_index('ix_engagement_events_course_user_day', ['course_id', 'user_id', 'day'], unique=False)

    op.create_table('engagement_settings',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('weights', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('flag_at', sa.Float(), nullable=False),
    sa.Column('clear_below', sa.Float(), nullable=False),
    sa.Column('updated_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_engagement_settings_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_engagement_settings_institution_id_institutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', name=op.f('pk_engagement_settings'))
    )
    op.create_table('engagement_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('taken_on', sa.Date(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('band', sa.String(length=10), nullable=False),
    sa.Column('risk', sa.Float(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('factors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_engagement_snapshots_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_engagement_snapshots_institution_id_institutions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_engagement_snapshots_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_snapshots')),
    sa.UniqueConstraint('course_id', 'user_id', 'taken_on', name=op.f('uq_engagement_snapshots_course_id_user_id_taken_on'))
    )
    with op.batch_alter_table('engagement_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_engagement_snapshots_course_taken_on', ['course_id', 'taken_on'], unique=False)


def downgrade():
    with op.batch_alter_table('engagement_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_engagement_snapshots_course_taken_on')

    op.drop_table('engagement_snapshots')
    op.drop_table('engagement_settings')
    with op.batch_alter_table('engagement_events', schema=None) as batch_op:
        batch_op.drop_index('ix_engagement_events_course_user_day')
        batch_op.drop_index('ix_engagement_events_course_day')

    op.drop_table('engagement_events')
    op.drop_table('attendance_records')
