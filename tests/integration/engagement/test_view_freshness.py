"""The cached class view follows every change that alters it: membership, and events
recorded inside larger transactions (savepoints released or rolled back on the way)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from tests.factories import bearer, make_user
from tests.integration.engagement.test_engagement_api import _world
from tests.redis_server import RedisServer

NOW = datetime.now(UTC)


def _table(client, w) -> dict[int, dict]:
    url = f"/api/v1/courses/{w['course_id']}/engagement?per_page=100"
    response = client.get(url, headers=w["teacher"])
    assert response.status_code == 200, response.get_json()
    return {row["student_id"]: row for row in response.get_json()["items"]}


@pytest.fixture
def cached(client, app):
    """A course whose class view is cached, and its student who has never been active."""
    w = _world(app)
    quiet = w["kids"][5]
    assert _table(client, w)[quiet]["no_activity"]
    return w, quiet


def _launch(w, student_id: int, source_id: str) -> dict:
    return {
        "user_id": student_id,
        "course_id": w["course_id"],
        "kind": "launch",
        "occurred_at": NOW,
        "source": "lti",
        "source_id": source_id,
    }


def test_members_added_and_removed_through_the_api_show_at_once(client, app):
    w = _world(app)
    assert len(_table(client, w)) == 6  # the view is cached from here on
    with app.app_context():
        newcomer = make_user(w["school"], role="student", full_name="New Comer").id
    base = f"/api/v1/courses/{w['course_id']}/members"
    added = client.post(base, json={"user_id": newcomer, "role": "student"}, headers=w["teacher"])
    assert added.status_code == 201, added.get_json()

    rows = _table(client, w)
    assert rows[newcomer]["no_activity"] and rows[newcomer]["flagged"]

    removed = client.delete(f"{base}/{w['kids'][0]}", headers=w["teacher"])
    assert removed.status_code == 204
    assert w["kids"][0] not in _table(client, w)


def test_a_student_joining_by_code_shows_at_once(client, app):
    w = _world(app)
    assert len(_table(client, w)) == 6
    with app.app_context():
        joiner = make_user(w["school"], role="student")
        headers, joiner_id = bearer(joiner), joiner.id
    joined = client.post(
        "/api/v1/courses/join", json={"join_code": w["course"].join_code}, headers=headers
    )
    assert joined.status_code in (200, 201), joined.get_json()
    assert joiner_id in _table(client, w)


def test_a_rolled_back_savepoint_keeps_the_events_recorded_before_it(client, app, cached):
    w, quiet = cached
    with app.app_context():
        from masteryai_lti.engagement import service
        from masteryai_lti.extensions import db

        service.record_events(w["school"].id, [_launch(w, quiet, "sp-1")], commit=False)
        # Later work in the same transaction fails inside a savepoint (a concurrent
        # duplicate, say) and is rolled back alone; the event is still committed.
        try:
            with db.session.begin_nested():
                raise LookupError("the savepoint's own work failed")
        except LookupError:
            pass
        db.session.commit()

    assert not _table(client, w)[quiet]["no_activity"]


def test_a_released_savepoint_does_not_invalidate_before_the_commit(client, app, cached):
    w, quiet = cached
    with app.app_context():
        from masteryai_lti.engagement import service
        from masteryai_lti.extensions import db

        service.record_events(w["school"].id, [_launch(w, quiet, "sp-2")], commit=False)
        with db.session.begin_nested():
            pass  # a savepoint released: the event is still uncommitted

        # Another request reads the class table now: it cannot see the event yet, and
        # caches what it sees.
        seen = {}

        def other_request():
            with app.app_context():
                seen.update(service.course_view(w["course_id"]))

        reader = threading.Thread(target=other_request)
        reader.start()
        reader.join()
        row = next(r for r in seen["students"] if r["student_id"] == quiet)
        assert row["no_activity"]
        db.session.commit()

    assert not _table(client, w)[quiet]["no_activity"]


def test_an_event_committed_while_the_view_is_computed_is_not_left_out(client, app, monkeypatch):
    w = _world(app)
    quiet = w["kids"][5]
    from masteryai_lti.engagement import service
    from masteryai_lti.engagement.service import course_views

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

    # Patched where `course_view` looks it up, not on the package that re-exports it.
    monkeypatch.setattr(course_views, "compute_course_view", compute_while_an_event_commits)
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
        extensions = dict(app.extensions)  # the app's cache generation store with it

    return ConfigOnly()
