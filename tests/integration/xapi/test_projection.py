"""Projection of stored statements into engagement events and mastery attempts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.xapi import projection
from masteryai_lti.xapi.models import PENDING, PROJECTED, UNKNOWN_ACTOR, XapiStatement
from masteryai_lti.xapi.vocabulary import engagement_kind
from tests.factories import make_course, make_enrollment, make_user
from tests.integration.xapi.conftest import statement


@pytest.fixture
def recorded(monkeypatch):
    """Capture what projection hands the engagement and mastery services."""
    calls = {"events": [], "attempts": []}

    def record_events(institution_id, events):
        calls["events"].extend((institution_id, e) for e in events)
        return len(events)

    def record_attempt(institution_id, user_id, **kwargs):
        calls["attempts"].append((institution_id, user_id, kwargs))
        return object()

    monkeypatch.setattr(projection, "_downstream", lambda: (record_events, record_attempt))
    return calls


@pytest.fixture
def learner(institution):
    from masteryai_lti.identity import service as identities

    user = make_user(institution)
    course = make_course(institution)
    make_enrollment(course, user, role="student")
    identities.link_identity(institution.id, user.id, "mbox", "mailto:learner1@example.org")
    db.session.commit()
    return user, course


def _states():
    db.session.rollback()
    return [row.projection_state for row in db.session.scalars(select(XapiStatement))]


def test_a_scored_answer_becomes_a_quiz_event_and_an_attempt(lrs, learner, recorded):
    user, course = learner
    body = statement(1, result={"success": True, "score": {"scaled": 0.8}, "duration": "PT1M30S"})
    sid = lrs.post(body).json[0]
    assert _states() == [PROJECTED]
    ((_, event),) = recorded["events"]
    assert event["kind"] == "quiz" and event["user_id"] == user.id
    assert event["course_id"] == course.id and event["source_id"] == sid
    assert event["score"] == pytest.approx(0.8)
    ((_, attempt_user, attempt),) = recorded["attempts"]
    assert attempt_user == user.id and attempt["correct"] is True
    assert (
        attempt["duration_s"] == 90 and attempt["activity_id"] == "http://example.org/activity/q1"
    )


def test_replaying_projection_hands_the_same_source_ids(lrs, learner, recorded):
    sid = lrs.post(statement(1, result={"success": False})).json[0]
    rows = db.session.scalars(select(XapiStatement)).all()
    for row in rows:
        row.projection_state = PENDING
    db.session.commit()
    projection.project_pending()
    assert [e["source_id"] for _, e in recorded["events"]] == [sid, sid]
    assert _states() == [PROJECTED]


def test_unknown_actor_waits_and_is_projected_once_linked(lrs, institution, recorded):
    from masteryai_lti.identity import service as identities

    lrs.post(statement(7, result={"success": True}))
    assert _states() == [UNKNOWN_ACTOR]
    assert recorded["attempts"] == []
    user = make_user(institution)
    course = make_course(institution)
    make_enrollment(course, user, role="student")
    identities.link_identity(institution.id, user.id, "mbox", "mailto:learner7@example.org")
    db.session.commit()
    assert _states() == [PENDING]
    projection.project_pending()
    assert _states() == [PROJECTED]
    assert recorded["attempts"][0][1] == user.id


def test_a_crash_before_projection_loses_nothing(app, make_app, credential, learner, recorded):
    from tests.integration.xapi.conftest import Lrs

    quiet = make_app(XAPI_PROJECTION="off")
    with quiet.app_context():
        client = quiet.test_client()
        Lrs(client, credential.key, credential.secret).post(statement(1, result={"success": True}))
    assert _states() == [PENDING]
    result = app.test_cli_runner().invoke(args=["xapi", "project"])
    assert result.exit_code == 0, result.output
    assert "Projected 1" in result.output
    assert _states() == [PROJECTED]
    assert len(recorded["attempts"]) == 1


def test_institution_rules_override_the_defaults(lrs, learner, recorded, institution):
    from masteryai_lti.xapi.models import XapiEngagementRule

    db.session.add(
        XapiEngagementRule(
            institution_id=institution.id,
            verb_id="http://adlnet.gov/expapi/verbs/answered",
            activity_type=None,
            kind="interaction",
        )
    )
    db.session.commit()
    lrs.post(statement(1))
    assert recorded["events"][0][1]["kind"] == "interaction"


def test_voided_statements_are_not_projected(lrs, learner, recorded):
    quiz = lrs.post(statement(1, result={"success": True})).json[0]
    recorded["events"].clear()
    lrs.post(
        statement(
            1,
            verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
            object={"objectType": "StatementRef", "id": quiz},
        )
    )
    assert recorded["events"] == []


def test_projection_with_the_real_services(lrs, learner):
    """End to end with the engagement service when it is installed."""
    pytest.importorskip("masteryai_lti.engagement.service")
    lrs.post(statement(1, result={"success": True}))
    assert _states() == [PROJECTED]


@pytest.mark.parametrize(
    ("verb", "activity_type", "kind"),
    [
        ("http://adlnet.gov/expapi/verbs/attended", None, "attendance"),
        ("http://adlnet.gov/expapi/verbs/launched", None, "launch"),
        (
            "http://adlnet.gov/expapi/verbs/completed",
            "http://adlnet.gov/expapi/activities/assessment",
            "quiz",
        ),
        ("http://id.tincanapi.com/verb/viewed", None, "resource_view"),
        ("http://activitystrea.ms/schema/1.0/submit", None, "submission"),
        ("https://w3id.org/xapi/video/verbs/played", None, "resource_view"),
        ("https://w3id.org/xapi/adl/verbs/waived", None, None),
        ("http://example.org/unknown", None, None),
        ("http://example.org/unknown", "http://adlnet.gov/expapi/activities/meeting", "attendance"),
    ],
)
def test_default_vocabulary(verb, activity_type, kind):
    assert engagement_kind(verb, activity_type) == kind


def test_a_failing_engagement_service_parks_the_chunk_as_failed(lrs, learner, monkeypatch):
    from masteryai_lti.xapi.models import FAILED

    def broken(institution_id, events):
        raise RuntimeError("engagement store is down")

    monkeypatch.setattr(projection, "_downstream", lambda: (broken, None))
    lrs.post(statement(1))
    db.session.rollback()
    (row,) = db.session.scalars(select(XapiStatement)).all()
    assert row.projection_state == FAILED
    assert "engagement store is down" in row.projection_note
    monkeypatch.setattr(projection, "_downstream", lambda: (lambda i, e: len(e), None))
    assert projection.retry_failed() == 1
    projection.project_pending()
    assert _states() == [PROJECTED]


def test_a_database_that_drops_the_connection_leaves_the_chunk_pending(lrs, learner, monkeypatch):
    """Nothing in the rows is wrong when the database goes away mid-chunk (a restart,
    a failover): they stay in the outbox for the next job, not among the failed."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the connection is dropped by PostgreSQL's pg_terminate_backend")

    def connection_lost(institution_id, events):
        db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    monkeypatch.setattr(projection, "_downstream", lambda: (connection_lost, None))
    lrs.post(statement(1))
    assert _states() == [PENDING]

    monkeypatch.setattr(projection, "_downstream", lambda: (lambda i, e: len(e), None))
    projection.project_pending()
    assert _states() == [PROJECTED]


