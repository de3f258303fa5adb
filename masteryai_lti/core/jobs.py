"""Background jobs: RQ on Redis in production, inline in the embedded default.

Jobs are named by import path so the RQ worker (``flask masteryai worker``)
re-enters the app context before running them. Anything a job must not lose is
written to the database before it is enqueued (outboxes), so a lost Redis job
is redone by the next drain rather than dropped.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

import redis
from flask import current_app, has_app_context

log = logging.getLogger(__name__)

# The app a worker process runs jobs in; set by the worker command.
_worker_app = None


def _dotted(func: Callable) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def _resolve(path: str) -> Callable:
    module_name, _, attribute = path.partition(":")
    target = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def run_job(path: str, args: tuple, kwargs: dict):
    """Entry point RQ calls: run the job inside an application context."""
    func = _resolve(path)
    if has_app_context():
        return func(*args, **kwargs)
    global _worker_app
    if _worker_app is None:
        from masteryai_lti import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        return func(*args, **kwargs)


class JobQueue:
    """Enqueue module-level functions with plain arguments."""

    queue_name = "masteryai"

    def __init__(self) -> None:
        self._queue = None
        self.inline = True

    def init_app(self, app) -> None:
        self.inline = bool(app.config.get("JOBS_INLINE", True)) or not app.config.get("REDIS_URL")
        self._queue = None
        if not self.inline:
            from rq import Queue

            connection = redis.Redis.from_url(
                app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=0.5
            )
            self._queue = Queue(self.queue_name, connection=connection)
        app.extensions["masteryai_jobs"] = self

    @property
    def queue(self):
        """The RQ queue, or None when jobs run inline."""
        return self._queue

    def enqueue(self, func: Callable, *args, **kwargs):
        """Run ``func(*args, **kwargs)`` in the background (or now, when inline).

        When Redis cannot take the job it runs inline instead, so the work is
        never silently dropped.
        """
        if self._queue is not None:
            try:
                return self._queue.enqueue(run_job, _dotted(func), args, kwargs)
            except redis.RedisError as exc:
                log.warning("job queue unavailable, running %s inline: %s", _dotted(func), exc)
        if has_app_context():
            return func(*args, **kwargs)
        with current_app.app_context():  # pragma: no cover - enqueue outside a context
            return func(*args, **kwargs)
