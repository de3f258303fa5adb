"""Projects placed in an LMS course: the picker offers them, a launch opens one (a
student's page shows it alone, a teacher's Projects panel opens on it), and released
scores go to the gradebook column of every placement.

Deep linking places a project as an ``ltiResourceLink`` whose target is
``{"kind": "project", "id": "<project id>"}`` (custom parameters are strings), with a
line item of 100 points so the platform makes the gradebook column. The pbl feature
announces released scores with :data:`~masteryai_lti.pbl.service.project_scores_released`
and never imports LTI code; this module listens and queues each student's score
through the durable outbox (:func:`~masteryai_lti.lti.outbox.record_scores`, one
transaction per link) for every resource link of the project's course that targets
the project. Releasing again
queues the scores as they then are, with later timestamps, so the platform replaces
the earlier ones (AGS 2.0 §3.4.3). A project's changed title or due date
(:data:`~masteryai_lti.pbl.service.project_changed`) goes to the line item of every
graded placement the same durable way (:func:`keep_placed_line_items_in_step`).

The picker offers drafts too: a teacher sets up the LMS activity (its column and due
date) while preparing the project, and opens it later; a student who launches a draft
is told it is not open yet. The picker hook gives a course id but no actor, so the
course's projects are read from the pbl tables here; the launch that reached the
picker already established a teacher of that course (``complete_launch`` refuses
deep linking to anyone else), so the picker asks pbl for every project of the course
(``course_projects``), as ``list_projects`` shows them to a teacher.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from masteryai_lti.core.errors import Conflict, NotFound
from masteryai_lti.extensions import db, jobs
from masteryai_lti.lti import grading, outbox
from masteryai_lti.lti.deep_linking import Placeable, register_placeable_provider
from masteryai_lti.lti.launch import LaunchOutcome
from masteryai_lti.lti.models import ResourceLink
from masteryai_lti.pbl import service as pbl
from masteryai_lti.pbl.models import Project
from masteryai_lti.pbl.service import ReleasedScore, project_changed, project_scores_released

log = logging.getLogger(__name__)

PROJECT = "project"
# The outbox source of the grades this module posts.
GRADE_SOURCE = "project"
# Individual scores are on 0..100 (pbl.scoring); the line item says so too.
SCORE_MAXIMUM = 100.0
# The explanation is a few sentences; a gradebook comment box is no place for more.
COMMENT_MAX_CHARS = 1000
# What the LMS shows as the activity's text, at most.
DESCRIPTION_MAX_CHARS = 200

NOT_GRADED = (
    "This project is not graded in your course gradebook: "
    "you see your score here once your teacher releases it."
)
GRADED_ON_RELEASE = (
    "Your score on this project goes to your course gradebook when your teacher releases it."
)
GRADED_RELEASED = "Your teacher has released this project's scores to your course gradebook."

_STATUS_NOTES = {
    "draft": "Draft: students see it once you open it.",
    "open": "Open: students are working on it.",
    "closed": "Closed: the scores you release go to the gradebook.",
}

# Why a placed project's link opens no project (see `_course_project`).
GONE, ELSEWHERE = "gone", "elsewhere"

STUDENT_NOTES = {
    GONE: "This project is no longer in MasteryAI: your teacher may have deleted it. "
    "Please tell your teacher.",
    ELSEWHERE: "This activity opens a project of another course. Please ask your teacher "
    "to add this course's project here again.",
}
TEACHER_NOTES = {
    GONE: "The LMS link you opened places a project that is no longer in MasteryAI: it "
    "may have been deleted. Place another project there, or remove the link.",
    ELSEWHERE: "The LMS link you opened places a project of another course (a copied "
    "course keeps its links). Place this course's project there again.",
}


def _shortened(text: str, limit: int) -> str:
    """``text`` on one line, cut at a sentence end (else a word) to at most ``limit``."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    sentence = cut.rfind(". ")
    if sentence >= limit // 2:
        return cut[: sentence + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip(",;:-– ") + "…"


def gradebook_comment(explanation: str) -> str | None:
    """The student's score explanation as the gradebook comment: at most
    :data:`COMMENT_MAX_CHARS`, whole sentences when they fit; None when empty."""
    return _shortened(explanation, COMMENT_MAX_CHARS) or None


def _placeable(project: Project) -> Placeable:
    note = _STATUS_NOTES.get(project.status, "")
    if project.due_at is not None:
        note += f" Due {project.due_at:%Y-%m-%d %H:%M} UTC."
    return Placeable(
        key=f"project-{project.id}",
        kind=PROJECT,
        title=project.title,
        description=_shortened(project.description or "", DESCRIPTION_MAX_CHARS)
        or "A group project: students work in groups and rate each other's contribution.",
        graded=True,
        score_maximum=SCORE_MAXIMUM,
        target_id=str(project.id),
        submission_end=project.due_at,
        note=note.strip(),
    )


@register_placeable_provider
def course_projects(course_id: int | None) -> list[Placeable]:
    """The course's projects for the picker, newest first, drafts included (see the
    module docstring): graded, 100 points, due when the project is."""
    if course_id is None:
        return []
    return [_placeable(p) for p in pbl.course_projects(course_id)]


def placed_project_id(target: dict | None) -> int | None:
    """The project a link's target names, or None (another kind, or no usable id)."""
    if not target or target.get("kind") != PROJECT:
        return None
    try:
        return int(str(target.get("id")))
    except ValueError:
        return None


def _unavailable(title: str, note: str, graded: bool) -> dict:
    return {
        "project_id": None,
        "title": title,
        "note": note,
        "graded": graded,
        "grade_note": GRADED_ON_RELEASE if graded else NOT_GRADED,
    }


def _course_project(outcome: LaunchOutcome) -> Project | str:
    """The project a launch's link places when it is one of the launch's course, else
    why not: GONE (deleted, or no usable id) or ELSEWHERE (another course's)."""
    project_id = placed_project_id(outcome.target)
    project = pbl.find_project(project_id) if project_id is not None else None
    if project is None:
        return GONE
    if outcome.course_id is None or project.course_id != outcome.course_id:
        # Typically a course copied in the LMS: its links still name the old course's project.
        return ELSEWHERE
    return project


def teacher_placement(outcome: LaunchOutcome) -> dict | None:
    """What the teacher page opens for a teacher's launch of a placed project, or None
    for other launches: ``{"project_id", "project_note"}``.

    The project (a draft too: the teacher prepares it) when it is one of the launch's
    course; else ``project_id`` None and a note saying why and what to do.
    """
    target = outcome.target or {}
    if target.get("kind") != PROJECT or outcome.course_role != "teacher":
        return None
    found = _course_project(outcome)
    if isinstance(found, str):
        return {"project_id": None, "project_note": TEACHER_NOTES[found]}
    return {"project_id": found.id, "project_note": ""}


def student_placement(outcome: LaunchOutcome) -> dict | None:
    """What the student page opens for a launch of a placed project, or None for
    other launches: ``{"project_id", "title", "status", "note", "graded", "grade_note"}``.

    A project the student cannot open (deleted, of another course, still a draft) has
    ``project_id`` None and a ``note`` saying why, never an error page.
    """
    target = outcome.target or {}
    if target.get("kind") != PROJECT or outcome.course_role != "student":
        return None
    graded = outbox.link_takes_scores(outcome.resource_link_pk)
    project = _course_project(outcome)
    if isinstance(project, str):
        return _unavailable("Project", STUDENT_NOTES[project], graded)
    if project.status == "draft":
        return _unavailable(
            project.title,
            "Your teacher has not opened this project yet. Come back once it is open.",
            graded,
        )
    if not graded:
        grade_note = NOT_GRADED
    elif project.scores_released_at is not None:
        grade_note = GRADED_RELEASED
    else:
        grade_note = GRADED_ON_RELEASE
    return {
        "project_id": project.id,
        "title": project.title,
        "status": project.status,
        "note": "",
        "graded": graded,
        "grade_note": grade_note,
    }


def project_links(course_id: int, project_id: int) -> list[ResourceLink]:
    """The course's resource links that open ``project_id``, oldest first."""
    links = db.session.scalars(
        select(ResourceLink).where(ResourceLink.course_id == course_id).order_by(ResourceLink.id)
    )
    return [link for link in links if placed_project_id(link.target) == project_id]


@project_scores_released.connect
def post_released_project_scores(
    project_id: int, *, course_id: int, scores: list[ReleasedScore], **_later
) -> int:
    """Queue each released score for the gradebook column of every graded placement of
    the project in its course; returns how many were queued.

    Completed and FullyGraded: a released score is the teacher's final mark. A
    placement's scores are queued together, in one transaction
    (:func:`~masteryai_lti.lti.outbox.record_scores`): a class of a thousand is one
    commit, not a thousand. Students unknown to a link's LMS are skipped (counted in the
    log): the platform could not tell whose score it is. One drain is started for all
    of them. (``_later``: arguments a later pbl may add to the signal must not turn a
    release into an error.)
    """
    queued = 0
    to_record = [
        outbox.ScoreToRecord(
            user_id=released.student_id,
            score_given=released.score,
            score_maximum=SCORE_MAXIMUM,
            activity_progress="Completed",
            grading_progress="FullyGraded",
            comment=gradebook_comment(released.comment),
        )
        for released in scores
    ]
    for link in project_links(course_id, project_id):
        if not outbox.link_takes_scores(link.id):
            log.info("project %s: link %s is not graded; no scores sent", project_id, link.id)
            continue
        try:
            recorded = outbox.record_scores(
                resource_link_pk=link.id, scores=to_record, source=GRADE_SOURCE, deliver=False
            )
        except (Conflict, NotFound) as exc:
            log.warning("project %s: link %s takes no score: %s", project_id, link.id, exc)
            continue
        unknown = len(recorded.unknown)
        refused = len(recorded.refused) - unknown
        for student_id, exc in recorded.refused.items():
            if student_id not in recorded.unknown:
                log.warning(
                    "project %s: score of student %s refused: %s", project_id, student_id, exc
                )
        sent = len(recorded.entries)
        queued += sent
        log.log(
            logging.WARNING if unknown or refused else logging.INFO,
            "project %s: %d released scores queued for link %s; %d skipped (no account on "
            "its LMS), %d refused",
            project_id,
            sent,
            link.id,
            unknown,
            refused,
        )
    if queued:
        jobs.enqueue(outbox.drain_outbox)
    return queued


# The project fields a placement's line item shows: its title as the column's label,
# its due date as the column's end date.
LINE_ITEM_FIELDS = {"title": "label", "due_at": "endDateTime"}


def _line_item_changes(project_id: int, changed: frozenset[str]) -> dict | None:
    """The line item fields for the project's ``changed`` fields, with the values the
    project has now (read afresh: an earlier edit's listener may run after a later
    edit committed), or None when the project is gone."""
    project = pbl.find_project(project_id)
    if project is None:
        return None
    db.session.refresh(project)
    changes: dict = {}
    if "title" in changed:
        changes["label"] = project.title
    if "due_at" in changed:
        due = project.due_at
        changes["endDateTime"] = grading.format_timestamp(due) if due is not None else None
    return changes or None


@project_changed.connect
def keep_placed_line_items_in_step(
    project_id: int, *, course_id: int, changed: frozenset[str], **_later
) -> int:
    """Queue the project's new title or due date for the line item of every graded
    placement of it in its course; returns how many placements.

    Through the outbox (:func:`~masteryai_lti.lti.outbox.record_line_item_update`):
    an LMS that is down gets the change later, and of two quick edits only the later
    values are sent. A placement whose LMS did not grant the lineitem scope keeps its
    column as it is (logged), and an ungraded one has no column to change.
    """
    if not changed & LINE_ITEM_FIELDS.keys():
        return 0
    queued = 0
    for link in project_links(course_id, project_id):
        if not outbox.link_takes_scores(link.id):
            continue
        update = outbox.record_line_item_update(
            link.id,
            lambda: _line_item_changes(project_id, changed),
            source=GRADE_SOURCE,
            deliver=False,
        )
        queued += update is not None
    if queued:
        log.info(
            "project %s: %s queued for %d placement(s)",
            project_id,
            sorted(changed & LINE_ITEM_FIELDS.keys()),
            queued,
        )
        jobs.enqueue(outbox.drain_line_item_updates)
    return queued
