"""Students choosing their own group: joining one with room, and leaving it.

Where the teacher allows it (the project's ``group_sign_up``) and while the project is
open, a student of the course in no group of the project joins a group with room, up to
the project's ``max_group_size`` (or the 30 members of any group), and may leave it
again. The teacher still makes the groups (possibly empty) and may place anyone, beyond
that size too; teachers use the group endpoints, not these.

Joining takes the project's row exclusively: two students taking a group's last place
at the same moment would otherwise both count the room before either is written, and
the group would end up over its size (the unique key stops only a student in two groups).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from masteryai_lti.core.errors import Conflict, Forbidden, NotFound, field_error
from masteryai_lti.core.policy import Actor
from masteryai_lti.extensions import db
from masteryai_lti.pbl.models import GroupMember, Project, ProjectGroup
from masteryai_lti.pbl.service import access
from masteryai_lti.pbl.service.groups import GroupView, capacity, group_views, remove_members


def _student_in_project(actor: Actor, course_id: int, project_id: int):
    """The course and project of a student of the course; a teacher is refused.

    A student whose enrolment ended no longer reaches the course (404), as everywhere:
    only the course's students (the LMS's test student too) get this far.
    """
    reach = access.in_project(actor, course_id, project_id)
    if reach.teaches:
        raise Forbidden(
            "Teachers place students in groups by changing the group's members, "
            "not by joining or leaving it."
        )
    return reach.course, reach.project


def _sign_up_allowed(project: Project, doing: str) -> None:
    if project.status != "open":
        raise Conflict(
            f"This project is not open, so nobody {doing} its groups now: "
            "its groups keep their members."
        )
    if not project.group_sign_up:
        raise Conflict(
            f"The teacher forms the groups of this project: students do not {doing} them "
            "themselves. Ask your teacher to place you."
        )


def check_room(project: Project, group: ProjectGroup) -> None:
    """Refuse a group with no place left for one more student signing up."""
    taken = len(access.member_ids(group.id))
    if taken >= capacity(project):
        raise Conflict(
            "This group is full: choose another group with room.",
            errors=[
                field_error(
                    "group_id", f"Full: {taken} of {capacity(project)} places taken.", "path"
                )
            ],
        )


def join_group(actor: Actor, course_id: int, project_id: int, group_id: int) -> GroupView:
    """The acting student joins a group with room (where the project lets students
    choose their group, while it is open). Joining their own group again changes
    nothing."""
    course, project = _student_in_project(actor, course_id, project_id)
    project = access.hold(project, exclusive=True)
    group = access.group(project, group_id)
    _sign_up_allowed(project, "joins")
    own = access.group_of_student(project.id, actor.user_id)
    if own is not None and own.id == group.id:
        return group_views(project, [group])[0]
    if own is not None:
        raise Conflict(
            "A student works in one group per project: leave your group first.",
            errors=[field_error("group_id", f"You are already in the group {own.name!r}.", "path")],
        )
    check_room(project, group)
    db.session.add(
        GroupMember(
            institution_id=project.institution_id,
            project_id=project.id,
            group_id=group.id,
            user_id=actor.user_id,
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        # A teacher placed them at the same moment (teachers do not take the lock).
        db.session.rollback()
        raise Conflict("You were just placed in a group of this project.") from None
    # A member now: their own group, without asking for their reach again.
    return group_views(project, [group])[0]


def leave_group(actor: Actor, course_id: int, project_id: int, group_id: int) -> None:
    """The acting student leaves their group (where the project lets students choose
    their group, while it is open), taking the peer ratings they gave and received in
    it, as when a teacher takes a member out."""
    _, project = _student_in_project(actor, course_id, project_id)
    # Shared, as for a rating: closing the project waits, so a leave checked against an
    # open project never moves a closed one's scores.
    project = access.hold(project)
    group = access.group(project, group_id)
    if actor.user_id not in access.member_ids(group.id):
        raise NotFound("You are not in this group.")
    _sign_up_allowed(project, "leaves")
    remove_members(group, [actor.user_id])
    db.session.commit()
