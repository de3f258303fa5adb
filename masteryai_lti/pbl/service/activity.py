"""Project work as engagement signals.

A project open to students with a due date is graded work of its course for the
engagement index: evidence handed in by any member is the group's submission, on time
or late against that date, and a group with none by then has missing work (as a group
assignment in an LMS is handed in once for all its members). Adding evidence and rating
a teammate are also interaction, for whoever did it.
"""

from __future__ import annotations

from masteryai_lti.core.clock import utcnow
from masteryai_lti.courses.models import Course
from masteryai_lti.engagement import graded_items
from masteryai_lti.engagement import service as engagement
from masteryai_lti.pbl.models import Project

SOURCE = "pbl"


def project_object_id(project_id: int) -> str:
    """What the engagement events and graded item of a project are about."""
    return f"pbl-project:{project_id}"


def keep_due_item(course: Course, project: Project, *, deleted: bool = False) -> None:
    """Declare (or withdraw) the project as graded work of the course, in the caller's
    transaction: due when the project is, while students can see it."""
    due = None if deleted or project.status == "draft" else project.due_at
    graded_items.keep_feature_item(
        course, project_object_id(project.id), due, project.title, SOURCE
    )


def note_handed_in(course: Course, project: Project, member_ids: list[int]) -> None:
    """The group has handed work in: a submission for each member (once per project).
    Joins the caller's transaction."""
    now = utcnow()
    engagement.record_events(
        course.institution_id,
        [
            {
                "user_id": member,
                "course_id": course.id,
                "kind": "submission",
                "occurred_at": now,
                "source": SOURCE,
                "source_id": f"handed-in:{project.id}:{member}",
                "object_id": project_object_id(project.id),
            }
            for member in member_ids
        ],
        commit=False,
    )


def note_project_work(institution_id: int, course_id: int, user_id: int, source_id: str) -> None:
    """A student's project work (evidence, a peer rating) counts as interaction in the
    engagement index: it is work done with others. Once per ``source_id``. Joins the
    caller's transaction."""
    engagement.record_events(
        institution_id,
        [
            {
                "user_id": user_id,
                "course_id": course_id,
                "kind": "interaction",
                "occurred_at": utcnow(),
                "source": SOURCE,
                "source_id": source_id,
            }
        ],
        commit=False,
    )
