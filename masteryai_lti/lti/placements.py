"""What a placed resource link opens, and grades flowing back from it.

Deep linking places the tool's things in an LMS course (see :mod:`deep_linking`); a
launch of such a link carries ``{"kind", "id"}`` as its target. For an adaptive
assignment the student lands on their personalised assignment, and when their last
answer completes it the score goes through the grade outbox to that link's gradebook
column, and the completion is the student's submission for the engagement index
(timeliness against the link's due date). The mastery feature announces completions
with a signal, so it never imports LTI code.
"""

from __future__ import annotations

import logging

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Conflict, NotFound
from masteryai_lti.engagement import service as engagement
from masteryai_lti.extensions import db
from masteryai_lti.lti import outbox
from masteryai_lti.lti.launch import DUE_DATE_TARGETS, LaunchOutcome
from masteryai_lti.lti.models import ResourceLink
from masteryai_lti.mastery import service as mastery

log = logging.getLogger(__name__)

ADAPTIVE_ASSIGNMENT = "adaptive_assignment"


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
    if assignment is None:
        note = (
            "You have answered every question there is to practise for now. "
            "Come back later for review."
            if mastery.course_has_items(outcome.course_id)
            else "Your teacher has not added practice questions to this course yet."
        )
        return {"assignment_id": None, "title": "Adaptive practice", "note": note}
    return {"assignment_id": assignment.id, "title": assignment.title, "note": ""}


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


@mastery.placed_assignment_completed.connect
def post_completed_assignment_grade(assignment, *, score_given: float, score_maximum: float):
    """Queue the finished assignment's score for its LMS gradebook column."""
    try:
        outbox.record_score(
            resource_link_pk=assignment.resource_link_pk,
            user_id=assignment.user_id,
            score_given=score_given,
            score_maximum=score_maximum,
            comment=f"{assignment.title}: {score_given:g} of {score_maximum:g} correct",
            source="adaptive_assignment",
        )
    except (Conflict, NotFound) as exc:
        # A link whose platform granted no grade service: the work is kept, no grade sent.
        log.info("no grade passback for assignment %s: %s", assignment.id, exc)


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
