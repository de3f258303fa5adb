"""Work held until the transaction it belongs to has really committed.

SQLAlchemy fires ``after_commit`` when a savepoint is released and its rollback hooks
when one is rolled back. Acting on the first is too early (the rows are not visible to
other sessions until the outermost commit: a cache dropped then is refilled without
them, a job queued then reads without them); acting on the second throws away what the
transaction noted before the savepoint. Features note ids in an `OnCommit` instead; it
hands them over once the outermost transaction commits and forgets them only when the
outermost transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

_all: list[OnCommit] = []


class OnCommit:
    """Ids noted during a transaction, for ``callback`` after its outermost commit.

    The callback runs inside the commit hook, so it must not touch the database. Without
    a callback the ids wait for the caller to `take` them after its own commit (work
    that needs SQL).
    """

    def __init__(self, name: str, callback: Callable[[set], None] | None = None) -> None:
        self._key = f"on_commit:{name}"
        self._callback = callback
        _all.append(self)

    def add(self, session: Any, ids: Iterable) -> None:
        """Note ``ids`` in ``session`` (a Session or the scoped session proxy)."""
        session.info.setdefault(self._key, set()).update(ids)

    def take(self, session: Any) -> set:
        """The ids noted and not handed over yet; they are forgotten here."""
        return session.info.pop(self._key, set())


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for pending in _all:
        if pending._callback is not None:
            ids = pending.take(session)
            if ids:
                pending._callback(ids)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    # A savepoint rolled back leaves what was noted before it to be committed (noting a
    # change that then did not happen costs its receiver only a little redundant work).
    if previous_transaction.parent is None:
        for pending in _all:
            pending.take(session)


def add_unless_taken(row: Any) -> bool:
    """Add ``row`` in a savepoint; False when a concurrent writer already stored its
    unique key (the savepoint is rolled back, the transaction goes on), so the caller
    takes that writer's row instead of failing the request."""
    from masteryai_lti.extensions import db

    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True
