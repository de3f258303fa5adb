"""The cache's generation, kept in the database so that it outlives Redis and every process.

Every Redis key of the cache carries the current generation. When a delete cannot
reach Redis, the process that missed it starts a new generation here: every process
reads it within `core.cache.GENERATION_REFRESH_SECONDS` and from then on looks only
at keys of the new generation, so the entry that should have gone is never read
again — even if the process that missed the delete dies, or Redis comes back from its
data with the entry in it. The old generation's keys expire on their own.
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from masteryai_lti.extensions import db

log = logging.getLogger(__name__)

_ROW_ID = 1


class CacheGeneration(db.Model):
    """The one row naming the current generation; no row is the first generation ("")."""

    __tablename__ = "cache_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # A random token, never a counter: a row restored from an old backup, or a counter
    # that started again, could bring an old generation (and its entries) back.
    token: Mapped[str] = mapped_column(String(32))


class DatabaseGeneration:
    """Reads and starts generations in the app's database, outside the caller's transaction.

    Each call runs on a connection of its own and commits at once: the caller may be
    in the middle of a transaction (or just after one) that must not be touched.
    Database errors are logged and answered with None; the cache then keeps the
    generation it knew.
    """

    def __init__(self, app) -> None:
        self._app = app
        self._engine = None

    def _connect(self):
        if self._engine is None:
            with self._app.app_context():
                self._engine = db.engine
        return self._engine.begin()

    def read(self) -> str | None:
        """The current generation, or None when the database does not answer."""
        try:
            with self._connect() as connection:
                token = connection.scalar(
                    select(CacheGeneration.token).where(CacheGeneration.id == _ROW_ID)
                )
        except SQLAlchemyError as exc:
            log.warning("cache generation unreadable, keeping the last one: %s", exc)
            return None
        return token or ""

    def advance(self) -> str | None:
        """Start a new generation and return it; None when the database does not answer."""
        token = secrets.token_hex(8)
        table = CacheGeneration.__table__
        try:
            with self._connect() as connection:
                updated = connection.execute(
                    table.update().where(table.c.id == _ROW_ID).values(token=token)
                ).rowcount
                if not updated:
                    connection.execute(table.insert().values(id=_ROW_ID, token=token))
        except IntegrityError:
            # Another process wrote the first row at the same moment: its token is as new.
            return self.read()
        except SQLAlchemyError as exc:
            log.error("could not start a new cache generation: %s", exc)
            return None
        return token
