"""A repeat launch finds user, course, enrollment and link in one lookup and still
applies every change the platform reports (name, course title, role, dropped
enrollment, link claims)."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.lti.conftest import counts, launch
from tests.lti_platform import LTI, ROLE_INSTRUCTOR


def _rows(app):
    from masteryai_lti.courses.models import Course, Enrollment
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.models import User
    from masteryai_lti.lti.models import ResourceLink

    with app.app_context():
        return (
            db.session.scalars(select(User)).all(),
            db.session.scalars(select(Course)).all(),
            db.session.scalars(select(Enrollment)).all(),
            db.session.scalars(select(ResourceLink)).all(),
        )


def test_repeat_launch_applies_a_new_name_and_course_title(app, client, platform):
    assert launch(client, platform, "student").status_code == 200
    platform.users["student"].name = "Renamed Learner"
    platform.context_title = "Algebra I (spring)"

    assert launch(client, platform, "student").status_code == 200

    users, courses, enrollments, _ = _rows(app)
    assert [u.full_name for u in users] == ["Renamed Learner"]
    assert [c.title for c in courses] == ["Algebra I (spring)"]
    assert len(enrollments) == 1


def test_a_learner_who_becomes_instructor_is_enrolled_as_teacher(app, client, platform):
    assert launch(client, platform, "student").status_code == 200
    platform.users["student"].roles = [ROLE_INSTRUCTOR]

    response = launch(client, platform, "student")

    assert response.status_code == 200
    users, _, enrollments, _ = _rows(app)
    assert [(e.role, e.status) for e in enrollments] == [("teacher", "active")]
    assert users[0].role == "teacher"


def test_a_dropped_enrollment_is_reactivated_by_a_launch(app, client, platform):
    from masteryai_lti.courses.models import Enrollment
    from masteryai_lti.extensions import db

    assert launch(client, platform, "student").status_code == 200
    with app.app_context():
        enrollment = db.session.scalar(select(Enrollment))
        enrollment.status = "dropped"
        db.session.commit()

    assert launch(client, platform, "student").status_code == 200

    _, _, enrollments, _ = _rows(app)
    assert [(e.role, e.status) for e in enrollments] == [("student", "active")]


def test_a_known_user_in_a_new_course_and_link_is_enrolled_there(app, client, platform):
    assert launch(client, platform, "student").status_code == 200
    platform.context_id = "course-ctx-2"
    platform.resource_link_id = "rl-2"

    assert launch(client, platform, "student").status_code == 200

    users, courses, enrollments, links = _rows(app)
    assert len(users) == 1
    assert sorted(c.lti_context_id for c in courses) == ["course-ctx-1", "course-ctx-2"]
    assert len(enrollments) == 2
    by_link = {link.resource_link_id: link.course_id for link in links}
    course_ids = {c.lti_context_id: c.id for c in courses}
    assert by_link == {"rl-1": course_ids["course-ctx-1"], "rl-2": course_ids["course-ctx-2"]}


def test_repeat_launch_keeps_the_link_claims_current(app, client, platform):
    assert launch(client, platform, "student").status_code == 200
    new_lineitem = platform.base_url + "/ags/course-ctx-1/lineitems/7"
    extra = {
        LTI + "custom": {"masteryai_target": "adaptive_assignment", "masteryai_id": "a-7"},
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
            "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
            "lineitem": new_lineitem,
        },
    }

    assert launch(client, platform, "student", extra_claims=extra).status_code == 200

    _, _, _, links = _rows(app)
    assert len(links) == 1
    assert links[0].ags_lineitem_url == new_lineitem
    assert links[0].target == {"kind": "adaptive_assignment", "id": "a-7"}
    assert counts(app).launches == 2
