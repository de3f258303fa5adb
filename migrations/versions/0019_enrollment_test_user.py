"""courses: mark the LMS's test students (Canvas Student View) on their enrollment

A teacher who opens the course in Canvas's Student View launches as a test student
(LTI role …/lti/system/person#TestUser next to Learner). That user must see what a
student sees, but is no student of the class: it must not sit in the class table,
the at-risk list or the course medians. Enrollments get a ``test_user`` flag; the
ones already made for such launches are found from the stored launch claims.

Revision ID: 0019_enrollment_test_user
Revises: 0018_xapi_group_member_marks
Create Date: 2026-12-07 15:00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_enrollment_test_user"
down_revision = "0018_xapi_group_member_marks"
branch_labels = None
depends_on = None


def upgrade():
    # On SQLite this rebuilds the table; migrations/env.py turns foreign key
    # enforcement off for the run, so the rebuild does not cascade.
    with op.batch_alter_table("enrollments") as batch_op:
        batch_op.add_column(
            sa.Column("test_user", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # The claims column is JSON on PostgreSQL and text on SQLite; both compare as text.
    op.execute(
        """
        UPDATE enrollments SET test_user = TRUE
        WHERE EXISTS (
            SELECT 1 FROM lti_launches l
            WHERE l.user_id = enrollments.user_id AND l.course_id = enrollments.course_id
              AND CAST(l.claims AS TEXT) LIKE '%/lti/system/person#TestUser%'
        )
        """
    )


def downgrade():
    with op.batch_alter_table("enrollments") as batch_op:
        batch_op.drop_column("test_user")
