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
feature never imports LTI code. Teachers also download the scores table as CSV
(:func:`scores_sheet`), for their records or another system.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from blinker import Namespace
from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Conflict, Forbidden
from masteryai_lti.core.policy import Actor
from masteryai_lti.core.spreadsheet_cells import neutralise
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.pbl import scoring
from masteryai_lti.pbl.models import (
    GroupEvaluation,
    PeerEvaluation,
    Project,
    ProjectGroup,
)
from masteryai_lti.pbl.service import access
from masteryai_lti.pbl.service.groups import group_views, project_groups

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
    # Members, their names and who left the course, as the groups' views read them.
    views = group_views(project, groups)
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
    results = []
    for g, view in zip(groups, views, strict=True):
        group_score = scoring.group_score(rubric, teacher[g.id])
        # Only the members who count: the engine ignores ratings by or of anyone else.
        counting = [u for u in view.member_ids if u not in view.left_ids]
        individual = scoring.individual_scores(group_score.score, counting, peers[g.id], settings)
        results.append(
            GroupResult(
                g.id,
                g.name,
                group_score,
                individual,
                view.member_names,
                feedback[g.id],
                [u for u in view.member_ids if u in view.left_ids],
            )
        )
    return results


def _teachers_view(course: Course, project: Project) -> ProjectScores:
    """Every group's scores, and the course's students in no group."""
    results = _results(project, project_groups(project))
    grouped = {u for result in results for u in result.member_names}
    ungrouped = [s for s in courses.student_ids(course.id) if s not in grouped]
    return ProjectScores(
        project, project.scores_released_at is not None, results, sorted(ungrouped)
    )


def project_scores(actor: Actor, course_id: int, project_id: int) -> ProjectScores:
    """Every group's scores for a teacher; a student's own group and own score, once released."""
    reach = access.in_project(actor, course_id, project_id)
    course, project = reach.course, reach.project
    released = project.scores_released_at is not None
    if reach.teaches:
        return _teachers_view(course, project)
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
        for group in _results(project, project_groups(project))
        for m in group.members
        if m.score is not None
    ]
    project.scores_released_at = utcnow()
    db.session.commit()
    project_scores_released.send(project.id, course_id=course.id, scores=released)
    return released


# The scores table as CSV, one row per student: the columns a gradebook or a records
# system maps, named as the JSON reply names them.
SCORE_SHEET_COLUMNS = (
    "group",
    "student",
    "student_id",
    "email",
    "left_course",
    "group_score",
    "score",
    "contribution_factor",
    "released",
    "explanation",
)
LEFT_EXPLANATION = (
    "Left the course: neither rated nor rating while away, and given no score. "
    "Back in the course, they count again."
)
NO_GROUP_EXPLANATION = "In no group of this project, so no score."
# Excel reads a CSV without a byte order mark in the computer's legacy code page
# (Windows-1252 in the West), so "Zoë" or "José", as LMSs send them, would arrive
# garbled; with it, Excel, LibreOffice and csv readers decoding "utf-8-sig" read UTF-8.
BYTE_ORDER_MARK = "\ufeff"


@dataclass(frozen=True)
class ScoreSheet:
    """A project's scores table as a CSV download."""

    filename: str
    text: str


def _number(value: float | None) -> str:
    """A score as the explanations write it (82.5, 78), or empty for none."""
    if value is None:
        return ""
    return f"{round(value, 2):.2f}".rstrip("0").rstrip(".")


def _file_slug(project: Project) -> str:
    """The project's title as a file name: ASCII letters, digits and dashes."""
    ascii_title = unicodedata.normalize("NFKD", project.title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return slug or f"project-{project.id}"


def _sheet_rows(found: ProjectScores) -> list[list]:
    """Each group's scored members, then its members who left the course (no scores),
    then the students in no group by name."""
    rows: list[list] = []
    # Another system knows students by address, not by this tool's ids.
    emails = courses.email_addresses(
        [u for g in found.groups for u in g.member_names] + list(found.ungrouped_student_ids)
    )
    for group in found.groups:
        for m in group.members:
            rows.append(
                [
                    group.name,
                    group.member_names.get(m.student_id) or "",
                    m.student_id,
                    emails.get(m.student_id, ""),
                    "no",
                    _number(m.group_score),
                    _number(m.score),
                    f"{m.contribution_factor:.2f}",
                    # Whether the student sees it now: once released, each sees their
                    # current score (the gradebook has what the last release sent).
                    "yes" if found.released and m.score is not None else "no",
                    m.explanation,
                ]
            )
        for user_id in group.left_ids:
            name = group.member_names.get(user_id) or ""
            rows.append(
                [group.name, name, user_id, emails.get(user_id, ""), "yes"]
                + ["", "", "", "no", LEFT_EXPLANATION]
            )
    names = courses.full_names(found.ungrouped_student_ids)
    for user_id in sorted(found.ungrouped_student_ids, key=lambda u: (names.get(u) or "", u)):
        name = names.get(user_id) or ""
        rows.append(
            ["", name, user_id, emails.get(user_id, ""), "no"]
            + ["", "", "", "no", NO_GROUP_EXPLANATION]
        )
    return rows


def scores_sheet(actor: Actor, course_id: int, project_id: int) -> ScoreSheet:
    """The teacher's scores table as CSV: a row per member of each group (those who left
    the course marked, without scores), then each student in no group.

    Teachers only: a student's own score stays in the JSON reply. Names come from the
    LMS and group names from teachers, so no text cell may reach a spreadsheet as a
    formula (``core.spreadsheet_cells``).
    """
    reach = access.in_project(actor, course_id, project_id)
    if not reach.teaches:
        raise Forbidden(
            "Only the course's teachers download the scores table; your own score is "
            "in the scores reply without format=csv, once released."
        )
    found = _teachers_view(reach.course, reach.project)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SCORE_SHEET_COLUMNS)
    for row in _sheet_rows(found):
        writer.writerow(neutralise(cell) if isinstance(cell, str) else cell for cell in row)
    return ScoreSheet(f"{_file_slug(reach.project)}-scores.csv", BYTE_ORDER_MARK + out.getvalue())
