"""A statement cannot put events or attempts into another institution's course.

Content may name the course a statement is about with the course-id context
extension. That id is the poster's to choose: an LRS credential (or a page's
script holding one) of one school naming another school's course id must not add
to that course's engagement or mastery.
"""

from __future__ import annotations

from sqlalchemy import func, select

from masteryai_lti.engagement.models import EngagementEvent
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identities
from masteryai_lti.mastery.models import Attempt
from masteryai_lti.xapi.projection import COURSE_EXTENSION
from tests.factories import make_course, make_enrollment, make_institution, make_user
from tests.integration.xapi.conftest import statement


def _rows_in(model, course_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.course_id == course_id)
    )


def test_a_course_id_of_another_institution_is_not_taken(lrs, institution):
    victim_school = make_institution()
    victim_course = make_course(victim_school)
    learner = make_user(institution)
    own_course = make_course(institution)
    make_enrollment(own_course, learner)
    identities.link_identity(institution.id, learner.id, "mbox", "mailto:learner1@example.org")
    db.session.commit()
    body = statement(
        1,
        result={"success": True, "score": {"scaled": 1.0}},
        context={"extensions": {COURSE_EXTENSION: victim_course.id}},
    )

    assert lrs.post(body).status_code == 200

    assert _rows_in(EngagementEvent, victim_course.id) == 0
    assert _rows_in(Attempt, victim_course.id) == 0
    # The statement still counts where it belongs: the learner's own course.
    assert _rows_in(EngagementEvent, own_course.id) == 1


def test_a_course_id_of_the_posting_institution_is_taken(lrs, institution):
    learner = make_user(institution)
    first, second = make_course(institution), make_course(institution)
    make_enrollment(first, learner)
    make_enrollment(second, learner)
    identities.link_identity(institution.id, learner.id, "mbox", "mailto:learner1@example.org")
    db.session.commit()
    body = statement(
        1,
        result={"success": True},
        context={"extensions": {COURSE_EXTENSION: str(second.id)}},
    )

    assert lrs.post(body).status_code == 200

    assert _rows_in(EngagementEvent, second.id) == 1
    assert _rows_in(EngagementEvent, first.id) == 0
