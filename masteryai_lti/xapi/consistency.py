"""X-Experience-API-Consistent-Through (xAPI 1.0.3 Communication 2.1.3.s2.b5; 2.0
4.1.6.1): the instant up to which every statement is visible to a query.

A statement's ``stored`` is taken before its batch is inserted, and the batch is seen by
others only when it commits, which may be seconds later (a 5,000-statement POST took
2.7 s). A header derived from the clock alone can therefore name an instant after the
``stored`` of a batch that is not visible yet. So every write registers itself as "in
flight" *before* it takes its ``stored`` and leaves the register once committed (or
rolled back); the header is the earlier of the clock less a margin and just before the
oldest write still in flight.

The register is a Redis sorted set per institution (score: milliseconds), so every app
process sees every other's writes. A writer that dies leaves its entry behind: entries
older than ``LEASE_S`` (far beyond any request timeout) are dropped. Each process also
keeps its own writes in memory, so while Redis is unreachable the header still waits
for the writes of this process, and the margin covers the others (as before the
register existed); Redis is a cache here, never a dependency.

Why this order is enough: a reader takes the clock, then reads the register. If it saw
a write's entry, the header stays below that entry's instant, which is at most the
write's ``stored``. If it did not, the write registered after the read, so it took its
``stored`` later still, after the reader's clock: the header is below it again. Only
clocks of different hosts can disagree; the margin absorbs that skew.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import redis

from masteryai_lti.extensions import cache

log = logging.getLogger(__name__)

# Clock skew between app hosts that the header allows for.
MARGIN = timedelta(milliseconds=500)
# An entry older than this belongs to a writer that died without leaving the register.
LEASE_S = 300
_BACKOFF_S = 2.0
_ONE_MS = timedelta(milliseconds=1)

# How long a Consistent-Through value may be reused for responses that are not reads.
REUSE_S = 0.25

_local_lock = threading.Lock()
# institution id -> (monotonic seconds when taken, value)
_recent: dict[int, tuple[float, datetime]] = {}
# institution id -> {token: registered at (ms since the epoch)}
_local: dict[int, dict[str, int]] = {}
_redis_down_until = 0.0


def _key(institution_id: int) -> str:
    # The bare prefix, not cache.redis_key(): a new cache generation must not move the
    # register away from writes already in it.
    return f"{cache.prefix}xapi:in-flight:{institution_id}"


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _instant(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _redis():
    """The Redis client, unless there is none or it failed a moment ago."""
    client = cache.client
    if client is None or time.monotonic() < _redis_down_until:
        return None
    return client


def _redis_failed(exc: Exception) -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + _BACKOFF_S
    log.warning("xAPI in-flight register unavailable, using this process's only: %s", exc)


@contextmanager
def writing(institution_id: int, clock: Callable[[], datetime]) -> Iterator[datetime]:
    """Register a write of ``institution_id`` as in flight; yield the ``stored`` instant
    its statements get (millisecond precision, taken after registering). Leave the
    register when the block ends, committed or not."""
    token = uuid.uuid4().hex
    registered = _ms(clock())
    with _local_lock:
        _local.setdefault(institution_id, {})[token] = registered
    client = _redis()
    shared = False
    if client is not None:
        # No EXPIRE: Redis drops a sorted set once its last member is removed, and
        # readers drop the entries of writers that died (LEASE_S).
        try:
            client.zadd(_key(institution_id), {token: registered})
            shared = True
        except redis.RedisError as exc:
            _redis_failed(exc)
    try:
        now = clock()
        # Never before the registered instant, should the clock step back meanwhile.
        yield max(now.replace(microsecond=now.microsecond // 1000 * 1000), _instant(registered))
    finally:
        with _local_lock:
            mine = _local.get(institution_id, {})
            mine.pop(token, None)
            if not mine:
                _local.pop(institution_id, None)
        if shared:
            try:
                client.zrem(_key(institution_id), token)
            except redis.RedisError as exc:
                # The entry holds the header back until its lease ends: late, never wrong.
                _redis_failed(exc)


def _oldest_in_flight(institution_id: int, now_ms: int) -> int | None:
    with _local_lock:
        local = min(_local.get(institution_id, {}).values(), default=None)
    client = _redis()
    shared = None
    if client is not None:
        key = _key(institution_id)
        try:
            oldest = client.zrange(key, 0, 0, withscores=True)
            if oldest and oldest[0][1] < now_ms - LEASE_S * 1000:
                client.zremrangebyscore(key, "-inf", now_ms - LEASE_S * 1000)
                oldest = client.zrange(key, 0, 0, withscores=True)
            shared = int(oldest[0][1]) if oldest else None
        except redis.RedisError as exc:
            _redis_failed(exc)
    found = [ms for ms in (local, shared) if ms is not None]
    return min(found) if found else None


def consistent_through(
    institution_id: int | None, clock: Callable[[], datetime], *, fresh: bool = True
) -> datetime:
    """The instant to send as X-Experience-API-Consistent-Through to a reader of
    ``institution_id`` (None: no institution known, the clock less the margin).

    Take it *before* the query runs: a write committing between the query and the
    header would otherwise have left the register without being in the result.

    A value once right stays right (whatever was stored up to it was visible then, and
    stays so), only more cautious than needed. So ``fresh=False`` (responses that are
    not query results, such as a POST's) may reuse one this process took in the last
    ``REUSE_S`` and spare a Redis round trip.
    """
    if institution_id is not None and not fresh:
        taken = _recent.get(institution_id)
        if taken is not None and time.monotonic() - taken[0] < REUSE_S:
            return taken[1]
    now = clock()
    through = now - MARGIN
    if institution_id is not None:
        oldest = _oldest_in_flight(institution_id, _ms(now))
        if oldest is not None:
            through = min(through, _instant(oldest) - _ONE_MS)
        if len(_recent) > 10_000:
            _recent.clear()
        _recent[institution_id] = (time.monotonic(), through)
    return through
