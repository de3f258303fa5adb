"""Group and individual scores of a project, and releasing them to the gradebook.

The pure engine (``pbl.scoring``) does the arithmetic; this module gathers each
group's teacher evaluations and peer ratings. Students see their own score once the
teacher has released the project's scores, never the ratings behind anyone's.

A member who has left the course (``groups.still_in_course``) is left out of their
group's moderation entirely while they are away: the engine gets neither them nor the
ratings they gave or received, so their teammates' factors are those of the group
without them, and they get no score (none is released for them, so the gradebook gets
nothing). The ratings stay stored: back in the course, they count again.
Releasing announces the scores with :data:`project_scores_released`, which the LTI
feature turns into gradebook entries of every placement of the project, so this
feature never imports LTI code.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from blinker import Namespace
from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Conflict
from masteryai_lti.core.policy import Actor
from masteryai_lti.courses import service as courses
from masteryai_lti.extensions import db
from masteryai_lti.pbl import scoring
from masteryai_lti.pbl.models import (
    GroupEvaluation,
    GroupMember,
    PeerEvaluation,
    Project,
    ProjectGroup,
)
from masteryai_lti.pbl.service import access
from masteryai_lti.pbl.service.groups import still_in_course

_signals = Namespace()
# sender: the project id; kwargs: course_id, scores (list of ReleasedScore).
project_scores_released = _signals.signal("pbl.project-scores-released")


@dataclass(frozen=True)
class GroupResult:
    """One group's scores: the group's work, and each member's individual score (members
    who left the course have none: they are listed apart)."""

    group_id: int
    name: str
    group_score: scoring.GroupScore
    members: list[scoring.IndividualScore]
    member_names: dict[int, str]
    # The teachers' comments on the group's work: the feedback students read with it.
    feedback: list[str]
    # Members whose enrolment ended, in id order: shown to the teacher, never scored.
    left_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectScores:
    """A project's scores as the actor may see them."""

    project: Project
    released: bool
    groups: list[GroupResult]
    # Students of the course in no group of the project (teachers' view only).
    ungrouped_student_ids: list[int]


@dataclass(frozen=True)
class ReleasedScore:
    """One student's score as it goes to the gradebook (0..100)."""

    student_id: int
    score: float
    comment: str


def _results(project: Project, groups: list[ProjectGroup]) -> list[GroupResult]:
    rubric = access.rubric_of(project)
    settings = access.settings_of(project)
    ids = [g.id for g in groups]
    members: dict[int, list[int]] = defaultdict(list)
    for group_id, user_id in db.session.execute(
        select(GroupMember.group_id, GroupMember.user_id)
        .where(GroupMember.group_id.in_(ids))
        .order_by(GroupMember.user_id)
    ):
        members[group_id].append(user_id)
    teacher: dict[int, list[dict]] = defaultdict(list)
    feedback: dict[int, list[str]] = defaultdict(list)
    for row in db.session.scalars(
        select(GroupEvaluation)
        .where(GroupEvaluation.group_id.in_(ids))
        .order_by(GroupEvaluation.id)
    ):
        teacher[row.group_id].append(row.ratings)
        if row.comment.strip():
            feedback[row.group_id].append(row.comment)
    peers: dict[int, list[scoring.PeerRating]] = defaultdict(list)
    score = access.rubric_scorer(project)
    for row in db.session.scalars(select(PeerEvaluation).where(PeerEvaluation.group_id.in_(ids))):
        peers[row.group_id].append(
            scoring.PeerRating(row.rater_id, row.ratee_id, score(row.ratings))
        )
    everyone = [u for group in members.values() for u in group]
    names = courses.full_names(everyone)
    present = still_in_course(project.course_id, everyone)
    results = []
    for g in groups:
        group_score = scoring.group_score(rubric, teacher[g.id])
        # Only the members who count: the engine ignores ratings by or of anyone else.
        counting = [u for u in members[g.id] if u in present]
        individual = scoring.individual_scores(group_score.score, counting, peers[g.id], settings)
        results.append(
            GroupResult(
                g.id,
                g.name,
                group_score,
                individual,
                {u: names.get(u, "") for u in members[g.id]},
                feedback[g.id],
                [u for u in members[g.id] if u not in present],
            )
        )
    return results


def _groups(project: Project) -> list[ProjectGroup]:
    return list(
        db.session.scalars(
            select(ProjectGroup)
            .where(ProjectGroup.project_id == project.id)
            .order_by(ProjectGroup.name, ProjectGroup.id)
        )
    )


def project_scores(actor: Actor, course_id: int, project_id: int) -> ProjectScores:
    """Every group's scores for a teacher; a student's own group and own score, once released."""
    reach = access.in_project(actor, course_id, project_id)
    course, project = reach.course, reach.project
    released = project.scores_released_at is not None
    if reach.teaches:
        groups = _groups(project)
        grouped = set(
            db.session.scalars(
                select(GroupMember.user_id).where(GroupMember.project_id == project.id)
            )
        )
        ungrouped = [s for s in courses.student_ids(course.id) if s not in grouped]
        return ProjectScores(project, released, _results(project, groups), sorted(ungrouped))
    own = access.group_of_student(project.id, actor.user_id)
    if own is None or not released:
        return ProjectScores(project, released, [], [])
    result = _results(project, [own])[0]
    mine = [m for m in result.members if m.student_id == actor.user_id]
    visible = GroupResult(
        result.group_id,
        result.name,
        result.group_score,
        mine,
        {actor.user_id: result.member_names.get(actor.user_id, "")},
        result.feedback,
    )
    return ProjectScores(project, released, [visible], [])


def release_scores(actor: Actor, course_id: int, project_id: int) -> list[ReleasedScore]:
    """Release the project's individual scores: students see them, and every LMS
    placement of the project gets them in its gradebook column.

    Only a closed project's: while it is open a late peer rating would change scores
    already in the gradebook. Students whose group the teacher has not evaluated yet
    get nothing yet, and students who left the course nothing at all; releasing again
    later sends the scores as they then are.
    """
    course, project = access.project(actor, course_id, project_id, teach=True)
    # Held until the release commits: a reopening meanwhile (which withdraws a release)
    # would otherwise leave the project open with its scores released.
    project = access.hold(project, exclusive=True)
    if project.status != "closed":
        raise Conflict("Close the project before releasing its scores: peers may still rate.")
    released = [
        ReleasedScore(m.student_id, m.score, m.explanation)
        for group in _results(project, _groups(project))
        for m in group.members
        if m.score is not None
    ]
    project.scores_released_at = utcnow()
    db.session.commit()
    project_scores_released.send(project.id, course_id=course.id, scores=released)
    return released
