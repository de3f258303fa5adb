"""engagement: per-day rollup of events and a partial index on graded work

Revision ID: 0008_engagement_rollup
Revises: 0006_lti_services
Create Date: 2026-11-24 19:40:00

The course view reads engagement_days (at most students x days rows) instead of
every event; the service keeps it in step with engagement_events in the same
transaction. Existing events are rolled up here.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008_engagement_rollup'
down_revision = '0006_lti_services'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('engagement_days',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('attendance', sa.Integer(), nullable=False),
    sa.Column('submission', sa.Integer(), nullable=False),
    sa.Column('quiz', sa.Integer(), nullable=False),
    sa.Column('interaction', sa.Integer(), nullable=False),
    sa.Column('resource_view', sa.Integer(), nullable=False),
    sa.Column('launch', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_engagement_days_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_engagement_days_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_days')),
    sa.UniqueConstraint('course_id', 'user_id', 'day', name=op.f('uq_engagement_days_course_id_user_id_day'))
    )
    with op.batch_alter_table('engagement_events', schema=None) as batch_op:
        batch_op.create_index('ix_engagement_events_graded', ['course_id', 'user_id', 'object_id'], unique=False, postgresql_where=sa.text('due_at IS NOT NULL'), sqlite_where=sa.text('due_at IS NOT NULL'))
    op.execute(
        """
        INSERT INTO engagement_days
          (course_id, user_id, day, attendance, submission, quiz, interaction, resource_view, launch)
        SELECT course_id, user_id, day,
               SUM(CASE WHEN kind = 'attendance' THEN 1 ELSE 0 END),
               SUM(CASE WHEN kind = 'submission' OR (kind = 'quiz' AND due_at IS NOT NULL)
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN kind = 'quiz' AND due_at IS NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN kind = 'interaction' THEN 1 ELSE 0 END),
               SUM(CASE WHEN kind = 'resource_view' THEN 1 ELSE 0 END),
               SUM(CASE WHEN kind = 'launch' THEN 1 ELSE 0 END)
        FROM engagement_events GROUP BY course_id, user_id, day
        """
    )


def downgrade():
    with op.batch_alter_table('engagement_events', schema=None) as batch_op:
        batch_op.drop_index('ix_engagement_events_graded', postgresql_where=sa.text('due_at IS NOT NULL'), sqlite_where=sa.text('due_at IS NOT NULL'))
    op.drop_table('engagement_days')
