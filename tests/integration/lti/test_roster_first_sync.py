"""A course's first NRPS roster sync: set-wise writes, the same results as one by one.

The first sync of a big course (a district-wide install, a teacher opening the tool in
a course of 2,000) creates a user, identities and an enrollment per member and links
each one's waiting xAPI statements. These tests pin that it costs no statements per
member, what it writes, and what happens when a member launches while it runs.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.courses.models import Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
from masteryai_lti.identity.models import User, UserIdentity
from masteryai_lti.lti import roster
from masteryai_lti.xapi.models import PENDING, UNKNOWN_ACTOR, XapiStatement
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import (
    launched_course,
    lti_user,
    started_services_platform,
)
from tests.lti_platform import ROLE_INSTRUCTOR, ROLE_LEARNER
from tests.sql_statements import SqlStatements

ROLE_TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"
ROLE_MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"


@pytest.fixture
def services_platform(app, monkeypatch):
    # These tests drive the sync themselves; the launch-time refresh has its own tests.
    monkeypatch.setitem(app.config, "LTI_SYNC_ROSTER_ON_LAUNCH", False)
    for started in started_services_platform(app):
        started.members_page_size = 100
        yield started


def _roster_with_the_platform_users(platform) -> None:
    platform.members.extend(
        {"status": "Active", "name": u.name, "user_id": u.sub, "roles": list(u.roles)}
        for u in platform.users.values()
    )


def _synced(app, course_id) -> tuple[int, roster.RosterSyncReport]:
    """The statements of a sync, and its report.

    Not counted on SQLite: the INSERTs of users and enrollments. SQLite does not say
    which generated id belongs to which row of a multi-row INSERT, so SQLAlchemy sends
    rows whose ids it needs one at a time there (in process: no round trip); on
    PostgreSQL they are batched and counted like every other statement.
    """
    with SqlStatements(app) as seen, app.app_context():
        report = roster.sync_course(course_id)
        one_row_inserts = (
            ("INSERT INTO users ", "INSERT INTO enrollments ")
            if db.engine.dialect.name == "sqlite"
            else ()
        )
    counted = [text for text in seen.texts if not text.startswith(one_row_inserts)]
    return len(counted), report


def _user_of(institution_id: int, platform, sub: str) -> User | None:
    return identity.find_user_by_identity(institution_id, "lti", f"{platform.issuer}|{sub}")


def test_a_sync_of_200_new_members_costs_the_statements_of_one_of_50(
    app, client, services_platform
):
    platform = services_platform
    _roster_with_the_platform_users(platform)
    course_id, _ = launched_course(app, client, platform, "teacher")
    # The tool's first call of the platform's services makes its signing key: once.
    _synced(app, course_id)
    platform.add_members(50, role=ROLE_LEARNER, prefix="early")
    fifty, first = _synced(app, course_id)
    platform.add_members(200, role=ROLE_LEARNER, prefix="late")

    two_hundred, second = _synced(app, course_id)

    assert first.users_created == 50
    assert second.users_created == 200
    assert two_hundred == fifty, (fifty, two_hundred)
    with app.app_context():
        institution_id = lti_user(app, platform, "teacher").institution_id
        late = _user_of(institution_id, platform, "late-sub-199")
        assert late.full_name == "Late 199" and late.role == "student"
        assert identity.users_by_identities(
            institution_id, [("mbox", "mailto:late199@lms.example")]
        ) == {("mbox", "mailto:late199@lms.example"): late.id}
        statuses = db.session.execute(
            select(Enrollment.role, Enrollment.status, Enrollment.source, func.count())
            .where(Enrollment.course_id == course_id)
            .group_by(Enrollment.role, Enrollment.status, Enrollment.source)
        ).all()
        assert sorted(statuses) == [
            ("student", "active", "nrps", 251),
            ("teacher", "active", "lti", 1),
        ]


def test_a_first_sync_writes_roles_test_users_observers_and_inactive_members(
    app, client, services_platform
):
    platform = services_platform
    _roster_with_the_platform_users(platform)
    platform.add_members(3, role=ROLE_LEARNER, prefix="learner")
    platform.add_members(1, role=ROLE_INSTRUCTOR, prefix="coteacher")
    [preview] = platform.add_members(1, role=ROLE_LEARNER, prefix="preview")
    preview["roles"].append(ROLE_TEST_USER)
    platform.add_members(1, role=ROLE_MENTOR, prefix="parent")
    [dropped] = platform.add_members(1, role=ROLE_LEARNER, prefix="dropped")
    dropped["status"] = "Inactive"
    # Two members giving one e-mail address: the first on the roster keeps it.
    [twin] = platform.add_members(1, role=ROLE_LEARNER, prefix="twin")
    twin["email"] = "learner0@lms.example"
    course_id, _ = launched_course(app, client, platform, "teacher")

    _, report = _synced(app, course_id)

    assert report.as_dict() == {
        "pages": 1,
        "members": 10,
        "users_created": 8,  # all but the teacher (launched) and the parent (observer)
        "enrollments_active": 8,
        "enrollments_deactivated": 1,
        "observers": 1,
        "test_users": 1,
        "skipped": 0,
    }
    with app.app_context():
        institution_id = lti_user(app, platform, "teacher").institution_id

        def enrollment_of(sub):
            user = _user_of(institution_id, platform, sub)
            return db.session.execute(
                select(Enrollment.role, Enrollment.status, Enrollment.test_user).where(
                    Enrollment.course_id == course_id, Enrollment.user_id == user.id
                )
            ).one()

        assert tuple(enrollment_of("coteacher-sub-0")) == ("teacher", "active", False)
        assert _user_of(institution_id, platform, "coteacher-sub-0").role == "teacher"
        assert tuple(enrollment_of("preview-sub-0")) == ("student", "active", True)
        assert tuple(enrollment_of("dropped-sub-0")) == ("student", "inactive", False)
        assert _user_of(institution_id, platform, "parent-sub-0") is None
        first = _user_of(institution_id, platform, "learner-sub-0")
        twin_user = _user_of(institution_id, platform, "twin-sub-0")
        mailboxes = dict(
            db.session.execute(
                select(UserIdentity.user_id, func.count())
                .where(UserIdentity.kind == "mbox", UserIdentity.value.like("%learner0@%"))
                .group_by(UserIdentity.user_id)
            ).all()
        )
        assert mailboxes == {first.id: 1}
        assert twin_user is not None and twin_user.id != first.id


def test_a_resync_links_a_changed_email_and_renames(app, client, services_platform):
    """The roster adds a member's new e-mail address as another xAPI mailbox (their
    statements may carry either) and takes the name the LMS now gives, as a launch
    does: the teacher reads the class by these names."""
    platform = services_platform
    _roster_with_the_platform_users(platform)
    [moved, renamed] = platform.add_members(2, role=ROLE_LEARNER, prefix="learner")
    course_id, _ = launched_course(app, client, platform, "teacher")
    _synced(app, course_id)
    moved["email"] = "moved@lms.example"
    renamed["name"] = "Someone Else"

    _, report = _synced(app, course_id)

    assert report.users_created == 0 and report.enrollments_deactivated == 0
    with app.app_context():
        institution_id = lti_user(app, platform, "teacher").institution_id
        moved_user = _user_of(institution_id, platform, "learner-sub-0")
        assert identity.identity_values(institution_id, moved_user.id, "mbox") == [
            "mailto:learner0@lms.example",
            "mailto:moved@lms.example",
        ]
        assert _user_of(institution_id, platform, "learner-sub-1").full_name == "Someone Else"
        assert moved_user.full_name == "Learner 0"


def test_a_member_still_inactive_is_not_deactivated_again(app, client, services_platform):
    platform = services_platform
    _roster_with_the_platform_users(platform)
    [dropped] = platform.add_members(1, role=ROLE_LEARNER, prefix="dropped")
    dropped["status"] = "Inactive"
    course_id, _ = launched_course(app, client, platform, "teacher")
    _, first = _synced(app, course_id)

    _, again = _synced(app, course_id)

    assert first.enrollments_deactivated == 1
    assert again.enrollments_deactivated == 0
    with app.app_context():
        institution_id = lti_user(app, platform, "teacher").institution_id
        user = _user_of(institution_id, platform, "dropped-sub-0")
        status = db.session.scalar(select(Enrollment.status).where(Enrollment.user_id == user.id))
        assert status == "inactive"


def _waiting_statement(institution_id: int, mbox: str) -> None:
    """An xAPI statement stored before anyone was linked to its actor."""
    actor = {"objectType": "Agent", "mbox": mbox}
    statement_id = uuid.uuid4()
    verb = "http://adlnet.gov/expapi/verbs/experienced"
    now = utcnow()
    db.session.add(
        XapiStatement(
            institution_id=institution_id,
            statement_id=statement_id,
            stored=now,
            timestamp=now,
            actor_key=f"agent|mbox|{mbox}",
            verb_id=verb,
            object_type="Activity",
            object_activity_id="http://example.org/activity/1",
            agent_keys=[f"agent|mbox|{mbox}"],
            activity_ids=["http://example.org/activity/1"],
            statement={
                "id": str(statement_id),
                "actor": actor,
                "verb": {"id": verb},
                "object": {"id": "http://example.org/activity/1"},
            },
            projection_state=UNKNOWN_ACTOR,
        )
    )


def test_a_first_sync_sends_the_new_members_waiting_statements_to_projection(
    app, client, services_platform
):
    platform = services_platform
    _roster_with_the_platform_users(platform)
    platform.add_members(3, role=ROLE_LEARNER, prefix="learner")
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        institution_id = lti_user(app, platform, "teacher").institution_id
        for mbox in ("mailto:learner1@lms.example", "mailto:stranger@lms.example"):
            _waiting_statement(institution_id, mbox)
        db.session.commit()

    _synced(app, course_id)

    with app.app_context():
        states = dict(
            db.session.execute(
                select(XapiStatement.actor_key, XapiStatement.projection_state)
            ).all()
        )
        assert states == {
            "agent|mbox|mailto:learner1@lms.example": PENDING,
            "agent|mbox|mailto:stranger@lms.example": UNKNOWN_ACTOR,
        }


def _launching_meanwhile(app, monkeypatch, platform, who: str) -> list:
    """Make the next sync meet ``who``'s launch: it runs, in its own session, right
    after the sync has read which identities and enrollments exist, and commits
    before the sync writes."""
    original = roster._known
    launched = []

    def known_then_launch(*args, **kwargs):
        known = original(*args, **kwargs)
        if not launched:
            outcome = []
            thread = threading.Thread(
                target=lambda: outcome.append(launch(app.test_client(), platform, who))
            )
            thread.start()
            thread.join(timeout=60)
            assert outcome and outcome[0].status_code == 200
            launched.append(outcome[0])
        return known

    monkeypatch.setattr(roster, "_known", known_then_launch)
    return launched


@pytest.mark.parametrize("before", ["never seen", "known, not enrolled"])
def test_a_member_launching_during_the_first_sync_ends_with_one_user_and_enrollment(
    app, client, services_platform, monkeypatch, before
):
    platform = services_platform
    _roster_with_the_platform_users(platform)
    platform.add_members(20, role=ROLE_LEARNER, prefix="learner")
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
        institution_id = lti_user(app, platform, "teacher").institution_id
    if before == "known, not enrolled":
        launch(client, platform, "student")
        with app.app_context():
            student = _user_of(institution_id, platform, platform.users["student"].sub)
            db.session.execute(
                Enrollment.__table__.delete().where(Enrollment.user_id == student.id)
            )
            db.session.commit()
    launched = _launching_meanwhile(app, monkeypatch, platform, "student")

    _, report = _synced(app, course_id)

    assert launched, "the student launched while the sync ran"
    assert report.enrollments_active == 22
    with app.app_context():
        student = _user_of(institution_id, platform, platform.users["student"].sub)
        enrollments = db.session.execute(
            select(Enrollment.role, Enrollment.status).where(
                Enrollment.course_id == course_id, Enrollment.user_id == student.id
            )
        ).all()
        assert [tuple(e) for e in enrollments] == [("student", "active")]
        # Nobody was made twice: the teacher, the student and the 20 learners.
        assert db.session.scalar(select(func.count()).select_from(User)) == 22
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Enrollment)
                .where(Enrollment.course_id == course_id, Enrollment.status == "active")
            )
            == 22
        )


def test_a_background_sync_that_keeps_meeting_launches_gives_up_and_writes_nothing(
    app, client, services_platform, monkeypatch
):
    platform = services_platform
    _roster_with_the_platform_users(platform)
    platform.add_members(5, role=ROLE_LEARNER, prefix="learner")
    course_id, _ = launched_course(app, client, platform, "teacher")
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    monkeypatch.setattr(roster, "_WRITE_ATTEMPTS", 1)
    _launching_meanwhile(app, monkeypatch, platform, "student")

    with app.app_context():
        outcome = roster.sync_course_job(course_id)

    assert "error" in outcome
    with app.app_context():
        # The teacher and the student's own launch; none of the learners.
        assert db.session.scalar(select(func.count()).select_from(User)) == 2
