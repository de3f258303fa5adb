"""Redis that stalls instead of dying: it accepts connections but never answers.

A Redis blocked on a fork, a paused VM or a half-open network path does not refuse
connections; every client waits for its read timeout. The app's own clients (cache,
job queue) give up within a fraction of a second; the rate limiter's must too, or each
rate-limited request waits redis-py's default five seconds per limit it checks.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.factories import PASSWORD, make_institution, make_user
from tests.redis_server import RedisServer


@pytest.fixture
def stalled_redis(app):
    from masteryai_lti.extensions import cache, jobs

    server = RedisServer().start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()
        cache.init_app(app)
        jobs.init_app(app)


def _read_timeout(client) -> float | None:
    return client.connection_pool.connection_kwargs.get("socket_timeout")


@pytest.mark.redis
def test_the_rate_limiter_gives_up_on_a_stalled_redis_as_soon_as_the_cache(make_app, stalled_redis):
    from masteryai_lti.extensions import cache, limiter

    built = make_app(REDIS_URL=stalled_redis.url, RATELIMIT_STORAGE_URI=stalled_redis.url)
    client = built.test_client()
    with built.app_context():
        teacher = make_user(make_institution(), role="teacher")
    login = {"email": teacher.email, "password": PASSWORD}
    assert client.post("/api/v1/auth/login", json=login).status_code == 200

    os.kill(stalled_redis.process.pid, signal.SIGSTOP)
    answers = [client.post("/api/v1/auth/login", json=login) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    with built.app_context():
        limiter_timeout = _read_timeout(limiter.storage.storage)
    cache_timeout = _read_timeout(cache.client)
    assert cache_timeout is not None
    assert limiter_timeout is not None and limiter_timeout <= cache_timeout
