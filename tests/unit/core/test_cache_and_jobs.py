"""The cache façade and the job queue on their real backends."""

from __future__ import annotations

import pytest

from masteryai_lti.core.cache import Cache
from masteryai_lti.core.jobs import JobQueue
from tests.redis_server import RedisServer


class _App:
    def __init__(self, **config):
        self.config = config
        self.extensions = {}


def _exercise(cache: Cache) -> None:
    assert cache.get("missing") is None
    assert cache.set("k", {"a": [1, 2]}, ttl=60)
    assert cache.get("k") == {"a": [1, 2]}
    assert cache.set_if_absent("once", 1, ttl=60) is True
    assert cache.set_if_absent("once", 2, ttl=60) is False
    assert cache.get("once") == 1
    assert cache.incr("n", ttl=60) == 1
    assert cache.incr("n", ttl=60) == 2
    cache.delete("k", "n")
    assert cache.get("k") is None and cache.get("n") is None


def test_memory_cache():
    cache = Cache()
    cache.init_app(_App(REDIS_URL=""))
    assert cache.backend == "memory" and cache.available
    _exercise(cache)


@pytest.mark.redis
def test_redis_cache_and_outage():
    server = RedisServer().start()
    try:
        cache = Cache()
        cache.init_app(_App(REDIS_URL=server.url))
        assert cache.backend == "redis" and cache.available
        _exercise(cache)
        cache.set("kept", 1)
        server.stop()
        # Down: misses and refusals, never exceptions.
        assert cache.get("kept") is None
        assert cache.set("x", 1) is False
        assert cache.set_if_absent("y", 1) is False
        assert cache.incr("z") is None
        assert cache.available is False
    finally:
        server.stop()


@pytest.mark.redis
def test_availability_is_not_asked_of_redis_while_the_cache_backs_off():
    """While the cache backs off after a failure, ``available`` says down without a
    round trip: a caller checking it per request (the roster sync guard on every
    teacher launch) must not pay Redis's timeout each time during an outage."""
    server = RedisServer().start()
    try:
        cache = Cache()
        cache.init_app(_App(REDIS_URL=server.url))
        probe = cache.client
        pings = lambda: probe.info("commandstats").get("cmdstat_ping", {}).get("calls", 0)  # noqa: E731
        assert cache.available
        seen = pings()
        # As after a failed call: the next 2 s are served without Redis.
        cache._down_until = float("inf")

        assert cache.available is False
        assert cache.get("anything") is None
        assert pings() == seen
    finally:
        server.stop()


def _record(bucket: list, value: int) -> None:
    bucket.append(value)


def test_inline_jobs_run_now():
    queue = JobQueue()
    queue.init_app(_App(JOBS_INLINE=True, REDIS_URL=""))
    bucket: list[int] = []
    from flask import Flask

    with Flask(__name__).app_context():
        queue.enqueue(_record, bucket, 7)
    assert bucket == [7]
    assert queue.queue is None


@pytest.mark.redis
def test_rq_queue_takes_jobs_by_import_path():
    server = RedisServer().start()
    try:
        queue = JobQueue()
        queue.init_app(_App(JOBS_INLINE=False, REDIS_URL=server.url))
        job = queue.enqueue(_record, [], 3)
        assert job.args[0] == f"{__name__}:_record"
        assert queue.queue.count == 1
        server.stop()
        # Redis gone: the job runs inline instead of being dropped.
        bucket: list[int] = []
        from flask import Flask

        with Flask(__name__).app_context():
            queue.enqueue(_record, bucket, 5)
        assert bucket == [5]
    finally:
        server.stop()
