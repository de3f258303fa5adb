"""What a placed resource link opens, and grades flowing back from it.

Deep linking places the tool's things in an LMS course (see :mod:`deep_linking`); a
launch of such a link carries ``{"kind", "id"}`` as its target. For an adaptive
assignment the student lands on their personalised assignment, and when their last
answer completes it the grade goes through the grade outbox to that link's gradebook
column, and the completion is the student's submission for the engagement index
(timeliness against the link's due date). The mastery feature announces completions
with a signal, so it never imports LTI code.

The grade is the student's **best session** on the link, not the latest: opening the
activity again is an invitation to practise more (and a struggling student is offered
re-practice), so a later, weaker session must never lower the gradebook. Each session
is one completed assignment scored as the share of its questions answered correctly;
the best share wins (on a tie, the longer session, then the latest). A running total
was considered and rejected: it would grow with the number of sessions rather than
with what the student can do.
"""

from __future__ import annotations

import logging

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Conflict, NotFound, ValidationFailed
from masteryai_lti.core.policy import Actor
from masteryai_lti.engagement import service as engagement
from masteryai_lti.extensions import db
from masteryai_lti.lti import outbox
from masteryai_lti.lti.launch import DUE_DATE_TARGETS, LaunchOutcome
from masteryai_lti.lti.models import ResourceLink
from masteryai_lti.mastery import service as mastery

log = logging.getLogger(__name__)

ADAPTIVE_ASSIGNMENT = "adaptive_assignment"
# The outbox source of the grades this module posts.
GRADE_SOURCE = "adaptive_assignment"
# What a student reads on a link whose LMS granted no grade service.
NOT_GRADED = (
    "This activity is not graded in your course gradebook: "
    "your answers count toward your mastery only."
)


def best_session(sessions: list[mastery.SessionScore]) -> mastery.SessionScore | None:
    """The session that makes the grade: the best share, then the longer, then the latest."""
    if not sessions:
        return None
    return max(sessions, key=lambda s: (s.share, s.total, s.assignment_id))


def student_placement(outcome: LaunchOutcome) -> dict | None:
    """What the student page opens for this launch: ``{"assignment_id", "title"}`` or None."""
    target = outcome.target or {}
    if target.get("kind") != ADAPTIVE_ASSIGNMENT or outcome.course_role != "student":
        return None
    if outcome.course_id is None or outcome.resource_link_pk is None:
        return None
    assignment = mastery.open_placed_assignment(
        outcome.course_id, outcome.user_id, outcome.resource_link_pk, title="Adaptive practice"
    )
    graded = outbox.link_takes_scores(outcome.resource_link_pk)
    grade_note = (
        "Your best session on this activity goes to your course gradebook."
        if graded
        else NOT_GRADED
    )
    if assignment is None:
        note = (
            "You are up to date: there is nothing for you to practise here right now. "
            "Come back later for review."
            if mastery.course_has_items(outcome.course_id)
            else "Your teacher has not added practice questions to this course yet."
        )
        return {
            "assignment_id": None,
            "title": "Adaptive practice",
            "note": note,
            "graded": graded,
            "grade_note": grade_note,
        }
    return {
        "assignment_id": assignment.id,
        "title": assignment.title,
        "note": "",
        "graded": graded,
        "grade_note": grade_note,
    }


def dated_activity(outcome: LaunchOutcome) -> dict | None:
    """The link a teacher launched from, when it is work with a due date (a placed
    assignment): ``{"object_id", "title"}`` for the dashboard's due-date form, else None.
    Moodle sends no due date for its External tool activities; the teacher sets it here."""
    target = outcome.target or {}
    if outcome.course_id is None or outcome.resource_link_id is None:
        return None
    if target.get("kind") not in DUE_DATE_TARGETS or outcome.course_role != "teacher":
        return None
    return {"object_id": outcome.resource_link_id, "title": outcome.resource_link_title}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@mastery.placed_assignment_completed.connect
