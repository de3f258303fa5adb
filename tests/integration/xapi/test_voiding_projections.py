"""Voiding withdraws what a statement was projected into (Data 2.3.2: a voided statement
must no longer count), with the real engagement and mastery services."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from masteryai_lti.engagement.models import EngagementDay, EngagementEvent
from masteryai_lti.extensions import db
from masteryai_lti.mastery.models import Attempt, AttemptConcept, MasteryState
from masteryai_lti.xapi.models import SKIPPED, XapiStatement
from tests.integration.mastery.world import build_world, seed_graph
from tests.integration.xapi.conftest import Lrs

ACTIVITY = "https://h5p.example/quiz/geometry-1"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
LEARNER = "mailto:ada@school.example"


@pytest.fixture
def school(app, client, app_context):
    """A course with a concept graph, ACTIVITY mapped to 'geo', Ada linked to LEARNER,
    and an LRS credential of the school."""
    from masteryai_lti.courses.models import Course
    from masteryai_lti.identity import service as identities
    from masteryai_lti.xapi.credentials import issue_credential

    world = build_world(app)
    seed_graph(client, world)
    _as_someone_else()
    mapped = client.post(
        f"/api/v1/courses/{world.course_id}/activity-mappings",
        json={"activity_id": ACTIVITY, "concept_keys": ["geo"]},
        headers=world.teacher,
    )
    assert mapped.status_code == 201, mapped.get_json()
    institution_id = db.session.get(Course, world.course_id).institution_id
    identities.link_identity(institution_id, world.student_id, "mbox", LEARNER)
    db.session.commit()
    world.issued = issue_credential(institution_id, "H5P")
    world.lrs = Lrs(client, world.issued.key, world.issued.secret)
    return world


def _answer(success: bool, **extra) -> dict:
    return {
        "actor": {"objectType": "Agent", "mbox": LEARNER},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {
            "id": ACTIVITY,
            "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction"},
        },
        "result": {"success": success, "score": {"scaled": 1.0 if success else 0.0}},
        **extra,
    }


def _void(target: str) -> dict:
    return {
        "actor": {"objectType": "Agent", "mbox": "mailto:teacher@school.example"},
        "verb": {"id": VOIDED},
        "object": {"objectType": "StatementRef", "id": target},
    }


def _as_someone_else() -> None:
    # current_actor() caches on ``g``, which outlives a request while the test holds
    # the app context; each API call below acts for its own bearer.
    from flask import g

    g.pop("masteryai_actor", None)


def _geo(client, world) -> dict:
    _as_someone_else()
    body = client.get(
        f"/api/v1/courses/{world.course_id}/mastery/me", headers=world.student
    ).get_json()
    return {c["concept_key"]: c for c in body["concepts"]}["geo"]


def _projected(statement_id: str) -> tuple[int, int, int]:
    """(engagement events, mastery attempts, rollup quiz count) left for a statement."""
    db.session.rollback()
    events = db.session.scalar(
        select(func.count())
        .select_from(EngagementEvent)
        .where(EngagementEvent.source == "xapi", EngagementEvent.source_id == statement_id)
    )
    attempts = db.session.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.source == "xapi", Attempt.source_id == statement_id)
    )
    quizzes = db.session.scalar(select(func.coalesce(func.sum(EngagementDay.quiz), 0)))
    return events, attempts, quizzes


def _classmates_geo(client, world) -> dict:
    _as_someone_else()
    body = client.get(
        f"/api/v1/courses/{world.course_id}/mastery/students/{world.classmate_id}",
        headers=world.teacher,
    ).get_json()
    return {c["concept_key"]: c for c in body["concepts"]}["geo"]


def test_voiding_a_projected_answer_withdraws_its_event_and_attempt(client, school):
    untouched = _geo(client, school)
    sid = school.lrs.post(_answer(True)).json[0]
    assert _projected(sid) == (1, 1, 1)
    practiced = _geo(client, school)
    assert practiced["attempts"] == 1 and practiced["mastery"] > untouched["mastery"]

    response = school.lrs.post(_void(sid))
    assert response.status_code == 200, response.json

    assert _projected(sid) == (0, 0, 0)
    assert db.session.scalar(select(func.count()).select_from(AttemptConcept)) == 0
    assert db.session.scalar(select(func.count()).select_from(MasteryState)) == 0
    # Recomputed from no attempts at all: exactly like a classmate who never practised
    # (the concept's shared prior learned from the answer, so not quite "untouched").
    back = _geo(client, school)
    assert back == _classmates_geo(client, school)
    assert (back["attempts"], back["correct"], back["last_practiced"]) == (0, 0, None)
    row = db.session.scalar(
        select(XapiStatement).where(XapiStatement.statement_id == uuid.UUID(sid))
    )
    assert row.voided and row.projection_state == SKIPPED


def test_voiding_one_of_two_answers_recomputes_mastery_from_the_other(client, school):
    right = school.lrs.post(_answer(True, timestamp="2025-03-01T10:00:00Z")).json[0]
    wrong = school.lrs.post(_answer(False, timestamp="2025-03-01T10:05:00Z")).json[0]
    both = _geo(client, school)
    assert (both["attempts"], both["correct"]) == (2, 1)

    assert school.lrs.post(_void(wrong)).status_code == 200

    assert _projected(wrong) == (0, 0, 1)
    assert _projected(right)[:2] == (1, 1)
    left = _geo(client, school)
    assert (left["attempts"], left["correct"]) == (1, 1)
    # Without the wrong answer the student knows more than with it.
    assert left["mastery"] > both["mastery"]
    assert left["last_practiced"].startswith("2025-03-01T10:00:00")
    (state,) = db.session.scalars(select(MasteryState)).all()
    assert (state.attempts, state.correct) == (1, 1)
    assert state.last_practiced_at.isoformat().startswith("2025-03-01T10:00:00")


def test_a_voiding_statement_that_arrives_first_keeps_the_answer_from_counting(client, school):
    untouched = _geo(client, school)
    target = str(uuid.uuid4())
    assert school.lrs.post(_void(target)).status_code == 200
    assert school.lrs.put(target, _answer(True)).status_code == 204
    assert _projected(target) == (0, 0, 0)
    assert _geo(client, school) == untouched


def test_voiding_in_the_same_batch_as_its_target_projects_nothing(client, school):
    target = str(uuid.uuid4())
    response = school.lrs.post([{**_answer(True), "id": target}, _void(target)])
    assert response.status_code == 200, response.json
    assert _projected(target) == (0, 0, 0)


def test_voiding_while_a_worker_projects_the_statement_still_withdraws_it(
    app, make_app, client, school, monkeypatch
):
    from masteryai_lti.xapi import projection

    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent projection is checked on PostgreSQL (row locks)")
    quiet = make_app(XAPI_PROJECTION="off")
    with quiet.app_context():
        writer = Lrs(quiet.test_client(), school.issued.key, school.issued.secret)
        sid = writer.post(_answer(True)).json[0]
    projecting, release = threading.Event(), threading.Event()
    real_project_row = projection.project_row

    def slow_project_row(*args, **kwargs):
        # The worker holds the row (FOR UPDATE) and has recorded the attempt, uncommitted.
        outcome = real_project_row(*args, **kwargs)
        projecting.set()
        release.wait(30)
        return outcome

    monkeypatch.setattr(projection, "project_row", slow_project_row)
    results = {}

    def work():
        with app.app_context():
            results["projected"] = projection.project_pending()

    def void():
        with quiet.app_context():
            voider = Lrs(quiet.test_client(), school.issued.key, school.issued.secret)
            results["voided"] = voider.post(_void(sid))

    worker, voider = threading.Thread(target=work), threading.Thread(target=void)
    worker.start()
    try:
        assert projecting.wait(30)
        voider.start()
        time.sleep(0.5)
        # The voiding statement waits for the worker's row lock...
        assert voider.is_alive()
    finally:
        release.set()
        worker.join(30)
        voider.join(30)
    # ...and then withdraws what the worker committed.
    assert results["voided"].status_code == 200, results["voided"].json
    assert _projected(sid) == (0, 0, 0)
    assert _geo(client, school)["attempts"] == 0
