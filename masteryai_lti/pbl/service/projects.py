"""A course's projects: list, create, read, change and delete them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from blinker import Namespace
from sqlalchemy import func, select

from masteryai_lti.core.errors import Conflict, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor
from masteryai_lti.core.storable import LARGEST_INTEGER
from masteryai_lti.extensions import db
from masteryai_lti.pbl import scoring
from masteryai_lti.pbl.models import PROJECT_STATUSES, GroupEvaluation, PeerEvaluation, Project
from masteryai_lti.pbl.service import access, activity
from masteryai_lti.pbl.service.groups import MAX_GROUP_SIZE

# A group of one is no group to sign up for: peer moderation needs a teammate.
MIN_SIGN_UP_SIZE = 2

_signals = Namespace()
# Sent after a change is committed. sender: the project id; kwargs: course_id, changed
# (a frozenset of the names of the fields whose value changed). The LTI feature keeps
# the gradebook columns of the project's placements in step with its title and due date.
project_changed = _signals.signal("pbl.project-changed")

# Fields a teacher may change; anything else in ``changes`` is a programming error.
EDITABLE = frozenset(
    {
        "title",
        "description",
        "status",
        "rubric",
        "peer_weight",
        "self_assessment",
        "non_submission_penalty",
        "due_at",
        "group_sign_up",
        "max_group_size",
    }
)


def list_projects(actor: Actor, course_id: int) -> list[Project]:
    """The course's projects, newest first; students see open and closed ones only."""
    reach = access.in_course(actor, course_id)
    query = select(Project).where(Project.course_id == reach.course.id)
    if not reach.teaches:
        query = query.where(Project.status != "draft")
    return list(db.session.scalars(query.order_by(Project.id.desc())))


def course_projects(course_id: int) -> list[Project]:
    """Every project of a course, drafts included, newest first.

    For trusted callers that have already established a teacher of the course (the LTI
    deep-linking picker, reached only from a teacher's launch).
    """
    return list(
        db.session.scalars(
            select(Project).where(Project.course_id == course_id).order_by(Project.id.desc())
        )
    )


def find_project(project_id: int) -> Project | None:
    """A project by id, whatever its course, for trusted callers that check the course
    themselves (a launch of a placed project compares it with the launch's course).

    The id may come from outside (an LMS link's custom parameters): one no row can
    have finds nothing, rather than reaching SQLite, which cannot bind past 64 bits.
    """
    if not 0 < project_id <= LARGEST_INTEGER:
        return None
    return db.session.get(Project, project_id)


def get_project(actor: Actor, course_id: int, project_id: int) -> Project:
    """One project of the course."""
    return access.project(actor, course_id, project_id)[1]


def _checked_rubric(data: Any) -> dict:
    if data is None:
        return scoring.rubric_to_dict(scoring.default_rubric())
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The rubric is not valid.", errors=[field_error("rubric", "Expected an object.")]
        )
    try:
        return scoring.rubric_to_dict(scoring.parse_rubric(data))
    except scoring.RubricError as error:
        raise access.validation_failed(error, "rubric", "The rubric is not valid.") from None


def _check_moderation(values: dict) -> None:
    try:
        scoring.ModerationSettings(
            peer_weight=values["peer_weight"],
            self_assessment=values["self_assessment"],
            non_submission_penalty=values["non_submission_penalty"],
        )
    except scoring.RubricError as error:
        raise access.validation_failed(
            error, "", "The peer moderation settings are not valid."
        ) from None


def _check_due(due_at: datetime | None) -> None:
    # An offset can put a valid ISO 8601 date (year 1 at +14:00, year 9999 at -12:00)
    # outside the years a UTC timestamp column holds: converting it would overflow.
    if due_at is None:
        return
    try:
        due_at.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            "The due date is not a date the calendar holds.",
            errors=[field_error("due_at", "Falls outside years 1-9999 in UTC.")],
        ) from None


def _check_group_size(size: int | None) -> None:
    # bool is an int in Python: ``true`` is not a size.
    if size is None or (
        isinstance(size, int)
        and not isinstance(size, bool)
        and MIN_SIGN_UP_SIZE <= size <= MAX_GROUP_SIZE
    ):
        return
    raise ValidationFailed(
        "The largest group students may sign up to is not valid.",
        errors=[
            field_error(
                "max_group_size",
                f"A whole number from {MIN_SIGN_UP_SIZE} to {MAX_GROUP_SIZE}, or null for "
                f"no limit beyond the {MAX_GROUP_SIZE} members of any group.",
            )
        ],
    )


def _check_status(status: str) -> None:
    if status not in PROJECT_STATUSES:
        raise ValidationFailed(
            "Unknown project status.",
            errors=[field_error("status", f"One of {', '.join(PROJECT_STATUSES)}.")],
        )


