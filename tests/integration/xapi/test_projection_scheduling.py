"""Scheduling the projection job with a queue: one job per coalescing window, and no Redis
round trip while the queued job is certain to read the rows committed now."""

from __future__ import annotations

import pytest

from masteryai_lti.xapi import projection, service

pytestmark = pytest.mark.redis


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class _Queue:
    inline = False

    def __init__(self) -> None:
        self.enqueued: list[tuple] = []

    def enqueue(self, func, *args):
        self.enqueued.append((func, *args))


@pytest.fixture
def queued(app_context, monkeypatch):
    from masteryai_lti.extensions import cache

    if cache.client is None:
        pytest.skip("needs Redis")
    queue, clock = _Queue(), _Clock()
    monkeypatch.setattr(service, "jobs", queue)
    monkeypatch.setattr(service, "time", clock)
    monkeypatch.setattr(service, "_job_reads_after", {})
    app_context.config["XAPI_PROJECTION_COALESCE_S"] = 0.5
    yield queue, clock, cache
    app_context.config.pop("XAPI_PROJECTION_COALESCE_S", None)


def _flag(institution_id: int) -> str:
    return projection.scheduled_key(institution_id)


def test_a_fresh_flag_covers_commits_for_half_the_jobs_wait(queued):
    queue, clock, cache = queued
    service.schedule_projection(91)
    assert queue.enqueued == [(projection.project_pending, 91)]
    # Pretend the flag vanished: a call that went to Redis would set it and enqueue again.
    cache.delete(_flag(91))
    clock.now += 0.2
    service.schedule_projection(91)
    assert len(queue.enqueued) == 1
    clock.now += 0.1  # 0.3 s after the flag was set: past half the 0.5 s wait
    service.schedule_projection(91)
    assert queue.enqueued == [(projection.project_pending, 91)] * 2


def test_an_old_flag_gives_no_quiet_window(queued):
    queue, clock, cache = queued
    client = cache.client
    # Set 10 s ago by another process (TTL 60 s, 50 s left): its job may read any moment.
    client.set(cache.redis_key(_flag(92)), "1", ex=50)
    service.schedule_projection(92)
    assert queue.enqueued == []
    cache.delete(_flag(92))  # the job cleared it and read the outbox
    service.schedule_projection(92)
    assert queue.enqueued == [(projection.project_pending, 92)]


def test_institutions_are_scheduled_apart(queued):
    queue, _, _ = queued
    service.schedule_projection(93)
    service.schedule_projection(94)
    service.schedule_projection(93)
    assert [args[1] for args in queue.enqueued] == [93, 94]


def test_a_queued_job_past_its_budget_hands_the_rest_to_a_new_job(
    lrs, credential, monkeypatch, app_context
):
    from masteryai_lti.extensions import cache
    from masteryai_lti.xapi.models import PENDING, XapiStatement

    app_context.config["XAPI_PROJECTION"] = "off"  # store without projecting
    try:
        assert lrs.post([statement_body(n) for n in range(3)]).status_code == 200
    finally:
        app_context.config.pop("XAPI_PROJECTION", None)
    queue = _Queue()
    monkeypatch.setattr(projection, "jobs", queue)
    monkeypatch.setattr(projection, "JOB_BUDGET_S", -1.0)
    app_context.config["XAPI_PROJECTION_COALESCE_S"] = 0
    try:
        handled = projection.project_pending(credential_institution(credential))
    finally:
        app_context.config.pop("XAPI_PROJECTION_COALESCE_S", None)
    assert handled == 0
    assert queue.enqueued == [(projection.project_pending, credential_institution(credential))]
    assert cache.get(projection.scheduled_key(credential_institution(credential))) == 1
    from masteryai_lti.extensions import db

    db.session.rollback()
    pending = db.session.query(XapiStatement).filter_by(projection_state=PENDING).count()
    assert pending == 3


def statement_body(n: int) -> dict:
    from tests.integration.xapi.conftest import statement

    return statement(n)


def credential_institution(credential) -> int:
    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiCredential

    return db.session.get(XapiCredential, credential.id).institution_id
