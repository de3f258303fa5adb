"""The SQL an app sends to its database while a block runs, for tests that check a
request does not query per row (no wall-clock time: the statements themselves)."""

from __future__ import annotations

import sqlalchemy as sa


class SqlStatements:
    """``with SqlStatements(app) as seen:`` — afterwards ``seen.texts`` holds every
    statement sent through ``app``'s engine in the block, ``seen.count`` how many and
    ``seen.reads`` how many of them were SELECTs.

    Left out: the cache's generation read (``core.cache``), which a process repeats
    every few seconds whatever it is doing. It falls into one measured block or another
    by the clock, and a count that pins a request's statements must not depend on that.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.texts: list[str] = []

    @property
    def count(self) -> int:
        return len(self.texts)

    @property
    def reads(self) -> int:
        return sum(text.lstrip().upper().startswith("SELECT") for text in self.texts)

    def _seen(self, conn, cursor, statement, *args) -> None:
        if "cache_generation" not in statement:
            self.texts.append(statement)

    def __enter__(self) -> SqlStatements:
        from masteryai_lti.extensions import db

        with self.app.app_context():
            self.engine = db.engine
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)
