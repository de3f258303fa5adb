"""NRPS roster sync across pages against the test platform on loopback."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
from masteryai_lti.lti import roster
from masteryai_lti.lti.service_client import PlatformServiceError
from tests.integration.lti.services_support import (
    auth_for,
    launched_course,
    lti_user,
    started_services_platform,
)
from tests.lti_platform import ROLE_INSTRUCTOR, ROLE_LEARNER
from tests.sql_statements import SqlStatements

ROLE_MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"


@pytest.fixture
def services_platform(app, monkeypatch):
    # These tests drive the sync themselves; the launch-time refresh has its own tests.
    monkeypatch.setitem(app.config, "LTI_SYNC_ROSTER_ON_LAUNCH", False)
    yield from started_services_platform(app)


def _roster_with(platform, learners: int) -> None:
    platform.members.extend(
        {"status": "Active", "name": u.name, "user_id": u.sub, "roles": list(u.roles)}
        for u in platform.users.values()
    )
    platform.add_members(learners, role=ROLE_LEARNER, prefix="learner")


def test_roster_synced_across_several_pages(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=8)  # 10 members, 3 per page: 4 pages
    platform.add_members(1, role=ROLE_INSTRUCTOR, prefix="coteacher")
    course_id, _ = launched_course(app, client, platform, "teacher")
    teacher = lti_user(app, platform, "teacher")

    response = client.post(
        f"/api/v1/courses/{course_id}/roster-sync", headers=auth_for(app, teacher)
    )

    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["pages"] == 4
    assert report["members"] == 11
    # 8 learners, the co-teacher and the platform's student: none of them launched.
    assert report["users_created"] == 10
    pages = [r for r in platform.service_requests if r["path"].startswith("/nrps/")]
    assert len(pages) == 4
    assert all(
        r["headers"]["Accept"] == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
        for r in pages
    )
    with app.app_context():
        institution_id = teacher.institution_id
        student_ids = set(courses.student_ids(course_id))
        assert len(student_ids) == 9  # 8 learners + the platform's student
        never_launched = identity.find_user_by_identity(
            institution_id, "lti", f"{platform.issuer}|learner-sub-7"
        )
        assert never_launched is not None and never_launched.id in student_ids
        assert never_launched.full_name == "Learner 7"
        assert (
            identity.find_user_by_identity(institution_id, "mbox", "mailto:learner7@lms.example")
            == never_launched
        )
        enrollment = db.session.scalar(
            select(Enrollment).where(Enrollment.user_id == never_launched.id)
        )
        assert (enrollment.source, enrollment.role, enrollment.status) == (
            "nrps",
            "student",
            "active",
        )
        coteacher = identity.find_user_by_identity(
            institution_id, "lti", f"{platform.issuer}|coteacher-sub-0"
        )
        role = db.session.scalar(select(Enrollment.role).where(Enrollment.user_id == coteacher.id))
        assert role == "teacher"


def test_a_later_student_launch_reuses_the_synced_user(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=2)
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        roster.sync_course(course_id)
        users_before = db.session.scalar(select(func.count()).select_from(Enrollment))

    launched_course(app, client, platform, "student")

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == users_before


def test_resync_is_idempotent_and_marks_departed_and_inactive_members(
    app, client, services_platform
):
    platform = services_platform
    _roster_with(platform, learners=4)
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        first = roster.sync_course(course_id)
        assert first.users_created == 5  # 4 learners and the student
        platform.members = [m for m in platform.members if m["user_id"] != "learner-sub-0"]
        platform.members[-1]["status"] = "Inactive"  # learner-sub-3 dropped the course

        second = roster.sync_course(course_id)

        assert second.users_created == 0
        assert second.enrollments_deactivated == 2
        remaining = {
            identity.find_user_by_identity(
                platform_user.institution_id, "lti", f"{platform.issuer}|learner-sub-{n}"
            ).id
            for n in (1, 2)
            for platform_user in [lti_user(app, platform, "teacher")]
        }
        departed = identity.find_user_by_identity(
            lti_user(app, platform, "teacher").institution_id,
            "lti",
            f"{platform.issuer}|learner-sub-0",
        )
        active = set(courses.student_ids(course_id))
        assert remaining <= active
        assert departed.id not in active
        assert len(active) == 3  # learners 1, 2 and the student
        # The teacher who launched stays (still on the roster).
        teacher = lti_user(app, platform, "teacher")
        status = db.session.scalar(
            select(Enrollment.status).where(Enrollment.user_id == teacher.id)
        )
        assert status == "active"


def test_parents_and_mentors_on_the_roster_are_not_enrolled(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=2)
    platform.add_members(1, role=ROLE_MENTOR, prefix="parent")
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        report = roster.sync_course(course_id)

        assert report.observers == 1 and report.as_dict()["observers"] == 1
        assert report.users_created == 3  # the two learners and the platform's student
        institution_id = lti_user(app, platform, "teacher").institution_id
        parent = f"{platform.issuer}|parent-sub-0"
        assert identity.find_user_by_identity(institution_id, "lti", parent) is None
        assert len(courses.student_ids(course_id)) == 3


def test_a_parent_enrolled_as_a_student_before_leaves_the_class(app, client, services_platform):
    """Earlier releases read Mentor as a learner: the next sync takes them out."""
    platform = services_platform
    _roster_with(platform, learners=2)
    [parent] = platform.add_members(1, role=ROLE_LEARNER, prefix="parent")
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        roster.sync_course(course_id)
        assert len(courses.student_ids(course_id)) == 4
        parent["roles"] = [ROLE_MENTOR]

        report = roster.sync_course(course_id)

        assert report.enrollments_deactivated == 1
        assert len(courses.student_ids(course_id)) == 3


def test_failed_page_changes_nothing(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=6)
    course_id, _ = launched_course(app, client, platform, "teacher")
    original = platform.app.view_functions["memberships"]

    def fail_on_page_two(context_id):
        from flask import request

        if request.args.get("page") == "2":
            return "server error", 500
        return original(context_id)

    platform.app.view_functions["memberships"] = fail_on_page_two
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Enrollment))
        with pytest.raises(PlatformServiceError) as failure:
            roster.sync_course(course_id)
        assert failure.value.retryable
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == before


def test_roster_of_another_context_is_refused(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=1)
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        from masteryai_lti.courses.models import Course

        course = db.session.get(Course, course_id)
        course.lti_context_id = "some-other-context"
        db.session.commit()
        with pytest.raises(PlatformServiceError, match="another course"):
            roster.sync_course(course_id)


def test_sync_needs_a_teacher_and_a_roster_service(app, client, services_platform):
    platform = services_platform
    course_id, _ = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    teacher = lti_user(app, platform, "teacher")

    by_student = client.post(
        f"/api/v1/courses/{course_id}/roster-sync", headers=auth_for(app, student)
    )
    assert by_student.status_code == 403

    with app.app_context():
        from masteryai_lti.lti.models import ResourceLink

        for link in db.session.scalars(select(ResourceLink)):
            link.nrps_context_memberships_url = None
        db.session.commit()
    no_service = client.post(
        f"/api/v1/courses/{course_id}/roster-sync", headers=auth_for(app, teacher)
    )
    assert no_service.status_code == 409

    platform.down = True
    with app.app_context():
        from masteryai_lti.lti.models import ResourceLink

        for link in db.session.scalars(select(ResourceLink)):
            link.nrps_context_memberships_url = platform.memberships_url
        db.session.commit()
    down = client.post(f"/api/v1/courses/{course_id}/roster-sync", headers=auth_for(app, teacher))
    assert down.status_code == 502
    assert down.headers["Content-Type"].startswith("application/problem+json")


def test_sync_roster_command(app, client, runner, services_platform):
    platform = services_platform
    _roster_with(platform, learners=5)
    course_id, _ = launched_course(app, client, platform, "teacher")

    result = runner.invoke(args=["lti", "sync-roster", str(course_id)])

    assert result.exit_code == 0, result.output
    assert "7 members over 3 page(s): 6 new users" in result.output
    missing = runner.invoke(args=["lti", "sync-roster", "999999"])
    assert missing.exit_code != 0 and "No such course" in missing.output


def test_sync_roster_command_for_every_course_keeps_going_past_a_failing_one(
    app, client, runner, services_platform
):
    """The nightly cron form: every course an LMS offered a roster for is synced; one
    whose LMS fails is reported, the others are still synced, and the exit status
    tells cron something failed."""
    platform = services_platform
    _roster_with(platform, learners=2)
    course_id, _ = launched_course(app, client, platform, "teacher")
    second = started_services_platform(app)
    broken = next(second)
    try:
        broken.nrps_down = True
        broken.context_id = "course-ctx-broken"
        broken_course, _ = launched_course(app, client, broken, "teacher")
        with app.app_context():
            # (Two platforms, two institutions: the first course's is the one wanted.)
            institution_id = db.session.get(Course, course_id).institution_id
            # A course no LMS offered a roster for has nothing to sync: not listed.
            quiet = courses.upsert_lms_course(institution_id, "ctx-quiet", "Q", None)
            db.session.commit()
            quiet_id = quiet.id

        result = runner.invoke(args=["lti", "sync-roster", "--all"])
    finally:
        second.close()

    assert result.exit_code == 1, result.output
    assert f"course {course_id}: 4 members" in result.output
    assert f"course {broken_course}: failed" in result.output
    assert f"course {quiet_id}:" not in result.output
    with app.app_context():
        assert len(courses.student_ids(course_id)) == 3


def test_sync_roster_command_wants_a_course_or_all(runner):
    result = runner.invoke(args=["lti", "sync-roster"])

    assert result.exit_code != 0 and "--all" in result.output


def test_request_sync_runs_once_per_interval(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=2)
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        assert roster.request_sync(course_id) is True
        assert len(courses.student_ids(course_id)) == 3  # ran inline: 2 learners + student
        assert roster.request_sync(course_id) is False  # within the interval
    first_pages = [r for r in platform.service_requests if r["path"] == "/nrps/course-ctx-1?"]
    assert len(first_pages) == 1


def test_background_sync_logs_a_platform_failure_instead_of_raising(app, client, services_platform):
    platform = services_platform
    course_id, _ = launched_course(app, client, platform, "teacher")
    platform.down = True
    with app.app_context():
        outcome = roster.sync_course_job(course_id)
    assert "503" in outcome["error"]


def test_a_teacher_launch_brings_in_students_who_never_launched(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=3)
    app.config["LTI_SYNC_ROSTER_ON_LAUNCH"] = True

    course_id, _ = launched_course(app, client, platform, "teacher")

    with app.app_context():
        # 3 learners and the platform's student, none of whom launched.
        assert len(courses.student_ids(course_id)) == 4
    launched_course(app, client, platform, "teacher")
    first_pages = [r for r in platform.service_requests if r["path"] == "/nrps/course-ctx-1?"]
    assert len(first_pages) == 1, "a second launch within the hour does not sync again"


def test_a_failing_roster_refresh_never_breaks_the_teacher_launch(app, client, services_platform):
    platform = services_platform
    app.config["LTI_SYNC_ROSTER_ON_LAUNCH"] = True
    platform.nrps_down = True

    course_id, _ = launched_course(app, client, platform, "teacher")

    with app.app_context():
        assert courses.student_ids(course_id) == []


def test_the_class_table_follows_the_synced_roster(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=3)
    course_id, _ = launched_course(app, client, platform, "teacher")
    headers = auth_for(app, lti_user(app, platform, "teacher"))
    table = f"/api/v1/courses/{course_id}/engagement?per_page=100"
    with app.app_context():
        roster.sync_course(course_id)
    before = client.get(table, headers=headers).get_json()
    assert before["total"] == 4  # 3 learners and the platform's student, cached now

    platform.members = [m for m in platform.members if m["user_id"] != "learner-sub-0"]
    platform.add_members(2, role=ROLE_LEARNER, prefix="newcomer")
    with app.app_context():
        roster.sync_course(course_id)
        institution_id = lti_user(app, platform, "teacher").institution_id

        def user_id(sub):
            return identity.find_user_by_identity(
                institution_id, "lti", f"{platform.issuer}|{sub}"
            ).id

        departed = user_id("learner-sub-0")
        newcomers = {user_id(f"newcomer-sub-{n}") for n in (0, 1)}

    after = client.get(table, headers=headers).get_json()
    rows = {row["student_id"]: row for row in after["items"]}
    assert after["total"] == 5
    assert departed not in rows
    # Synced students who have not opened anything yet are flagged at once.
    assert all(rows[n]["no_activity"] and rows[n]["flagged"] for n in newcomers)
    at_risk = client.get(f"/api/v1/courses/{course_id}/engagement/at-risk", headers=headers)
    assert newcomers <= {row["student_id"] for row in at_risk.get_json()}


def _statements_of_a_resync(app, course_id) -> tuple[int, dict]:
    """SQL statements of syncing the course's roster once more, and the report."""
    with SqlStatements(app) as seen, app.app_context():
        report = roster.sync_course(course_id).as_dict()
    return seen.count, report


def test_an_unchanged_roster_is_resynced_without_a_query_per_member(app, client, services_platform):
    platform = services_platform
    _roster_with(platform, learners=5)
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        roster.sync_course(course_id)
    small, _ = _statements_of_a_resync(app, course_id)
    platform.add_members(15, role=ROLE_LEARNER, prefix="later")
    with app.app_context():
        roster.sync_course(course_id)
    large, report = _statements_of_a_resync(app, course_id)
    assert large == small
    assert report["users_created"] == 0 and report["enrollments_deactivated"] == 0
    assert report["enrollments_active"] == report["members"]
    with app.app_context():
        assert len(courses.student_ids(course_id)) == 5 + 15 + 1  # + the platform's student