def post_completed_assignment_grade(assignment, *, score_given: float, score_maximum: float):
    """Queue the student's best session on the placement for its LMS gradebook column.

    Every completion posts (so a post that failed earlier is repaired by the next
    session), but always the best session's score: the gradebook never goes down
    because the student practised more (see the module docstring).
    """
    if not outbox.link_takes_scores(assignment.resource_link_pk):
        # A link whose platform granted no grade service: the work is kept, no grade sent.
        log.info("no grade passback for assignment %s: not a graded link", assignment.id)
        return
    sessions = mastery.completed_placed_sessions(assignment.resource_link_pk, assignment.user_id)
    best = best_session(sessions)
    if best is None:  # the signal's own session always counts, even if unreadable here
        total = int(score_maximum)
        best = mastery.SessionScore(assignment.id, score_given, total, total, completed=True)
        sessions = [best]
    comment = (
        f"{assignment.title}: best of {_plural(len(sessions), 'session')}, "
        f"{best.correct:g} of {best.total} correct"
    )
    if best.assignment_id != assignment.id:
        comment += f" (latest: {score_given:g} of {score_maximum:g})"
    try:
        outbox.record_score(
            resource_link_pk=assignment.resource_link_pk,
            user_id=assignment.user_id,
            score_given=best.correct,
            score_maximum=float(best.total),
            comment=comment,
            source=GRADE_SOURCE,
        )
    except (Conflict, NotFound, ValidationFailed) as exc:
        # Refused before the outbox (e.g. the learner is unknown to the link's LMS):
        # the student's result page says the grade was not sent.
        log.warning("no grade passback for assignment %s: %s", assignment.id, exc)


def _grade_status(assignment, session: mastery.SessionScore) -> dict:
    """What is true of the student's grade for this placement, in their words:
    ``{"state", "message"}`` with state ``not_graded``, ``on_finish``, ``pending``,
    ``sent``, ``failed`` or ``not_sent``."""
    if not assignment.resource_link_pk or not outbox.link_takes_scores(assignment.resource_link_pk):
        return {"state": "not_graded", "message": NOT_GRADED}
    if not session.completed:
        return {
            "state": "on_finish",
            "message": "Your best session goes to your course gradebook when you finish.",
        }
    post = outbox.latest_post(assignment.resource_link_pk, assignment.user_id, GRADE_SOURCE)
    if post is None:
        return {
            "state": "not_sent",
            "message": "Your score could not be sent to your course gradebook. "
            "Please tell your teacher.",
        }
    score = f"{post.score_given:g} of {post.score_maximum:g}"
    if post.status == "sent":
        return {
            "state": "sent",
            "message": f"Your course gradebook has your best score: {score}.",
        }
    if post.status == "failed":
        return {
            "state": "failed",
            "message": "Your score could not be sent to your course gradebook. "
            "Your teacher can see this and send it again.",
        }
    return {
        "state": "pending",
        "message": f"Your best score, {score}, is on its way to your course gradebook; "
        "the LMS has not confirmed it yet.",
    }


def placement_result(actor: Actor, course_id: int, assignment_id: int) -> dict:
    """A practice session as the server recorded it, for the player's finish screen:
    its answered and correct counts, the best session on its placement, and what
    happened to the grade. The student sees their own; teachers their students'."""
    assignment, _rows = mastery.get_assignment(actor, course_id, assignment_id)
    [session] = mastery.session_scores([assignment])
    best = None
    if assignment.resource_link_pk:
        sessions = mastery.completed_placed_sessions(
            assignment.resource_link_pk, assignment.user_id
        )
        found = best_session(sessions)
        if found is not None:
            best = {"correct": found.correct, "total": found.total, "sessions": len(sessions)}
    return {
        "assignment_id": assignment.id,
        "status": assignment.status,
        "answered": session.answered,
        "correct": session.correct,
        "total": session.total,
        "best": best,
        "grade": _grade_status(assignment, session),
    }


@mastery.placed_assignment_completed.connect
def record_completed_assignment_submission(assignment, *, score_given: float, score_maximum: float):
    """The finished assignment is the student's submission for the LMS assignment.

    Its object is the resource link, as for the launches, so the due date the LMS
    gave for the link (engagement.graded_items) makes it graded work, on time or late.
    """
    link = db.session.get(ResourceLink, assignment.resource_link_pk)
    if link is None or link.course_id is None:
        return
    engagement.record_events(
        link.institution_id,
        [
            {
                "user_id": assignment.user_id,
                "course_id": link.course_id,
                "kind": "submission",
                "occurred_at": utcnow(),
                "source": "assignment",
                "source_id": f"placed:{assignment.id}",
                "object_id": link.resource_link_id,
                "score": score_given / score_maximum if score_maximum else None,
            }
        ],
    )
