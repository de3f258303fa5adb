"""Releasing a project queues all of a placement's scores for its line item in one
transaction (outbox.record_scores), with the same per-score rules as record_score."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from masteryai_lti.core.errors import Conflict
from masteryai_lti.extensions import db, jobs
from masteryai_lti.lti import outbox, project_placements
from masteryai_lti.lti.outbox_models import ScoreOutboxEntry
from masteryai_lti.pbl.service import ReleasedScore
from tests.integration.lti.test_project_placements import (
    PROJECT_LINK,
    _class_with_a_closed_project,
    _placed,
)
from tests.integration.lti.test_project_placements import _launch_placed as launch_placed


@contextmanager
def commits(app):
    """``[None, ...]``: one element per COMMIT the app's engine sends meanwhile."""
    seen: list = []

    def record(conn):
        seen.append(None)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "commit", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "commit", record)


def _entries(app) -> list[ScoreOutboxEntry]:
    with app.app_context():
        rows = db.session.scalars(select(ScoreOutboxEntry).order_by(ScoreOutboxEntry.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def test_a_release_queues_a_placement_s_scores_in_one_commit_and_starts_one_drain(
    app, client, services_platform, monkeypatch, caplog
):
    platform = services_platform
    course_id, project, _, ids = _class_with_a_closed_project(app, client, platform)
    second = _placed(platform, project["id"], link_id="rl-project-2", lineitem=3)
    launch_placed(app, client, platform, "student", second)
    started = []
    monkeypatch.setattr(jobs, "enqueue", lambda func, *a, **k: started.append(func))
    released = [
        ReleasedScore(ids["sam"], 75.0, "Your group's work scored 75."),
        ReleasedScore(ids["ada"], 80.0, "Your group's work scored 80."),
        ReleasedScore(ids["zed"], 90.0, "Your group's work scored 90."),
    ]

    with app.app_context(), commits(app) as seen:
        with caplog.at_level(logging.INFO, logger=project_placements.__name__):
            queued = project_placements.post_released_project_scores(
                project["id"], course_id=course_id, scores=released
            )

    assert queued == 4, "Sam and Ada on each of the two graded placements"
    assert len(seen) == 2, "one commit per placement, not one per student"
    assert started == [outbox.drain_outbox]
    entries = _entries(app)
    assert len({e.resource_link_pk for e in entries}) == 2
    assert sorted(e.user_id for e in entries) == sorted([ids["sam"], ids["ada"]] * 2)
    assert {e.score_given for e in entries if e.user_id == ids["ada"]} == {80.0}
    assert all(e.status == "pending" and e.source == "project" for e in entries)
    lines = [r.getMessage() for r in caplog.records if "released scores queued" in r.getMessage()]
    assert len(lines) == 2 and all("1 skipped (no account on its LMS)" in line for line in lines)


def _link(app, course_id: int, project_id: int, resource_link_id: str) -> int:
    with app.app_context():
        links = project_placements.project_links(course_id, project_id)
        return next(link.id for link in links if link.resource_link_id == resource_link_id)


def test_record_scores_keeps_each_score_s_rules_and_names_whom_it_left_out(
    app, client, services_platform, monkeypatch
):
    platform = services_platform
    course_id, project, _, ids = _class_with_a_closed_project(app, client, platform)
    link_id = _link(app, course_id, project["id"], PROJECT_LINK)
    monkeypatch.setattr(jobs, "enqueue", lambda func, *a, **k: None)
    now = datetime.now(UTC)
    with app.app_context():
        earlier = outbox.record_score(
            resource_link_pk=link_id,
            user_id=ids["sam"],
            score_given=10.0,
            score_maximum=100.0,
            now=now + timedelta(minutes=5),  # a clock that was ahead
            deliver=False,
        )
        earlier_stamp = earlier.score_timestamp

        recorded = outbox.record_scores(
            resource_link_pk=link_id,
            scores=[
                outbox.ScoreToRecord(ids["sam"], 70.0, 100.0),
                outbox.ScoreToRecord(ids["ada"], -1.0, 100.0),  # no platform takes it
                outbox.ScoreToRecord(ids["zed"], 50.0, 100.0),  # unknown to the LMS
                outbox.ScoreToRecord(ids["sam"], 72.0, 100.0, comment="Regraded."),
            ],
            source="project",
            now=now,
        )

    assert set(recorded.refused) == {ids["ada"], ids["zed"]}
    assert recorded.refused[ids["ada"]].errors[0]["path"] == "score"
    assert recorded.refused[ids["zed"]].errors[0]["path"] == "user_id"
    first, second = (e for e in _entries(app) if e.id != earlier.id)
    # After the earlier score's timestamp, and in the order given.
    assert earlier_stamp < first.score_timestamp < second.score_timestamp
    assert (first.score_given, second.score_given, second.comment) == (70.0, 72.0, "Regraded.")
    assert first.payload["timestamp"] != second.payload["timestamp"]


def test_record_scores_on_a_link_without_grade_service_queues_nothing(
    app, client, services_platform
):
    platform = services_platform
    course_id, project, _, ids = _class_with_a_closed_project(app, client, platform)
    ungraded = _placed(platform, project["id"], link_id="rl-ungraded", graded=False)
    launch_placed(app, client, platform, "student", ungraded)
    link_id = _link(app, course_id, project["id"], "rl-ungraded")
    with app.app_context(), pytest.raises(Conflict):
        outbox.record_scores(
            resource_link_pk=link_id, scores=[outbox.ScoreToRecord(ids["sam"], 1.0, 100.0)]
        )
    assert _entries(app) == []


def test_record_scores_looks_learners_up_at_once_however_many_there_are(
    app, client, services_platform, monkeypatch
):
    from tests.sql_statements import SqlStatements

    platform = services_platform
    course_id, project, _, ids = _class_with_a_closed_project(app, client, platform)
    link_id = _link(app, course_id, project["id"], PROJECT_LINK)
    monkeypatch.setattr(jobs, "enqueue", lambda func, *a, **k: None)

    def reads(names: list[str]) -> int:
        with app.app_context(), SqlStatements(app) as seen:
            recorded = outbox.record_scores(
                resource_link_pk=link_id,
                scores=[outbox.ScoreToRecord(ids[name], 60.0, 100.0) for name in names],
            )
        assert set(recorded.refused) == ({ids["zed"]} if "zed" in names else set())
        return seen.reads

    # Zed is unknown to the LMS: looked up with the others, refused, not queried alone.
    assert reads(["sam"]) == reads(["sam", "ada", "zed"])
    assert sorted(e.user_id for e in _entries(app)) == sorted([ids["sam"], ids["sam"], ids["ada"]])
