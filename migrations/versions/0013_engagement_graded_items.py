"""engagement: graded items (assignments, graded quizzes) with due dates from teachers or the LMS

Revision ID: 0013_engagement_graded_items
Revises: 0012_xapi_documents
Create Date: 2026-11-25 02:10:00

"""
from alembic import op
import sqlalchemy as sa

import masteryai_lti.core.types

# revision identifiers, used by Alembic.
revision = '0013_engagement_graded_items'
down_revision = '0012_xapi_documents'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'engagement_graded_items',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('object_id', sa.String(length=512), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('due_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('title', sa.String(length=255), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('updated_at', masteryai_lti.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['course_id'],
            ['courses.id'],
            name=op.f('fk_engagement_graded_items_course_id_courses'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['institution_id'],
            ['institutions.id'],
            name=op.f('fk_engagement_graded_items_institution_id_institutions'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_graded_items')),
        sa.UniqueConstraint(
            'course_id',
            'object_id',
            'kind',
            name=op.f('uq_engagement_graded_items_course_id_object_id_kind'),
        ),
    )


def downgrade():
    op.drop_table('engagement_graded_items')
