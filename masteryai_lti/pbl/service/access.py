"""The course and project an actor works in, and who may do what there.

Teachers of the course (and the institution's admins) manage its projects; students
see a project once it is open and work in their own group only. A project of another
course, or a draft seen by a student, is absent (404), as every id outside the
actor's reach is.

A use case resolves the actor's reach once, with :func:`in_course` or :func:`in_project`,
and passes the answer along: asking the role again costs a query per question.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import select

from masteryai_lti.core.errors import Forbidden, NotFound, ValidationFailed
from masteryai_lti.core.policy import Actor, course_role
from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.pbl import scoring
from masteryai_lti.pbl.models import GroupMember, Project, ProjectGroup


@dataclass(frozen=True)
class Reach:
    """The course an actor works in, whether they teach it (its teachers and the
    institution's admins do), and the project of the request, if it names one."""

    course: Course
    teaches: bool
    project: Project | None = None


def in_course(actor: Actor, course_id: int, *, teach: bool = False) -> Reach:
    """The actor's reach in the course, from one read of the course and at most one of
    their role; with ``teach``, only for its teachers.

    Refuses as :func:`masteryai_lti.core.policy.ensure_can_teach` does: a course outside
    the actor's institution or enrolments is absent (404), one they only study in is
    forbidden to teach (403).
    """
    found = db.session.get(Course, course_id)
    if found is None or actor.institution_id is None:
        raise NotFound("No such course.")
    if found.institution_id != actor.institution_id:
        raise NotFound("No such course.")
    if actor.is_admin:
        return Reach(found, teaches=True)
    role = course_role(actor, found.id)
    if role is None:
        raise NotFound("No such course.")
    if teach and role != "teacher":
        raise Forbidden("Only the course's teachers may do this.")
    return Reach(found, teaches=role == "teacher")


def in_project(actor: Actor, course_id: int, project_id: int, *, teach: bool = False) -> Reach:
    """The actor's reach in the course and one of its projects; students never see a
    draft."""
    reach = in_course(actor, course_id, teach=teach)
    found = db.session.get(Project, project_id)
    if found is None or found.course_id != reach.course.id:
        raise NotFound("No such project in this course.")
    if found.status == "draft" and not reach.teaches:
        raise NotFound("No such project in this course.")
    return Reach(reach.course, reach.teaches, found)


def course(actor: Actor, course_id: int, *, teach: bool = False) -> Course:
    """The course within the actor's reach; with ``teach``, only for its teachers."""
    return in_course(actor, course_id, teach=teach).course


def project(
    actor: Actor, course_id: int, project_id: int, *, teach: bool = False
) -> tuple[Course, Project]:
    """The course and one of its projects; students never see a draft."""
    reach = in_project(actor, course_id, project_id, teach=teach)
    return reach.course, reach.project


def hold(project_row: Project, *, exclusive: bool = False) -> Project:
    """The project read afresh and locked until the transaction ends: shared by whoever
    rates against its rubric (ratings check it, then write), exclusive for whoever
    changes it. Without the lock a rubric change and a rating at the same moment both
    pass their checks, and the rating is stored against a rubric that is gone.
    (SQLite has no row locks; it is the single-user database.)"""
    return db.session.scalars(
        select(Project)
        .where(Project.id == project_row.id)
        .with_for_update(read=not exclusive)
        .execution_options(populate_existing=True)
    ).one()


def group(project_row: Project, group_id: int) -> ProjectGroup:
    """A group of the project, else NotFound."""
    found = db.session.get(ProjectGroup, group_id)
    if found is None or found.project_id != project_row.id:
        raise NotFound("No such group in this project.")
    return found


def group_of_student(project_id: int, user_id: int) -> ProjectGroup | None:
    """The group a student works in on a project, or None."""
    return db.session.scalar(
        select(ProjectGroup)
        .join(GroupMember, GroupMember.group_id == ProjectGroup.id)
        .where(GroupMember.project_id == project_id, GroupMember.user_id == user_id)
    )


def member_ids(group_id: int) -> list[int]:
    """The members of a group, by user id."""
    return list(
        db.session.scalars(
            select(GroupMember.user_id)
            .where(GroupMember.group_id == group_id)
            .order_by(GroupMember.user_id)
        )
    )


def rubric_of(project_row: Project) -> scoring.Rubric:
    """The project's rubric (stored valid: it was parsed before it was written)."""
    return scoring.parse_rubric(project_row.rubric)


def rubric_scorer(project_row: Project) -> Callable[[Mapping], float]:
    """The rubric score (0..100) of ratings under the project's rubric.

    Each distinct rating is scored once: a rubric allows few (64 with the default one)
    and scoring is exact arithmetic, while a large course has thousands of ratings.
    """
    rubric = rubric_of(project_row)
    scored: dict[tuple, float] = {}

    def score(ratings: Mapping) -> float:
        key = tuple(sorted(ratings.items()))
        if key not in scored:
            scored[key] = scoring.rubric_score(rubric, ratings).score
        return scored[key]

    return score


def settings_of(project_row: Project) -> scoring.ModerationSettings:
    """How peer ratings moderate the project's group scores."""
    return scoring.ModerationSettings(
        peer_weight=project_row.peer_weight,
        self_assessment=project_row.self_assessment,
        non_submission_penalty=project_row.non_submission_penalty,
    )


def validation_failed(error: scoring.RubricError, prefix: str, detail: str) -> ValidationFailed:
    """The engine's list of problems as a 422, each path under ``prefix``."""
    errors = [
        {
            "path": f"{prefix}.{e['path']}" if prefix else e["path"],
            "location": "json",
            "message": e["message"],
        }
        for e in error.errors
    ]
    return ValidationFailed(detail, errors=errors)
