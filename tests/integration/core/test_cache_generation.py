"""A delete Redis never received must not let any process serve the old entry again."""

from __future__ import annotations

import logging

import pytest
import redis

from masteryai_lti.core import cache as cache_module
from masteryai_lti.core.cache import Cache
from masteryai_lti.core.cache_generation import CacheGeneration, DatabaseGeneration
from tests.redis_server import RedisServer


class _Process:
    """What `Cache.init_app` reads of an app: its config and its extensions."""

    def __init__(self, redis_url: str, generations) -> None:
        self.config = {"REDIS_URL": redis_url}
        self.extensions = {"masteryai_cache_generations": generations}


def _process(redis_url: str, generations) -> Cache:
    cache = Cache()
    cache.init_app(_Process(redis_url, generations))
    return cache


def test_generations_start_empty_and_each_new_one_differs(app):
    from masteryai_lti.extensions import db

    with app.app_context():  # as on a fresh install (tests that build apps may have bumped it)
        db.session.execute(CacheGeneration.__table__.delete())
        db.session.commit()
    generations = DatabaseGeneration(app)
    assert generations.read() == ""  # no row: the keys written before generations existed
    first = generations.advance()
    assert first and first == generations.read()
    second = generations.advance()
    assert second not in ("", first)
    assert generations.read() == second


@pytest.mark.redis
def test_a_delete_one_process_missed_is_not_served_by_another(app, monkeypatch, tmp_path):
    monkeypatch.setattr(cache_module, "_BACKOFF_SECONDS", 0.0)
    monkeypatch.setattr(cache_module, "GENERATION_REFRESH_SECONDS", 0.0)
    # A Redis that keeps its data on disk, as production ones do.
    server = RedisServer(data_dir=str(tmp_path)).start()
    try:
        writer = _process(server.url, DatabaseGeneration(app))
        reader = _process(server.url, DatabaseGeneration(app))
        writer.set("view", "old")
        assert reader.get("view") == "old"

        server.stop()
        writer.delete("view")  # never reaches Redis
        del writer  # and the process that missed it is gone
        server.start()

        # Redis is back from its data with the old entry in it...
        raw = redis.Redis.from_url(server.url, decode_responses=True)
        assert raw.get("masteryai:view") == '"old"'
        # ...and no process reads it: they all look at the new generation.
        assert reader.get("view") is None
        assert reader.set("view", "new")
        assert reader.get("view") == "new"
        assert _process(server.url, DatabaseGeneration(app)).get("view") == "new"
    finally:
        server.stop()


@pytest.mark.redis
def test_without_its_database_the_cache_keeps_its_last_generation(app, caplog, monkeypatch):
    monkeypatch.setattr(cache_module, "GENERATION_REFRESH_SECONDS", 0.0)
    server = RedisServer().start()
    try:
        generations = DatabaseGeneration(app)
        token = generations.advance()
        cache = _process(server.url, generations)
        cache.set("kept", 1)
        assert redis.Redis.from_url(server.url).exists(f"masteryai:{token}:kept")

        # The database stops answering (nothing listens on port 1): reads and writes
        # stay under the generation the process knew.
        generations._engine = _unreachable_engine()
        assert cache.get("kept") == 1
        server.stop()
        with caplog.at_level(logging.ERROR, logger="masteryai_lti.core.cache"):
            cache.delete("kept")  # neither Redis nor the database: said, not raised
        assert "no new generation could start" in caplog.text
    finally:
        server.stop()


def _unreachable_engine():
    from sqlalchemy import create_engine

    return create_engine(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
