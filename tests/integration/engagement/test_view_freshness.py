"""The cached class view follows every change that alters it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from tests.integration.engagement.test_engagement_api import _world
from tests.redis_server import RedisServer

NOW = datetime.now(UTC)


def _table(client, w) -> dict[int, dict]:
    url = f"/api/v1/courses/{w['course_id']}/engagement?per_page=100"
    response = client.get(url, headers=w["teacher"])
    assert response.status_code == 200, response.get_json()
    return {row["student_id"]: row for row in response.get_json()["items"]}


def _launch(w, student_id: int, source_id: str) -> dict:
    return {
        "user_id": student_id,
        "course_id": w["course_id"],
        "kind": "launch",
        "occurred_at": NOW,
        "source": "lti",
        "source_id": source_id,
    }


def test_an_event_committed_while_the_view_is_computed_is_not_left_out(client, app, monkeypatch):
    w = _world(app)
    quiet = w["kids"][5]
    from masteryai_lti.engagement import service

    compute = service.compute_course_view
    events = [_launch(w, quiet, "during")]

    def compute_while_an_event_commits(course_id, as_of=None):
        view = compute(course_id, as_of)  # read before the event...
        if events:

            def other_request():
                with app.app_context():
                    service.record_events(w["school"].id, [events.pop()])

            writer = threading.Thread(target=other_request)
            writer.start()
            writer.join()  # ...which commits before this view is cached
        return view

    monkeypatch.setattr(service, "compute_course_view", compute_while_an_event_commits)
    assert _table(client, w)[quiet]["no_activity"]  # what that read saw
    assert not events
    assert not _table(client, w)[quiet]["no_activity"]


@pytest.mark.redis
def test_a_change_redis_missed_shows_once_it_is_back(client, app, monkeypatch, tmp_path):
    from masteryai_lti.core import cache as cache_module
    from masteryai_lti.extensions import cache

    # No back-off wait: the first call after the restart reaches Redis.
    monkeypatch.setattr(cache_module, "_BACKOFF_SECONDS", 0.0)
    # A Redis that keeps its data on disk, as production ones do.
    server = RedisServer(data_dir=str(tmp_path)).start()
    w = _world(app)
    quiet = w["kids"][5]
    try:
        with app.app_context():
            cache.init_app(make_config_app(app, server.url))
        assert _table(client, w)[quiet]["no_activity"]  # cached in this Redis
        server.stop()
        with app.app_context():
            from masteryai_lti.engagement import service

            service.record_events(w["school"].id, [_launch(w, quiet, "while-down")])
        # Meanwhile answers come from PostgreSQL.
        assert not _table(client, w)[quiet]["no_activity"]
        server.start()
        # Redis is back with the old view in it: it must not be served.
        assert not _table(client, w)[quiet]["no_activity"]
    finally:
        server.stop()
        cache.init_app(app)  # the cache is process-wide: give the next tests theirs back


def make_config_app(app, redis_url: str):
    """An object with the app's config but another Redis, for `Cache.init_app`."""

    class ConfigOnly:
        config = {**app.config, "REDIS_URL": redis_url}
        extensions: dict = {}

    return ConfigOnly()
