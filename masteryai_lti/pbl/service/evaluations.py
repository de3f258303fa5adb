"""Evaluations against a project's rubric: the teacher's of a group's work, and the
members' ratings of each other's contribution."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from masteryai_lti.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor
from masteryai_lti.extensions import db
from masteryai_lti.pbl import scoring
from masteryai_lti.pbl.models import GroupEvaluation, PeerEvaluation, Project
from masteryai_lti.pbl.service import access
from masteryai_lti.pbl.service.activity import note_project_work
from masteryai_lti.pbl.service.groups import still_in_course


def _checked_ratings(project: Project, ratings: dict) -> dict:
    rubric = access.rubric_of(project)
    problems = scoring.validate_ratings(rubric, ratings)
    if problems:
        raise access.validation_failed(
            scoring.RubricError(problems), "", "The ratings do not fit the project's rubric."
        )
    return {key: float(ratings[key]) for key in rubric.keys}


def rated(project: Project, rows) -> list[dict]:
    """Evaluations or peer ratings as plain dicts, each with its rubric score (0..100)."""
    score = access.rubric_scorer(project)
    return [
        {**{c.key: getattr(row, c.key) for c in row.__table__.columns}, "score": score(row.ratings)}
        for row in rows
    ]


def _upsert(model, keys: dict, values: dict, then=None):
    """Insert or update the row with ``keys``, and run ``then(row)`` (if given) in the
    same transaction; a concurrent first insert is retried once."""
    for _ in range(2):
        row = db.session.scalar(select(model).filter_by(**keys))
        if row is None:
            row = model(**keys, **values)
            db.session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        try:
            db.session.flush()
            if then is not None:
                then(row)
            db.session.commit()
            return row
        except IntegrityError:
            db.session.rollback()
    raise Conflict("Someone saved the same evaluation at the same moment; try again.")


def evaluate_group(
    actor: Actor,
    course_id: int,
    project_id: int,
    group_id: int,
    *,
    ratings: dict,
    comment: str = "",
) -> dict:
    """Save the acting teacher's evaluation of a group's work (replacing their earlier one)."""
    _, project = access.project(actor, course_id, project_id, teach=True)
    project = access.hold(project)
    group = access.group(project, group_id)
    checked = _checked_ratings(project, ratings)
    row = _upsert(
        GroupEvaluation,
        {"group_id": group.id, "evaluator_id": actor.user_id},
        {
            "institution_id": project.institution_id,
            "project_id": project.id,
            "ratings": checked,
            "comment": comment,
        },
    )
    return rated(project, [row])[0]


def group_evaluations(actor: Actor, course_id: int, project_id: int) -> list[dict]:
    """Every teacher evaluation of the project's groups, with scores (teachers only)."""
    _, project = access.project(actor, course_id, project_id, teach=True)
    rows = db.session.scalars(
        select(GroupEvaluation)
        .where(GroupEvaluation.project_id == project.id)
        .order_by(GroupEvaluation.group_id, GroupEvaluation.id)
    )
    return rated(project, rows)


def delete_group_evaluation(
    actor: Actor, course_id: int, project_id: int, evaluation_id: int
) -> None:
    """Withdraw a teacher evaluation: one's own, or any as the institution's admin.

    A co-teacher's evaluation is their judgement of the work; another teacher may add
    their own (the group's score is the teachers' average) but not remove it.
    """
    _, project = access.project(actor, course_id, project_id, teach=True)
    row = db.session.get(GroupEvaluation, evaluation_id)
    if row is None or row.project_id != project.id:
        raise NotFound("No such evaluation in this project.")
    if row.evaluator_id != actor.user_id and not actor.is_admin:
        raise Forbidden("Only the teacher who wrote an evaluation, or an admin, may withdraw it.")
    db.session.delete(row)
    db.session.commit()


def rate_peer(
    actor: Actor,
    course_id: int,
    project_id: int,
    ratee_id: int,
    *,
    ratings: dict,
    comment: str = "",
) -> dict:
    """Save the acting student's rating of a teammate's contribution (or their own, where
    the project asks for self-assessment), replacing their earlier one.

    Only while the project is open: once closed, the scores it gives must stay put.
    """
    course, project = access.project(actor, course_id, project_id)
    project = access.hold(project)
    group = access.group_of_student(project.id, actor.user_id)
    if group is None:
        raise Forbidden("You are not in a group of this project, so there is nobody to rate.")
    if project.status != "open":
        raise Conflict("Peer ratings are closed for this project.")
    if ratee_id not in access.member_ids(group.id):
        raise NotFound("No such teammate in your group.")
    if ratee_id == actor.user_id and not project.self_assessment:
        raise ValidationFailed(
            "This project does not ask you to rate yourself.",
            errors=[{"path": "ratee_id", "location": "path", "message": "That is you."}],
        )
    # A teammate who left the course is out of moderation while they are away: a rating
    # of them would count for nothing, yet hold its place if they came back.
    if not still_in_course(course.id, [ratee_id]):
        raise Conflict(
            "This teammate has left the course: nobody rates them while they are away.",
            errors=[field_error("ratee_id", "Has left the course.", "path")],
        )
    checked = _checked_ratings(project, ratings)
    row = _upsert(
        PeerEvaluation,
        {"project_id": project.id, "rater_id": actor.user_id, "ratee_id": ratee_id},
        {
            "institution_id": project.institution_id,
            "group_id": group.id,
            "ratings": checked,
            "comment": comment,
        },
        # With the rating, not after it: a failure between two commits would keep the
        # rating while telling the student nothing was stored.
        then=lambda saved: note_project_work(
            course.institution_id, course.id, actor.user_id, f"peer:{saved.id}"
        ),
    )
    return rated(project, [row])[0]


def withdraw_peer_rating(actor: Actor, course_id: int, project_id: int, ratee_id: int) -> None:
    """Withdraw the acting student's rating of a teammate (or of themselves).

    Only the student who gave a rating withdraws it, and only while the project is
    open: once closed, the scores it gives must stay put. A teacher never removes a
    student's rating (it is the student's judgement, as an evaluation is the teacher's).
    The interaction the rating counted in the engagement index stays: the work was done.
    """
    _, project = access.project(actor, course_id, project_id)
    # Shared, as for a rating: closing or reopening the project (exclusive) waits, so a
    # withdrawal checked against an open project never lands in a closed one's scores.
    project = access.hold(project)
    if access.group_of_student(project.id, actor.user_id) is None:
        raise Forbidden("You are not in a group of this project, so you have rated nobody.")
    if project.status != "open":
        raise Conflict("Peer ratings are closed for this project: they stay as they were given.")
    row = db.session.scalar(
        select(PeerEvaluation).where(
            PeerEvaluation.project_id == project.id,
            PeerEvaluation.rater_id == actor.user_id,
            PeerEvaluation.ratee_id == ratee_id,
        )
    )
    if row is None:
        raise NotFound("You have not rated this teammate.")
    db.session.delete(row)
    db.session.commit()


def peer_ratings(actor: Actor, course_id: int, project_id: int) -> list[dict]:
    """Peer ratings with scores: every one, with who gave it, for a teacher; the ones
    the acting student gave, for a student (ratings received stay anonymous)."""
    reach = access.in_project(actor, course_id, project_id)
    project = reach.project
    query = select(PeerEvaluation).where(PeerEvaluation.project_id == project.id)
    if not reach.teaches:
        query = query.where(PeerEvaluation.rater_id == actor.user_id)
    order = (PeerEvaluation.group_id, PeerEvaluation.rater_id, PeerEvaluation.ratee_id)
    return rated(project, db.session.scalars(query.order_by(*order)))
