"""A small cache façade: Redis when configured, process memory otherwise.

Redis is only ever a cache here (DESIGN.md section 7): every failure is logged and
answered as a miss, so the app keeps serving from PostgreSQL while Redis is down.
After a failure the cache stays away from Redis for a short back-off so a dead
server does not add a connect timeout to every request.

A delete that cannot reach Redis is an invalidation that did not happen: the entry
would be served again once Redis answers (after a stall, a network cut, a restart from
its data, or simply during the back-off), by this process or any other. So every key
carries a generation kept in the database (`core.cache_generation`), and a missed
delete starts a new one: each process picks it up within
``GENERATION_REFRESH_SECONDS`` and no longer sees any entry of the old generation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Protocol

import redis

log = logging.getLogger(__name__)

_BACKOFF_SECONDS = 2.0
# How stale a process's idea of the generation may be: after a missed delete, other
# processes may serve the entry for at most this long (not for its time-to-live:
# six hours for an engagement view).
GENERATION_REFRESH_SECONDS = 5.0


class GenerationStore(Protocol):
    """Where the generation lives; both answer None when the store is unreachable."""

    def read(self) -> str | None: ...

    def advance(self) -> str | None: ...


class _MemoryStore:
    """Process-local key/value store with expiry (the embedded default)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float | None, str]] = {}
        self._lock = threading.Lock()

    def _alive(self, key: str) -> str | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires is not None and expires <= time.monotonic():
            del self._data[key]
            return None
        return value

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._alive(key)

    def set(self, key: str, value: str, ttl: int | None, only_if_absent: bool = False) -> bool:
        with self._lock:
            if only_if_absent and self._alive(key) is not None:
                return False
            expires = time.monotonic() + ttl if ttl else None
            self._data[key] = (expires, value)
            return True

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def incr(self, key: str, ttl: int | None) -> int:
        with self._lock:
            current = self._alive(key)
            value = int(current or 0) + 1
            expires = self._data[key][0] if current is not None else None
            if expires is None and ttl:
                expires = time.monotonic() + ttl
            self._data[key] = (expires, str(value))
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class Cache:
    """JSON values under string keys, in Redis or in memory; never raises on Redis trouble."""

    def __init__(self) -> None:
        self._redis: redis.Redis | None = None
        self._memory = _MemoryStore()
        self._down_until = 0.0
        self.prefix = "masteryai:"
        self._generations: GenerationStore | None = None
        self._generation = ""
        self._generation_read_at: float | None = None

    def init_app(self, app) -> None:
        """Bind to the app's Redis (``REDIS_URL``; none: process memory) and to the
        generation store the app keeps in ``extensions["masteryai_cache_generations"]``."""
        url = app.config.get("REDIS_URL")
        self._down_until = 0.0
        self._memory = _MemoryStore()
        self._generation = ""
        self._generation_read_at = None
        if url:
            self._redis = redis.Redis.from_url(
                url, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True
            )
            # Process memory misses no delete: only Redis needs generations.
            self._generations = app.extensions.get("masteryai_cache_generations")
        else:
            self._redis = None
            self._generations = None
        app.extensions["masteryai_cache"] = self

    @property
    def backend(self) -> str:
        """``redis`` or ``memory``: which store this cache was configured with."""
        return "redis" if self._redis is not None else "memory"

    @property
    def client(self) -> redis.Redis | None:
        """The Redis client, for features that need Redis data structures directly."""
        return self._redis

    def _call(self, operation, default):
        if self._redis is None:
            return operation(None)
        if time.monotonic() < self._down_until:
            return default
        try:
            return operation(self._redis)
        except redis.RedisError as exc:
            log.warning("cache unavailable, serving without it: %s", exc)
            self._down_until = time.monotonic() + _BACKOFF_SECONDS
            return default

    def redis_key(self, key: str) -> str:
        """The Redis key under which ``key`` lives now (prefix and generation)."""
        store = self._generations
        if store is not None:
            now = time.monotonic()
            read_at = self._generation_read_at
            if read_at is None or now - read_at >= GENERATION_REFRESH_SECONDS:
                token = store.read()
                if token is not None:
                    self._generation = token
                self._generation_read_at = now
        return f"{self.prefix}{self._generation}:{key}" if self._generation else self.prefix + key

    @property
    def available(self) -> bool:
        """Whether the configured store answers right now (memory always does).

        During the back-off after a failure the answer is "no" without asking Redis:
        callers check this per request, and an unreachable Redis costs a timeout.
        """
        if self._redis is None:
            return True
        if time.monotonic() < self._down_until:
            return False
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            self._down_until = time.monotonic() + _BACKOFF_SECONDS
            return False

    def get(self, key: str) -> Any:
        """The value stored under ``key``, or None when absent or when Redis is down."""
        raw = self._call(lambda r: r.get(self.redis_key(key)) if r else self._memory.get(key), None)
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: int | None = None) -> bool:
        """Store ``value`` (JSON-able) for ``ttl`` seconds; False when it could not be stored."""
        raw = json.dumps(value)
        return bool(
            self._call(
                lambda r: (
                    r.set(self.redis_key(key), raw, ex=ttl)
                    if r
                    else self._memory.set(key, raw, ttl)
                ),
                False,
            )
        )

    def set_if_absent(self, key: str, value: Any, ttl: int | None = None) -> bool:
        """Store only when the key is absent; True when this call stored it.

        When Redis is down this answers False: callers that use it as a lock or a
        once-only guard must fall back to their database record.
        """
        raw = json.dumps(value)
        return bool(
            self._call(
                lambda r: (
                    r.set(self.redis_key(key), raw, ex=ttl, nx=True)
                    if r
                    else self._memory.set(key, raw, ttl, only_if_absent=True)
                ),
                False,
            )
        )

    def delete(self, *keys: str) -> None:
        """Forget ``keys``; a no-op for missing keys. When Redis does not take the
        delete, a new generation starts, so that no process reads these entries again."""
        if not keys:
            return

        def operation(r) -> bool:
            if r is None:
                self._memory.delete(*keys)
            else:
                r.delete(*(self.redis_key(k) for k in keys))
            return True

        if not self._call(operation, False):
            self._start_generation(len(keys))

    def _start_generation(self, missed: int) -> None:
        token = self._generations.advance() if self._generations is not None else None
        if token is None:
            log.error(
                "cache: %d deletes missed Redis and no new generation could start; "
                "their entries may be served until they expire",
                missed,
            )
            return
        self._generation = token
        self._generation_read_at = time.monotonic()
        log.warning("cache: %d deletes missed Redis; new generation %s", missed, token)

    def incr(self, key: str, ttl: int | None = None) -> int | None:
        """Increment a counter (created at 1 with ``ttl``); None when Redis is down."""

        def operation(r):
            if r is None:
                return self._memory.incr(key, ttl)
            pipe = r.pipeline()
            name = self.redis_key(key)
            pipe.incr(name)
            if ttl:
                pipe.expire(name, ttl, nx=True)
            return pipe.execute()[0]

        return self._call(operation, None)

    def clear(self) -> None:
        """Drop every key of this app, of every generation (tests and
        `flask masteryai cache-clear`)."""
        if self._redis is None:
            self._memory.clear()
            return

        def operation(r):
            keys = list(r.scan_iter(self.prefix + "*", count=1000))
            if keys:
                r.delete(*keys)

        self._call(operation, None)
