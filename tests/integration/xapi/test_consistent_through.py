"""X-Experience-API-Consistent-Through never names an instant after the ``stored`` of a
statement that is not visible yet (Communication 2.1.3.s2.b5)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from masteryai_lti.core.clock import utcnow
from masteryai_lti.extensions import cache
from masteryai_lti.xapi import storage
from masteryai_lti.xapi.timestamps import parse_timestamp
from tests.integration.xapi.conftest import Lrs, statement

HEADER = "X-Experience-API-Consistent-Through"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _through(response) -> datetime:
    return parse_timestamp(response.headers[HEADER])[0]


def test_a_batch_held_open_keeps_concurrent_readers_behind_its_stored(
    app, lrs, credential, monkeypatch
):
    entered, release = threading.Event(), threading.Event()
    real_mark_voided = storage.mark_voided

    def held_open(institution_id, statement_ids):
        # The batch's rows are inserted, not committed: hold the transaction here.
        voided = real_mark_voided(institution_id, statement_ids)
        entered.set()
        release.wait(30)
        return voided

    monkeypatch.setattr(storage, "mark_voided", held_open)
    target = str(uuid.uuid4())
    batch = [{**statement(1), "id": target}] + [statement(i) for i in range(2, 40)]
    batch.append(
        statement(99, verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target})
    )
    posted = {}

    def post():
        with app.app_context():
            writer = Lrs(app.test_client(), credential.key, credential.secret)
            posted["response"] = writer.post(batch)

    thread = threading.Thread(target=post)
    thread.start()
    try:
        assert entered.wait(30)
        # Longer than any clock margin: a header from the clock alone would pass the
        # batch's stored by now.
        time.sleep(0.8)
        during = lrs.get(limit=0)
    finally:
        release.set()
        thread.join(30)
    assert posted["response"].status_code == 200, posted["response"].json
    assert during.status_code == 200 and during.json["statements"] == []
    stored = parse_timestamp(lrs.get(statementId=posted["response"].json[1]).json["stored"])[0]
    assert _through(during) < stored
    # Once committed, the header moves on past it (it was stored over 0.8 s ago).
    assert _through(lrs.get()) > stored


@pytest.fixture
def shared_register(app, app_context):
    # The cache is one object, bound to whichever app was built last (a test of a
    # stopped Redis leaves it bound to that server): bind it to this run's Redis.
    from masteryai_lti.xapi import consistency

    cache.init_app(app)
    consistency._redis_down_until = 0.0  # nor back off after that test's failures
    if cache.client is None:
        pytest.skip("the shared in-flight register lives in Redis")
    return cache.client


@pytest.fixture
def consistency():
    from masteryai_lti.xapi import consistency

    return consistency


def test_writes_register_in_redis_before_taking_stored_and_leave_once_done(
    shared_register, institution, consistency
):
    key = consistency._key(institution.id)
    with consistency.writing(institution.id, utcnow) as stored:
        (entry,) = shared_register.zrange(key, 0, -1, withscores=True)
        assert entry[1] <= stored.timestamp() * 1000
        assert consistency.consistent_through(institution.id, utcnow) < stored
    assert shared_register.zrange(key, 0, -1) == []


def test_a_write_in_flight_in_another_process_holds_the_header_back(
    shared_register, institution, client, credential, consistency
):
    # As another app process registers (its memory is not ours; Redis is shared).
    started = utcnow() - timedelta(seconds=5)
    key = consistency._key(institution.id)
    shared_register.zadd(key, {"other-process": int(started.timestamp() * 1000)})
    lrs = Lrs(client, credential.key, credential.secret)
    assert _through(lrs.get()) < started
    # Another institution's writes do not hold this one back.
    other = consistency.consistent_through(institution.id + 1000, utcnow)
    assert other > started
    shared_register.zrem(key, "other-process")
    assert _through(lrs.get()) > started


def test_a_writer_that_died_holds_the_header_back_only_for_its_lease(
    shared_register, institution, consistency
):
    key = consistency._key(institution.id)
    dead = datetime.now(UTC) - timedelta(seconds=consistency.LEASE_S + 60)
    shared_register.zadd(key, {"died": int(dead.timestamp() * 1000)})
    assert consistency.consistent_through(institution.id, utcnow) > dead
    assert shared_register.zrange(key, 0, -1) == []


@pytest.mark.redis
def test_statements_are_stored_and_read_while_the_register_is_down(app, make_app, consistency):
    from masteryai_lti.xapi.credentials import issue_credential
    from tests.factories import make_institution
    from tests.redis_server import RedisServer

    server = RedisServer().start()
    try:
        outage = make_app(REDIS_URL=server.url, RATELIMIT_STORAGE_URI=server.url)
        with outage.app_context():
            school = make_institution()
            issued = issue_credential(school.id, "LRS")
            lrs = Lrs(outage.test_client(), issued.key, issued.secret)
            assert lrs.post(statement(1)).status_code == 200
            server.stop()
            # This process's own writes still hold the header back; others', the margin.
            with consistency.writing(school.id, utcnow) as stored:
                assert consistency.consistent_through(school.id, utcnow) < stored
            assert lrs.post(statement(2)).status_code == 200
            read = lrs.get()
            assert read.status_code == 200 and len(read.json["statements"]) == 2
            assert _through(read) < utcnow()
    finally:
        server.stop()
        # The cache is one object: bind it back to this run's Redis for the next tests.
        consistency._redis_down_until = 0.0
        cache.init_app(app)
