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


@pytest.mark.redis
def test_a_delete_redis_missed_is_done_once_it_answers(monkeypatch, tmp_path):
    from masteryai_lti.core import cache as cache_module

    monkeypatch.setattr(cache_module, "_BACKOFF_SECONDS", 0.0)
    server = RedisServer(data_dir=str(tmp_path)).start()
    try:
        cache = Cache()
        cache.init_app(_App(REDIS_URL=server.url))
        cache.set("view", {"as": "before"})
        cache.set("other", 1)
        server.stop()
        cache.delete("view")  # never reaches Redis
        assert cache.owed_deletes == 1
        server.start()  # back from its data, the old view with it
        # The first call that reaches Redis does the owed delete before its own work.
        assert cache.get("other") == 1
        assert cache.owed_deletes == 0
        assert cache.get("view") is None
        assert server_keys(server) == {"masteryai:other"}
    finally:
        server.stop()


def test_owed_deletes_are_bounded(monkeypatch):
    from masteryai_lti.core import cache as cache_module

    monkeypatch.setattr(cache_module, "_OWED_MAX", 3)
    monkeypatch.setattr(cache_module, "_BACKOFF_SECONDS", 60.0)
    cache = Cache()
    # Nothing listens on port 1: every call fails, then the back-off answers for it.
    cache.init_app(_App(REDIS_URL="redis://127.0.0.1:1/0"))
    for key in ("a", "b", "c", "d", "b"):
        cache.delete(key)
    assert list(cache._owed) == ["c", "d", "b"]


def server_keys(server: RedisServer) -> set[str]:
    import redis

    return set(redis.Redis.from_url(server.url, decode_responses=True).keys("*"))