def create_project(
    actor: Actor,
    course_id: int,
    *,
    title: str,
    description: str = "",
    rubric: dict | None = None,
    status: str = "draft",
    peer_weight: float = 0.5,
    self_assessment: bool = False,
    non_submission_penalty: float = 0.0,
    due_at: datetime | None = None,
    group_sign_up: bool = False,
    max_group_size: int | None = None,
) -> Project:
    """A new project of the course; without a rubric it gets the default one."""
    course = access.course(actor, course_id, teach=True)
    _check_status(status)
    _check_due(due_at)
    _check_group_size(max_group_size)
    values = {
        "peer_weight": peer_weight,
        "self_assessment": self_assessment,
        "non_submission_penalty": non_submission_penalty,
    }
    _check_moderation(values)
    project = Project(
        institution_id=course.institution_id,
        course_id=course.id,
        title=title,
        description=description,
        status=status,
        rubric=_checked_rubric(rubric),
        due_at=due_at,
        group_sign_up=group_sign_up,
        max_group_size=max_group_size,
        created_by=actor.user_id,
        **values,
    )
    db.session.add(project)
    db.session.flush()
    activity.keep_due_item(course, project)
    db.session.commit()
    return project


def rubric_uses(project_id: int) -> tuple[int, int]:
    """How many teacher evaluations and peer ratings the project has (its rubric's uses)."""
    counts = [
        db.session.scalar(
            select(func.count()).select_from(model).where(model.project_id == project_id)
        )
        for model in (GroupEvaluation, PeerEvaluation)
    ]
    return counts[0], counts[1]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _rubric_in_use(evaluations: int, ratings: int) -> Conflict:
    # Teachers can withdraw their evaluations; only the student who gave a peer
    # rating can withdraw it, so a teacher facing ratings has one way out.
    if ratings:
        advice = (
            "a teacher cannot withdraw students' peer ratings (only the student who gave "
            "one can), so create a new project."
        )
    else:
        advice = "withdraw the teachers' evaluations first, or create a new project."
    uses = " and ".join(
        _plural(n, noun)
        for n, noun in ((evaluations, "teacher evaluation"), (ratings, "peer rating"))
        if n
    )
    return Conflict(
        "The rubric cannot change once work has been evaluated or peers rated against it, "
        "except in wording (names, labels, descriptions, order); " + advice,
        errors=[
            field_error("rubric", f"{uses} use{'s' if evaluations + ratings == 1 else ''} it.")
        ],
    )


def update_project(actor: Actor, course_id: int, project_id: int, changes: dict) -> Project:
    """Change a project; its rubric's keys, weights and points only while nobody has
    evaluated or rated against it (its wording always).
    Announces the fields whose value changed with :data:`project_changed` once committed.

    Evaluations name the rubric's criteria and levels by key and points, so changing
    those under them would silently re-score work already marked.

    Reopening a project (or making it a draft again) withdraws a release of its scores:
    they are released from a closed project only, because while it is open a teammate's
    rating moves them, and a student watching their score move would read that rating
    from it. The gradebook keeps what was sent until the scores are released again.
    """
    course, project = access.project(actor, course_id, project_id, teach=True)
    project = access.hold(project, exclusive=True)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "status" in changes:
        _check_status(changes["status"])
    _check_due(changes.get("due_at"))
    _check_group_size(changes.get("max_group_size"))
    moderation = {
        key: changes.get(key, getattr(project, key))
        for key in ("peer_weight", "self_assessment", "non_submission_penalty")
    }
    _check_moderation(moderation)
    if "rubric" in changes:
        rubric = _checked_rubric(changes["rubric"])
        # Wording may change under ratings (a typo found once students read it); what
        # scores them may not.
        if rubric != project.rubric and not scoring.scores_alike(
            scoring.parse_rubric(rubric), scoring.parse_rubric(project.rubric)
        ):
            evaluations, ratings = rubric_uses(project.id)
            if evaluations or ratings:
                raise _rubric_in_use(evaluations, ratings)
        changes = {**changes, "rubric": rubric}
    changed = frozenset(key for key, value in changes.items() if getattr(project, key) != value)
    for key, value in changes.items():
        setattr(project, key, value)
    if project.status != "closed":
        project.scores_released_at = None
    activity.keep_due_item(course, project)
    db.session.commit()
    if changed:
        project_changed.send(project.id, course_id=course.id, changed=changed)
    return project


def delete_project(actor: Actor, course_id: int, project_id: int) -> None:
    """Delete a project with its groups, evaluations and evidence."""
    course, project = access.project(actor, course_id, project_id, teach=True)
    activity.keep_due_item(course, project, deleted=True)
    db.session.delete(project)
    db.session.commit()