def test_a_person_linked_during_a_request_is_projected_when_it_ends(
    app, lrs, institution, recorded
):
    from masteryai_lti.identity import service as identities

    lrs.post(statement(8, result={"success": True}))
    assert _states() == [UNKNOWN_ACTOR]
    user = make_user(institution)
    with app.test_request_context("/lti/launch"):
        identities.link_identity(institution.id, user.id, "mbox", "mailto:learner8@example.org")
        db.session.commit()
        app.do_teardown_request()
    assert _states() == [PROJECTED]
    assert recorded["attempts"][0][1] == user.id


def test_a_linked_actor_is_scheduled_when_the_link_commits_not_before(
    lrs, institution, monkeypatch
):
    from masteryai_lti.identity import service as identities

    lrs.post(statement(8, result={"success": True}))
    assert _states() == [UNKNOWN_ACTOR]
    user = make_user(institution)
    make_enrollment(make_course(institution), user, role="student")

    class Queue:
        inline = False
        enqueued: list = []

        def enqueue(self, func, *args):
            self.enqueued.append((func, *args))

    monkeypatch.setattr(projection, "jobs", Queue())
    identities.link_identity(institution.id, user.id, "mbox", "mailto:learner8@example.org")
    # A second identity, as a launch links: its savepoint is released before the commit.
    identities.link_identity(institution.id, user.id, "account", "https://lms.example|8")
    assert Queue.enqueued == []
    db.session.commit()
    assert Queue.enqueued == [(projection.project_pending, institution.id)]


def test_a_lower_scaled_score_never_projects_higher(lrs, learner, recorded):
    """scaled runs from -1 to 1; below 0 is worse than nothing, so it counts as 0
    (it was mapped to (scaled + 1) / 2: -0.02 became 0.49, above a 0.2)."""
    scaled = [-1, -0.02, 0, 0.2, 0.8, 1]
    for value in scaled:
        lrs.post(statement(1, result={"success": value > 0.5, "score": {"scaled": value}}))

    projected = [e["score"] for _, e in recorded["events"]]

    assert projected == pytest.approx([0, 0, 0, 0.2, 0.8, 1])
    assert projected == sorted(projected)
