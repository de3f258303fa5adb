"""A small cache façade: Redis when configured, process memory otherwise.

Redis is only ever a cache here (DESIGN.md section 7): every failure is logged and
answered as a miss, so the app keeps serving from PostgreSQL while Redis is down.
After a failure the cache stays away from Redis for a short back-off so a dead
server does not add a connect timeout to every request.

A delete that cannot reach Redis is an invalidation that did not happen: the entry
would be served again once Redis answers (after a stall, a network cut, a restart from
its snapshot, or simply during the back-off). Such deletes are owed and replayed before
anything else the next time this process reaches Redis.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import redis

log = logging.getLogger(__name__)

_BACKOFF_SECONDS = 2.0
# Owed deletes kept at most; past this the oldest are forgotten (and logged), their
# entries left to their time-to-live. Engagement views, the bulk, live six hours.
_OWED_MAX = 10_000


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
        # Keys whose delete failed, in order (a dict as an ordered set), under a lock:
        # gthread workers share the cache.
        self._owed: dict[str, None] = {}
        self._owed_lock = threading.Lock()

    def init_app(self, app) -> None:
        url = app.config.get("REDIS_URL")
        self._down_until = 0.0
        self._memory = _MemoryStore()
        self._owed = {}
        if url:
            self._redis = redis.Redis.from_url(
                url, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True
            )
        else:
            self._redis = None
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
            if self._owed:
                self._pay_owed(self._redis)
            return operation(self._redis)
        except redis.RedisError as exc:
            log.warning("cache unavailable, serving without it: %s", exc)
            self._down_until = time.monotonic() + _BACKOFF_SECONDS
            return default

    @property
    def available(self) -> bool:
        """Whether the configured store answers right now (memory always does)."""
        if self._redis is None:
            return True
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            self._down_until = time.monotonic() + _BACKOFF_SECONDS
            return False

    def get(self, key: str) -> Any:
        """The value stored under ``key``, or None when absent or when Redis is down."""
        raw = self._call(lambda r: r.get(self.prefix + key) if r else self._memory.get(key), None)
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: int | None = None) -> bool:
        """Store ``value`` (JSON-able) for ``ttl`` seconds; False when it could not be stored."""
        raw = json.dumps(value)
        return bool(
            self._call(
                lambda r: (
                    r.set(self.prefix + key, raw, ex=ttl) if r else self._memory.set(key, raw, ttl)
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
                    r.set(self.prefix + key, raw, ex=ttl, nx=True)
                    if r
                    else self._memory.set(key, raw, ttl, only_if_absent=True)
                ),
                False,
            )
        )

    def delete(self, *keys: str) -> None:
        """Forget ``keys``; a no-op for missing keys. When Redis is down the delete is
        owed and done as soon as this process reaches Redis again."""
        if not keys:
            return

        def operation(r) -> bool:
            if r is None:
                self._memory.delete(*keys)
            else:
                r.delete(*(self.prefix + k for k in keys))
            return True

        if not self._call(operation, False):
            self._owe(keys)

    def _owe(self, keys: tuple[str, ...]) -> None:
        with self._owed_lock:
            for key in keys:
                self._owed.pop(key, None)
                self._owed[key] = None
            dropped = max(len(self._owed) - _OWED_MAX, 0)
            for _ in range(dropped):
                del self._owed[next(iter(self._owed))]  # the oldest
        if dropped:
            log.warning(
                "cache: %d owed deletes forgotten; their entries expire on their own", dropped
            )

    def _pay_owed(self, r: redis.Redis) -> None:
        with self._owed_lock:
            keys = list(self._owed)
        if keys:
            r.delete(*(self.prefix + k for k in keys))
            log.info("cache: %d deletes owed since Redis was unreachable are done", len(keys))
        with self._owed_lock:
            for key in keys:
                self._owed.pop(key, None)

    @property
    def owed_deletes(self) -> int:
        """How many deletes wait for Redis to answer again."""
        return len(self._owed)

    def incr(self, key: str, ttl: int | None = None) -> int | None:
        """Increment a counter (created at 1 with ``ttl``); None when Redis is down."""

        def operation(r):
            if r is None:
                return self._memory.incr(key, ttl)
            pipe = r.pipeline()
            pipe.incr(self.prefix + key)
            if ttl:
                pipe.expire(self.prefix + key, ttl, nx=True)
            return pipe.execute()[0]

        return self._call(operation, None)

    def clear(self) -> None:
        """Drop every key of this app (tests and `flask masteryai cache-clear`)."""
        if self._redis is None:
            self._memory.clear()
            return

        def operation(r):
            keys = list(r.scan_iter(self.prefix + "*", count=1000))
            if keys:
                r.delete(*keys)

        self._call(operation, None)
