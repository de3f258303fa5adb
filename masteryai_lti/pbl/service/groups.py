"""A project's groups and who is in them.

A member whose enrolment in the course ended (the LMS roster says they left, or a
teacher removed them) stays in their group, so that the teacher still sees who did the
work, but is marked as having left: they are left out of peer moderation, as rater and
as ratee, and get no score, while they are away (``scores``). Nothing is deleted: a
student who comes back counts again with the ratings stored. It is read from the
enrolments each time, never stored here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from masteryai_lti.core.errors import Conflict, NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor
from masteryai_lti.courses import service as courses
from masteryai_lti.extensions import db
from masteryai_lti.pbl.models import GroupMember, PeerEvaluation, Project, ProjectGroup
from masteryai_lti.pbl.service import access

# Peer moderation needs a handful of raters; a "group" of a whole class is a mistake.
MAX_GROUP_SIZE = 30


def still_in_course(course_id: int, user_ids: Iterable[int]) -> set[int]:
    """Which of these users are students of the course now (the LMS's test student too).

    The others left it: their enrolment is inactive, or they were never enrolled.
    """
    return courses.students_among(course_id, user_ids)


@dataclass(frozen=True)
class GroupView:
    """A group with its members (ids in order, and their names), and which of them
    have left the course."""

    id: int
    project_id: int
    name: str
    member_ids: list[int]
    member_names: dict[int, str]
    left_ids: frozenset[int] = frozenset()
    # Places left for students signing up themselves (up to ``capacity``).
    room: int = 0

    @property
    def members(self) -> list[dict]:
        """Members as ``{"user_id", "name", "left_course"}``, in id order."""
        return [
            {
                "user_id": m,
                "name": self.member_names.get(m, ""),
                "left_course": m in self.left_ids,
            }
            for m in self.member_ids
        ]


def capacity(project: Project) -> int:
    """How many members a group may reach by students signing up to it."""
    return project.max_group_size or MAX_GROUP_SIZE


def sign_up_open(project: Project) -> bool:
    """Whether the project's students may join and leave groups themselves now: the
    teacher allows it and the project is open (students do not see a draft; a closed
    project's groups keep their members)."""
    return project.group_sign_up and project.status == "open"


def group_views(project: Project, groups: list[ProjectGroup]) -> list[GroupView]:
    """The groups with their members, names, who left the course and room left, read
    for all of them at once."""
    if not groups:
        return []
    rows = db.session.execute(
        select(GroupMember.group_id, GroupMember.user_id)
        .where(GroupMember.group_id.in_([g.id for g in groups]))
        .order_by(GroupMember.user_id)
    ).all()
    by_group: dict[int, list[int]] = {g.id: [] for g in groups}
    for group_id, user_id in rows:
        by_group[group_id].append(user_id)
    everyone = [u for _, u in rows]
    names = courses.full_names(everyone)
    left = frozenset(everyone) - still_in_course(project.course_id, everyone)
    return [
        GroupView(
            g.id,
            g.project_id,
            g.name,
            by_group[g.id],
            {u: names.get(u, "") for u in by_group[g.id]},
            left & set(by_group[g.id]),
            # A member who left the course still holds their place: the teacher frees it.
            max(0, capacity(project) - len(by_group[g.id])),
        )
        for g in groups
    ]


def project_groups(project: Project) -> list[ProjectGroup]:
    """The project's groups by name."""
    return list(
        db.session.scalars(
            select(ProjectGroup)
            .where(ProjectGroup.project_id == project.id)
            .order_by(ProjectGroup.name, ProjectGroup.id)
        )
    )


def list_groups(actor: Actor, course_id: int, project_id: int) -> list[GroupView]:
    """The project's groups; a student sees only their own, or, in no group while they
    may sign up to one, every group to choose from."""
    reach = access.in_project(actor, course_id, project_id)
    project = reach.project
    if reach.teaches:
        return group_views(project, project_groups(project))
    own = access.group_of_student(project.id, actor.user_id)
    if own is not None:
        return group_views(project, [own])
    return group_views(project, project_groups(project)) if sign_up_open(project) else []


def get_group(actor: Actor, course_id: int, project_id: int, group_id: int) -> GroupView:
    """One group; a student may read only their own."""
    reach = access.in_project(actor, course_id, project_id)
    project = reach.project
    group = access.group(project, group_id)
    if not reach.teaches and actor.user_id not in access.member_ids(group.id):
        raise NotFound("No such group in this project.")
    return group_views(project, [group])[0]


def _checked_members(
    project: Project, member_ids: list[int], group_id: int | None, staying: set[int]
) -> list[int]:
    """Distinct members, each a student of the course and in no other group of the project.

    A member of the group who has since left the course may stay in it (taking them
    out would take their ratings along); a student who left cannot join a group.
    ``staying``: the group's members now (none for a new group).
    """
    # The length first, and the students in one query: checking each id of a long list
    # on its own would cost a query per id before refusing the list for its length.
    if len(member_ids) > MAX_GROUP_SIZE:
        raise ValidationFailed(
            "Some members cannot be in this group.",
            errors=[field_error("member_ids", f"At most {MAX_GROUP_SIZE} members.")],
        )
    students = courses.students_among(project.course_id, member_ids)
    errors = []
    seen: set[int] = set()
    for i, user_id in enumerate(member_ids):
        if user_id in seen:
            errors.append(field_error(f"member_ids[{i}]", "Listed twice."))
        elif user_id not in students and user_id not in staying:
            errors.append(
                field_error(
                    f"member_ids[{i}]",
                    "Not a student of this course: never enrolled, or has left it.",
                )
            )
        seen.add(user_id)
    if errors:
        raise ValidationFailed("Some members cannot be in this group.", errors=errors)
    taken = dict(
        db.session.execute(
            select(GroupMember.user_id, ProjectGroup.name)
            .join(ProjectGroup, ProjectGroup.id == GroupMember.group_id)
            .where(
                GroupMember.project_id == project.id,
                GroupMember.user_id.in_(seen),
                GroupMember.group_id != (group_id or 0),
            )
        ).all()
    )
    if taken:
        raise Conflict(
            "A student works in one group per project; remove them from their group first.",
            errors=[
                field_error(f"member_ids[{i}]", f"Already in the group {taken[u]!r}.")
                for i, u in enumerate(member_ids)
                if u in taken
            ],
        )
    return list(dict.fromkeys(member_ids))


def _name_taken(project: Project, name: str, group_id: int | None) -> None:
    clash = db.session.scalar(
        select(ProjectGroup.id).where(
            ProjectGroup.project_id == project.id,
            ProjectGroup.name == name,
            ProjectGroup.id != (group_id or 0),
        )
    )
    if clash is not None:
        raise Conflict(
            "Another group of this project has that name.",
            errors=[field_error("name", "Taken by another group of this project.")],
        )


def _members_may_change(project: Project) -> None:
    """Refuse to change who is in a closed project's groups.

    Closing freezes the peer ratings behind the scores (students can no longer rate);
    a member who left would take their ratings along and one who joined could never
    rate, so would lose the non-rating penalty: the scores would move after the fact.
    """
    if project.status == "closed":
        raise Conflict(
            "This project is closed: who is in its groups stays as it was. Reopen the "
            "project to change a group's members; they can then rate each other.",
            errors=[field_error("member_ids", "The project is closed.")],
        )


def _add_members(project: Project, group: ProjectGroup, user_ids: list[int]) -> None:
    db.session.add_all(
        GroupMember(
            institution_id=project.institution_id,
            project_id=project.id,
            group_id=group.id,
            user_id=u,
        )
        for u in user_ids
    )


def remove_members(group: ProjectGroup, leaving: Iterable[int]) -> None:
    """Take these members out of the group (uncommitted), with the peer ratings they
    gave and received in it: those compared them with teammates they no longer have."""
    leaving = set(leaving)
    if not leaving:
        return
    db.session.execute(
        delete(GroupMember).where(
            GroupMember.group_id == group.id, GroupMember.user_id.in_(leaving)
        )
    )
    db.session.execute(
        delete(PeerEvaluation).where(
            PeerEvaluation.group_id == group.id,
            or_(PeerEvaluation.rater_id.in_(leaving), PeerEvaluation.ratee_id.in_(leaving)),
        )
    )


def _commit_or_conflict(detail: str) -> None:
    # Two teachers placing the same student at the same moment: the unique keys decide.
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(detail) from None


def create_group(
    actor: Actor, course_id: int, project_id: int, *, name: str, member_ids: list[int]
) -> GroupView:
    """A new group of the project with these students."""
    _, project = access.project(actor, course_id, project_id, teach=True)
    # Shared, as for a deletion: closing waits, so members checked against an open
    # project are never added to a closed (perhaps released) one.
    project = access.hold(project)
    if member_ids:
        _members_may_change(project)
    members = _checked_members(project, member_ids, None, set())
    _name_taken(project, name, None)
    group = ProjectGroup(institution_id=project.institution_id, project_id=project.id, name=name)
    db.session.add(group)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("A group of that name was just made.") from None
    _add_members(project, group, members)
    _commit_or_conflict("A group of that name exists, or a student was just placed elsewhere.")
    return group_views(project, [group])[0]


def update_group(
    actor: Actor,
    course_id: int,
    project_id: int,
    group_id: int,
    *,
    name: str | None = None,
    member_ids: list[int] | None = None,
) -> GroupView:
    """Rename a group or set its members.

    A member who leaves takes the peer ratings they gave and received in the group
    with them: those ratings compared them with teammates they no longer have. The
    members of a closed project's group do not change (see ``_members_may_change``).
    """
    _, project = access.project(actor, course_id, project_id, teach=True)
    project = access.hold(project)  # as in create_group
    group = access.group(project, group_id)
    if name is not None:
        _name_taken(project, name, group.id)
        group.name = name
    if member_ids is not None:
        current = set(access.member_ids(group.id))
        if set(member_ids) != current:
            _members_may_change(project)
        members = _checked_members(project, member_ids, group.id, current)
        remove_members(group, current - set(members))
        _add_members(project, group, [u for u in members if u not in current])
    _commit_or_conflict("A group of that name exists, or a student was just placed elsewhere.")
    return group_views(project, [group])[0]


def delete_group(actor: Actor, course_id: int, project_id: int, group_id: int) -> None:
    """Delete a group with its evaluations, peer ratings and evidence.

    Not a closed project's group with members: its members' scores (perhaps already in
    the gradebook) would go with it, as when they leave it (``_members_may_change``).
    An empty group holds no one's score and may go.
    """
    _, project = access.project(actor, course_id, project_id, teach=True)
    # Shared, as for a rating: closing (and then releasing) waits, so a deletion
    # checked against an open project never takes scores from a closed one.
    project = access.hold(project)
    group = access.group(project, group_id)
    if project.status == "closed" and access.member_ids(group.id):
        raise Conflict(
            "This project is closed: its groups keep their members, and deleting this "
            "group would take its members' scores (perhaps already released) with it. "
            "Reopen the project to delete the group.",
            errors=[
                field_error("group_id", "The project is closed and the group has members.", "path")
            ],
        )
    db.session.delete(group)
    db.session.commit()
