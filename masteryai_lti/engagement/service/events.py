"""Recording engagement events, and the daily rollup kept in step with them.

Every channel (launches, xAPI statements, attendance, the practice player) ends in
`record_events`, idempotent on the event's source id; `withdraw_events` takes back
corrected or voided ones and `set_due_date` moves a graded item's events between
graded work and plain quizzes. Each change is mirrored in ``engagement_days`` in the
same transaction.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import Integer, bindparam, cast, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from masteryai_lti.core.clock import utcnow
from masteryai_lti.engagement.models import (
    EVENT_KINDS,
    GRADED_KINDS,
    EngagementDay,
    EngagementEvent,
    GradedItem,
)
from masteryai_lti.engagement.service.invalidation import _after_commit_invalidate
from masteryai_lti.engagement.service.scoring_parameters import (
    _aware,
    _day,
    institution_zone,
)
from masteryai_lti.extensions import db


def record_events(institution_id: int, events: list[dict], *, commit: bool = True) -> int:
    """Store engagement events; returns how many were new.

    Each dict: ``user_id, course_id, kind, occurred_at, source, source_id`` and
    optionally ``due_at, score (0..1), object_id, extra``. Idempotent on
    (institution_id, source, source_id). An event's ``day`` is the date it happened
    on in the institution's time zone. Commits by default; with
    ``commit=False`` the rows join the caller's transaction. Either way the
    touched courses' cached views are invalidated (and, with a worker queue,
    recomputed) only once the transaction has committed.
    """
    if not events:
        return 0
    declared = _declared_due_dates(events)
    # An event's day is the school's: 23:30 and 00:30 UTC of one New York evening are
    # one active day.
    zone = institution_zone(institution_id)
    rows = []
    for e in events:
        if e["kind"] not in EVENT_KINDS:
            raise ValueError(f"unknown engagement event kind {e['kind']!r}")
        occurred = _aware(e["occurred_at"])
        due_at = e.get("due_at") or declared.get(
            (int(e["course_id"]), e.get("object_id"), e["kind"])
        )
        score = e.get("score")
        if score is not None and not 0.0 <= float(score) <= 1.0:
            raise ValueError("score must be between 0 and 1")
        rows.append(
            {
                "institution_id": institution_id,
                "course_id": int(e["course_id"]),
                "user_id": int(e["user_id"]),
                "kind": e["kind"],
                "occurred_at": occurred,
                "day": _day(occurred, zone),
                "source": str(e["source"])[:40],
                "source_id": str(e["source_id"])[:255],
                "due_at": _aware(due_at) if due_at else None,
                "score": None if score is None else float(score),
                "object_id": e.get("object_id"),
                "extra": e.get("extra"),
                "created_at": utcnow(),
            }
        )
    dialect = db.session.get_bind().dialect.name
    connection = db.session.connection()
    # RETURNING yields only the rows really inserted (duplicates are skipped).
    if dialect == "postgresql" and len(rows) == 1:
        # A live event (a launch, one xAPI statement): event and rollup in one round trip.
        fresh = connection.execute(_one_event_statement(), rows[0]).all()
    else:
        fresh = connection.execute(_statements(dialect)[0], rows).all()
        _roll_up([(c, u, d, _rollup_column(k, due)) for c, u, d, k, due in fresh], +1)
    inserted = len(fresh)
    if fresh:
        _after_commit_invalidate({c for c, *_ in fresh})
    if commit:
        db.session.commit()
    return inserted


def _declared_due_dates(events: list[dict]) -> dict[tuple[int, str, str], datetime]:
    """Due dates of the graded items these events are about, where the event has none.

    One query, and only for events that can be graded work (a submission or quiz
    with an object): launches and views, the bulk of the traffic, cost nothing.
    """
    wanted = [
        e
        for e in events
        if not e.get("due_at") and e.get("object_id") and e["kind"] in GRADED_KINDS
    ]
    if not wanted:
        return {}
    rows = db.session.execute(
        select(
            GradedItem.course_id, GradedItem.object_id, GradedItem.kind, GradedItem.due_at
        ).where(
            GradedItem.course_id.in_({int(e["course_id"]) for e in wanted}),
            GradedItem.object_id.in_({e["object_id"] for e in wanted}),
        )
    )
    return {(c, o, k): due for c, o, k, due in rows}


def set_due_date(course_id: int, object_id: str, kind: str, due_at: datetime | None) -> int:
    """Give a graded item's events this due date (None: they are no longer graded work).

    Joins the caller's transaction; returns how many events changed. A quiz
    attempt counts as graded work (rollup column ``submission``) only while it
    has a due date, so events gaining or losing one move between the columns.

    The date is copied onto the events rather than joined at read time: the
    course view reads graded work through a partial index on ``due_at``, the
    single-student statement and the daily rollup's quiz/submission split all
    key on it, and items change rarely while events are read on every view.
    """
    table = EngagementEvent.__table__
    match = [table.c.course_id == course_id, table.c.object_id == object_id, table.c.kind == kind]
    changed_graded = (
        [table.c.due_at.is_(None)] if due_at is not None else [table.c.due_at.is_not(None)]
    )
    flipped = db.session.execute(
        table.update()
        .where(*match, *changed_graded)
        .values(due_at=due_at)
        .returning(table.c.user_id, table.c.day)
    ).all()
    moved = 0
    if due_at is not None:
        moved = db.session.execute(
            table.update().where(*match, table.c.due_at != due_at).values(due_at=due_at)
        ).rowcount
    if kind == "quiz" and flipped:
        rows = [(course_id, u, d) for u, d in flipped]
        before, after = ("quiz", "submission") if due_at is not None else ("submission", "quiz")
        _roll_up([(c, u, d, before) for c, u, d in rows], -1)
        _roll_up([(c, u, d, after) for c, u, d in rows], +1)
    _after_commit_invalidate({course_id}, reference=True)
    return len(flipped) + moved


def withdraw_events(institution_id: int, source: str, source_ids: list[str]) -> int:
    """Delete events by their source ids (a corrected mark); returns how many went.

    Joins the caller's transaction: the rollup is corrected in it, and the touched
    courses' cached views are invalidated once it commits.
    """
    if not source_ids:
        return 0
    table = EngagementEvent.__table__
    gone = db.session.execute(
        table.delete()
        .where(
            table.c.institution_id == institution_id,
            table.c.source == source,
            table.c.source_id.in_(source_ids),
        )
        .returning(table.c.course_id, table.c.user_id, table.c.day, table.c.kind, table.c.due_at)
    ).all()
    _roll_up([(c, u, d, _rollup_column(k, due)) for c, u, d, k, due in gone], -1)
    _after_commit_invalidate({c for c, *_ in gone})
    return len(gone)


ROLLUP_COLUMNS = ("attendance", "submission", "quiz", "interaction", "resource_view", "launch")


@lru_cache(maxsize=4)
def _statements(dialect: str):
    """The event insert and the rollup upsert, built once per dialect.

    Building them costs more than executing them on the single-event path.
    """
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = EngagementEvent.__table__
    events = (
        make_insert(table)
        .on_conflict_do_nothing(index_elements=["institution_id", "source", "source_id"])
        .returning(table.c.course_id, table.c.user_id, table.c.day, table.c.kind, table.c.due_at)
    )
    days = EngagementDay.__table__
    rollup = make_insert(days)
    # RETURNING, unused, is what makes SQLAlchemy send a batch as multi-row INSERTs
    # ("insertmanyvalues"); without it psycopg2 sends one statement per row, 2-3 times
    # slower for an imported term of attendance.
    rollup = rollup.on_conflict_do_update(
        index_elements=["course_id", "user_id", "day"],
        set_={c: days.c[c] + rollup.excluded[c] for c in ROLLUP_COLUMNS},
    ).returning(days.c.day)
    return events, rollup


@lru_cache(maxsize=1)
def _one_event_statement():
    """PostgreSQL: insert one event and add it to the daily rollup in one statement.

    A data-modifying CTE inserts the event (nothing on a duplicate), a second one
    upserts the rollup row from what the first returned, and the statement returns
    the inserted event like the plain insert does.
    """
    table = EngagementEvent.__table__
    columns = [c for c in table.c if c.name != "id"]
    fresh = (
        pg_insert(table)
        .values({c.name: bindparam(c.name, type_=c.type) for c in columns})
        .on_conflict_do_nothing(index_elements=["institution_id", "source", "source_id"])
        .returning(table.c.course_id, table.c.user_id, table.c.day, table.c.kind, table.c.due_at)
        .cte("fresh")
    )
    counted = rollup_conditions(fresh.c.kind, fresh.c.due_at)
    days = EngagementDay.__table__
    rollup = pg_insert(days).from_select(
        ["course_id", "user_id", "day", *ROLLUP_COLUMNS],
        select(
            fresh.c.course_id,
            fresh.c.user_id,
            fresh.c.day,
            *[cast(counted[c], Integer).label(c) for c in ROLLUP_COLUMNS],
        ),
    )
    rollup = rollup.on_conflict_do_update(
        index_elements=["course_id", "user_id", "day"],
        set_={c: days.c[c] + rollup.excluded[c] for c in ROLLUP_COLUMNS},
    )
    return select(
        fresh.c.course_id, fresh.c.user_id, fresh.c.day, fresh.c.kind, fresh.c.due_at
    ).add_cte(rollup.cte("rolled_up"))


def rollup_conditions(kind, due_at) -> dict:
    """SQL conditions on an event's ``kind`` and ``due_at`` columns, one per rollup
    column: which column an event counts in (`_rollup_column`, in SQL), for the
    one-statement insert and for a rollup rebuilt from the events."""
    graded_quiz = (kind == "quiz") & due_at.is_not(None)
    return {
        "attendance": kind == "attendance",
        "submission": (kind == "submission") | graded_quiz,
        "quiz": (kind == "quiz") & due_at.is_(None),
        "interaction": kind == "interaction",
        "resource_view": kind == "resource_view",
        "launch": kind == "launch",
    }


def _rollup_column(kind: str, due_at) -> str:
    # A quiz with a due date is graded work: it counts through the submissions.
    return "submission" if kind == "quiz" and due_at is not None else kind


def _roll_up(changes: list[tuple[int, int, int, str]], sign: int) -> None:
    """Add (sign=+1) or remove (-1) events in the per-day rollup, in the caller's transaction."""
    if not changes:
        return
    totals: dict[tuple[int, int, int], dict[str, int]] = {}
    for course_id, user_id, day, column in changes:
        counts = totals.setdefault((course_id, user_id, day), dict.fromkeys(ROLLUP_COLUMNS, 0))
        counts[column] += sign
    statement = _statements(db.session.get_bind().dialect.name)[1]
    db.session.connection().execute(
        statement,
        [
            {"course_id": c, "user_id": u, "day": d, **counts}
            for (c, u, d), counts in totals.items()
        ],
    ).all()
