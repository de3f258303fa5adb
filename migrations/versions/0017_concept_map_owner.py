"""mastery: a concept graph belongs to the course it was made for

Revision ID: 0017_concept_map_owner
Revises: 0016_engagement_flagged_since
Create Date: 2026-12-09 10:00:00

Any teacher of the institution could make their course use another course's graph and
then change that graph and read its answers. The owning course's teachers (and admins)
now manage it; other courses using it only read it. Existing graphs get the owner the
data shows: the one course using it, else the course using it whose title the graph was
named after (a new graph takes its course's title). A graph used by several courses with
no such title has no owner the data can tell: it stays NULL and only admins change it,
rather than guess an owner and hand it to the wrong teacher.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_concept_map_owner"
down_revision = "0016_engagement_flagged_since"
branch_labels = None
depends_on = None


def upgrade():
    # On SQLite this rebuilds the table; migrations/env.py turns foreign key
    # enforcement off for the run, so the rebuild does not cascade to what refers to it.
    with op.batch_alter_table("mastery_concept_maps") as batch_op:
        batch_op.add_column(sa.Column("owner_course_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_mastery_concept_maps_owner_course_id", ["owner_course_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_mastery_concept_maps_owner_course_id_courses",
            "courses",
            ["owner_course_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Plain SQL both databases run: correlated subqueries, no UPDATE ... FROM.
    op.execute(
        """
        UPDATE mastery_concept_maps SET owner_course_id = (
            SELECT MIN(l.course_id) FROM mastery_course_maps l
            WHERE l.concept_map_id = mastery_concept_maps.id
        )
        WHERE (
            SELECT COUNT(*) FROM mastery_course_maps l
            WHERE l.concept_map_id = mastery_concept_maps.id
        ) = 1
        """
    )
    op.execute(
        """
        UPDATE mastery_concept_maps SET owner_course_id = (
            SELECT MIN(l.course_id) FROM mastery_course_maps l
            JOIN courses c ON c.id = l.course_id
            WHERE l.concept_map_id = mastery_concept_maps.id AND c.title = mastery_concept_maps.name
        )
        WHERE owner_course_id IS NULL
        """
    )


def downgrade():
    with op.batch_alter_table("mastery_concept_maps") as batch_op:
        batch_op.drop_constraint(
            "fk_mastery_concept_maps_owner_course_id_courses", type_="foreignkey"
        )
        batch_op.drop_index("ix_mastery_concept_maps_owner_course_id")
        batch_op.drop_column("owner_course_id")
