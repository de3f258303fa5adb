"""The LMS's test student (Canvas Student View): a teacher previewing the course.

Canvas launches the teacher's Student View as a separate user whose roles are Learner
plus ``…/lti/system/person#TestUser`` (LTI 1.3 §A.2.4), and lists it in the roster the
same way. It must see what a student sees, and must not count as one of the class.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.lti import roster
from masteryai_lti.lti.roles import TEST_USER
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import (
    auth_for,
    launched_course,
    lti_user,
    started_services_platform,
)
from tests.lti_platform import ROLE_INSTRUCTOR, ROLE_LEARNER, PlatformUser


@pytest.fixture
def services_platform(app, monkeypatch):
    monkeypatch.setitem(app.config, "LTI_SYNC_ROSTER_ON_LAUNCH", False)
    yield from started_services_platform(app)


def _with_test_student(platform) -> None:
    platform.users["preview"] = PlatformUser(
        "test-student-sub", [ROLE_LEARNER, TEST_USER], "Test Student"
    )


def test_the_test_student_uses_the_course_but_is_not_in_the_class(app, client, services_platform):
    platform = services_platform
    _with_test_student(platform)
    course_id, _ = launched_course(app, client, platform, "teacher", "student")

    response = launch(client, platform, "preview")

    assert response.status_code == 200
    assert 'data-page="student"' in response.get_data(as_text=True)
    teacher = lti_user(app, platform, "teacher")
    student = lti_user(app, platform, "student")
    preview = lti_user(app, platform, "preview")
    with app.app_context():
        assert courses.student_ids(course_id) == [student.id]
        assert courses.is_student(course_id, preview.id)
    table = client.get(
        f"/api/v1/courses/{course_id}/engagement", headers=auth_for(app, teacher)
    ).get_json()
    assert [row["student_id"] for row in table["items"]] == [student.id]
    members = client.get(
        f"/api/v1/courses/{course_id}/members", headers=auth_for(app, teacher)
    ).get_json()
    assert {m["user_id"]: m["test_user"] for m in members} == {
        teacher.id: False,
        student.id: False,
        preview.id: True,
    }
    # What a student sees, the preview sees: its own breakdown.
    own = client.get(
        f"/api/v1/courses/{course_id}/engagement/students/{preview.id}",
        headers=auth_for(app, preview),
    )
    assert own.status_code == 200, own.get_json()
    assert own.get_json()["student_id"] == preview.id


def test_a_student_who_stops_being_a_test_user_joins_the_class(app, client, services_platform):
    """The marker follows the latest launch: the platform's word on who this is."""
    platform = services_platform
    _with_test_student(platform)
    course_id, _ = launched_course(app, client, platform, "teacher", "preview")
    preview = lti_user(app, platform, "preview")
    with app.app_context():
        assert courses.student_ids(course_id) == []

    platform.users["preview"].roles = [ROLE_LEARNER]
    assert launch(client, platform, "preview").status_code == 200

    with app.app_context():
        assert courses.student_ids(course_id) == [preview.id]


def test_roster_sync_marks_the_test_student_and_leaves_it_out_of_the_class(
    app, client, services_platform
):
    platform = services_platform
    platform.members.extend(
        [
            {
                "status": "Active",
                "name": "Tess Teacher",
                "user_id": "teacher-sub-1",
                "roles": [ROLE_INSTRUCTOR],
            },
            {
                "status": "Active",
                "name": "Sam Student",
                "user_id": "student-sub-1",
                "roles": [ROLE_LEARNER],
            },
            {
                "status": "Active",
                "name": "Test Student",
                "user_id": "test-student-sub",
                "roles": [ROLE_LEARNER, TEST_USER],
            },
        ]
    )
    course_id, _ = launched_course(app, client, platform, "teacher")

    with app.app_context():
        report = roster.sync_course(course_id)

        assert report.test_users == 1 and report.as_dict()["test_users"] == 1
        assert report.users_created == 2
        marks = dict(
            db.session.execute(
                select(Enrollment.user_id, Enrollment.test_user).where(
                    Enrollment.course_id == course_id, Enrollment.role == "student"
                )
            ).all()
        )
        assert sorted(marks.values()) == [False, True]
        [real] = [uid for uid, test in marks.items() if not test]
        assert courses.student_ids(course_id) == [real]
    # Neither has done anything yet: the real student is flagged, the preview is not
    # listed (roster students with no activity are always flagged).
    teacher = lti_user(app, platform, "teacher")
    at_risk = client.get(
        f"/api/v1/courses/{course_id}/engagement/at-risk", headers=auth_for(app, teacher)
    )
    assert at_risk.status_code == 200, at_risk.get_json()
    assert [row["student_id"] for row in at_risk.get_json()] == [real]


def test_the_test_student_sees_its_own_mastery_and_is_not_on_the_heatmap(
    app, client, services_platform
):
    platform = services_platform
    _with_test_student(platform)
    course_id, _ = launched_course(app, client, platform, "teacher", "student", "preview")
    teacher = auth_for(app, lti_user(app, platform, "teacher"))
    student = lti_user(app, platform, "student")
    preview = lti_user(app, platform, "preview")
    graph = {"concepts": [{"key": "add", "name": "Addition", "prerequisites": []}]}
    assert (
        client.put(
            f"/api/v1/courses/{course_id}/concept-graph",
            json={"document": graph},
            headers=teacher,
        ).status_code
        == 200
    )

    own = auth_for(app, preview)
    for path in (
        "mastery/me",
        f"mastery/students/{preview.id}/weak-concepts",
        "recommendations/me",
    ):
        response = client.get(f"/api/v1/courses/{course_id}/{path}", headers=own)
        assert response.status_code == 200, (path, response.get_json())
    heatmap = client.get(f"/api/v1/courses/{course_id}/mastery/heatmap", headers=teacher)
    assert [s["user_id"] for s in heatmap.get_json()["students"]] == [student.id]
