"""Engagement use cases: record signals, compute (cached) course views, attendance, settings.

PostgreSQL is the truth; Redis holds two cache entries per course (see
`keys`): the computed class view (invalidated by every new event) and the
course reference (medians etc., refreshed by each full computation) that
lets one student's index be recomputed alone right after an event.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime
from functools import lru_cache

import numpy as np
from flask import current_app
from sqlalchemy import Integer, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import (
    Actor,
    ensure_can_teach,
    ensure_can_view_student,
    visible_course,
)
from masteryai_lti.core.transactions import OnCommit
from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.courses.service import full_names, roster_changed, student_ids
from masteryai_lti.engagement import keys
from masteryai_lti.engagement.engine import (
    DEFAULT_WEIGHTS,
    FACTORS,
    KIND_CODE,
    ActivityTable,
    CourseInput,
    CourseReference,
    DueItem,
    SubmissionTable,
    WeightsError,
    band_for,
    compute_course,
    course_reference,
    missing_work,
    trend_label,
    validate_weights,
)
from masteryai_lti.engagement.models import (
    EVENT_KINDS,
    GRADED_KINDS,
    EngagementDay,
    EngagementEvent,
    EngagementSettings,
    EngagementSnapshot,
    GradedItem,
)
from masteryai_lti.engagement.risk import (
    RiskSettings,
    RiskSettingsError,
    assess_course,
    load_model,
)
from masteryai_lti.extensions import cache, db, jobs

log = logging.getLogger(__name__)

VIEW_TTL = 6 * 3600
REFERENCE_TTL = 2 * 24 * 3600


@lru_cache(maxsize=1)
def risk_model():
    """The shipped risk model (read once per process)."""
    return load_model()


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- recording signals ---------------------------------------------------------------------


def record_events(institution_id: int, events: list[dict], *, commit: bool = True) -> int:
    """Store engagement events; returns how many were new.

    Each dict: ``user_id, course_id, kind, occurred_at, source, source_id`` and
    optionally ``due_at, score (0..1), object_id, extra``. Idempotent on
    (institution_id, source, source_id). Commits by default; with
    ``commit=False`` the rows join the caller's transaction. Either way the
    touched courses' cached views are invalidated (and, with a worker queue,
    recomputed) only once the transaction has committed.
    """
    declared = _declared_due_dates(events)
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
                "day": occurred.date().toordinal(),
                "source": str(e["source"])[:40],
                "source_id": str(e["source_id"])[:255],
                "due_at": _aware(due_at) if due_at else None,
                "score": None if score is None else float(score),
                "object_id": e.get("object_id"),
                "extra": e.get("extra"),
                "created_at": utcnow(),
            }
        )
    if not rows:
        return 0
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


def _after_commit_invalidate(course_ids: set[int], *, reference: bool = False) -> None:
    """Invalidate these courses' cached views when the current transaction commits;
    with ``reference``, their cached reference too (what is due changed).

    Invalidating earlier would let a concurrent read cache a view without the
    new rows; a rolled-back transaction invalidates nothing.
    """
    if reference:
        _stale_references.add(db.session, course_ids)
    _stale_views.add(db.session, course_ids)


def _drop_references(course_ids: set[int]) -> None:
    cache.delete(*(keys.course_reference(course_id) for course_id in course_ids))


def _drop_views(course_ids: set[int]) -> None:
    for course_id in course_ids:
        _course_changed(course_id)


# References first: a view rebuilt after its drop stores a fresh reference with it.
_stale_references = OnCommit("engagement-references", _drop_references)
_stale_views = OnCommit("engagement-views", _drop_views)


@roster_changed.connect
def _roster_changed(course_id: int) -> None:
    """Someone joined or left the course: the class view and its medians are stale
    (a student synced from the LMS must show, and be flagged, before any activity)."""
    _drop_references({course_id})
    _drop_views({course_id})


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
    graded_quiz = (fresh.c.kind == "quiz") & fresh.c.due_at.is_not(None)
    counted = {
        "attendance": fresh.c.kind == "attendance",
        "submission": (fresh.c.kind == "submission") | graded_quiz,
        "quiz": (fresh.c.kind == "quiz") & fresh.c.due_at.is_(None),
        "interaction": fresh.c.kind == "interaction",
        "resource_view": fresh.c.kind == "resource_view",
        "launch": fresh.c.kind == "launch",
    }
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


def _course_changed(course_id: int) -> None:
    cache.delete(keys.course_view_stamp(course_id), keys.course_view(course_id))
    if not jobs.inline and cache.set_if_absent(keys.recompute_pending(course_id), 1, ttl=5):
        # A worker rebuilds the view within seconds; a burst of events enqueues once.
        jobs.enqueue(recompute_course_job, course_id)


# --- computing -----------------------------------------------------------------------------


def _settings(course_id: int) -> EngagementSettings | None:
    return db.session.get(EngagementSettings, course_id)


def _weights_and_risk_settings(course_id: int) -> tuple[dict, RiskSettings]:
    s = _settings(course_id)
    if s is None:
        return dict(DEFAULT_WEIGHTS), RiskSettings()
    return dict(s.weights), RiskSettings(s.flag_at, s.clear_below, s.outcome_rate)


def _as_of(as_of: date | None) -> date:
    return as_of or utcnow().date()


def _period_days() -> int:
    return int(current_app.config.get("ENGAGEMENT_CALCULATION_PERIOD_DAYS", 30))


def load_course_input(
    course_id: int,
    as_of: date,
    roster: list[int] | None = None,
    reference: CourseReference | None = None,
    known_items: list | None = None,
    weights: dict | None = None,
) -> CourseInput:
    """Read a course's events over the period into engine input (aggregated in SQL).

    ``known_items`` (``[key, kind, due_day, title]`` rows from a cached view) spares
    the course-wide query for due items when scoring one student.
    """
    period = _period_days()
    end = as_of.toordinal()
    start = end - period
    roster = student_ids(course_id) if roster is None else roster
    index = {uid: i for i, uid in enumerate(roster)}
    ev = EngagementEvent
    daily = EngagementDay
    where = [daily.course_id == course_id, daily.day > start, daily.day <= end]
    if len(roster) == 1:
        where.append(daily.user_id == roster[0])
    # Only quiz, interaction and view counts feed factors; the other kinds only
    # mark a day present, so they travel summed in one column (less to parse).
    presence = daily.attendance + daily.submission + daily.launch
    columns = [daily.quiz, daily.interaction, daily.resource_view, presence]
    query = select(daily.user_id, daily.day - start, *columns).where(*where)
    if len(roster) == 1:
        # A month of one student's days: a plain query beats COPY's setup.
        rows = _fetch_rows(query)
        matrix = np.asarray(rows, dtype=np.int64).reshape(-1, 2 + len(columns))
    else:
        matrix = _fetch_int_matrix(query, 2 + len(columns))
    activity = _activity_from_days(matrix, roster, start)
    # Due items are known from any student's graded work (a partial index covers them).
    graded = [ev.course_id == course_id, ev.due_at.is_not(None), ev.object_id.is_not(None)]
    graded += [ev.kind.in_(("submission", "quiz")), ev.day <= end]
    if known_items is None:
        due_by_item = {
            (o, k): (due, "")
            for o, k, due in db.session.execute(
                select(ev.object_id, ev.kind, func.min(ev.due_at))
                .where(*graded)
                .group_by(ev.object_id, ev.kind)
            )
        }
        # Declared items count even before anyone hands them in (missing work), and
        # their due date is the declared one.
        due_by_item.update(
            ((o, k), (due, title))
            for o, k, due, title in db.session.execute(
                select(
                    GradedItem.object_id, GradedItem.kind, GradedItem.due_at, GradedItem.title
                ).where(GradedItem.course_id == course_id)
            )
        )
        item_list = [
            DueItem(o, k, _aware(due).date().toordinal(), title, _aware(due).isoformat())
            for (o, k), (due, title) in sorted(due_by_item.items())
        ]
    else:
        item_list = _cached_items(known_items)
    items = {(it.key, it.kind): n for n, it in enumerate(item_list)}
    if len(roster) == 1:
        graded.append(ev.user_id == roster[0])
    if len(roster) > 1 and item_list and db.session.get_bind().dialect.name == "postgresql":
        submissions = _graded_by_copy(course_id, end, item_list, roster)
    else:
        work = _fetch_rows(
            select(ev.user_id, ev.object_id, ev.kind, func.min(ev.day), func.max(ev.score))
            .where(*graded)
            .group_by(ev.user_id, ev.object_id, ev.kind)
        )
        submissions = _submissions(work, index, items)
    other_courses, earlier_runs = enrolment_context(course_id, roster, start)
    return CourseInput(
        roster=roster,
        activity=activity,
        items=item_list,
        submissions=submissions,
        as_of_day=end,
        period_days=period,
        weights=weights if weights is not None else _weights_and_risk_settings(course_id)[0],
        reference=reference,
        other_courses=other_courses,
        earlier_runs=earlier_runs,
    )


def _cached_items(rows: list) -> list[DueItem]:
    """Due items from a cached course reference: ``[key, kind, due_day, title, due_at]``
    rows (references cached by earlier releases have three or four columns)."""
    return [
        DueItem(
            row[0],
            row[1],
            int(row[2]),
            row[3] if len(row) > 3 else "",
            row[4] if len(row) > 4 else "",
        )
        for row in rows
    ]


def enrolment_context(course_id: int, roster: list[int], start: int) -> tuple[list[int], list[int]]:
    """Per roster student: other courses taken now, and earlier runs of this course.

    "Now" means the other course's latest event falls after ``start`` (an LMS keeps
    old terms' enrolments active long after they end). Earlier runs are courses
    of the institution with the same course code (the LMS context label), created
    before this one, where the student was enrolled, whatever became of that.
    `_STUDENT_SQL` counts the same for one student in its single round trip.
    """
    this = db.session.execute(
        select(Course.institution_id, Course.code, Course.created_at).where(Course.id == course_id)
    ).one()
    mine, other = aliased(Enrollment), aliased(Enrollment)
    students = [mine.course_id == course_id, mine.role == "student", mine.status == "active"]
    if len(roster) == 1:
        students.append(mine.user_id == roster[0])
    taking = db.session.execute(
        select(mine.user_id, other.course_id)
        .join(other, (other.user_id == mine.user_id) & (other.course_id != course_id))
        .where(
            *students,
            other.institution_id == this.institution_id,
            other.role == "student",
            other.status == "active",
        )
    ).all()
    live = _live_courses({c for _, c in taking}, start)
    concurrent: dict[int, int] = {}
    for uid, other_course in taking:
        if other_course in live:
            concurrent[uid] = concurrent.get(uid, 0) + 1
    repeats: dict[int, int] = {}
    if this.code:
        repeats = dict(
            db.session.execute(
                select(mine.user_id, func.count())
                .join(other, other.user_id == mine.user_id)
                .join(Course, Course.id == other.course_id)
                .where(
                    *students,
                    other.role == "student",
                    Course.institution_id == this.institution_id,
                    Course.code == this.code,
                    Course.created_at < this.created_at,
                )
                .group_by(mine.user_id)
            ).all()
        )
    return [concurrent.get(uid, 0) for uid in roster], [repeats.get(uid, 0) for uid in roster]


def _live_courses(course_ids: set[int], start: int) -> set[int]:
    """The courses among these whose latest event is after day ``start``."""
    if not course_ids:
        return set()
    # max(day) per course is one backward probe of the events' (course, day) index;
    # a join or EXISTS over the events would read every event of the period.
    latest = (
        select(func.max(EngagementEvent.day))
        .where(EngagementEvent.course_id == Course.id)
        .scalar_subquery()
    )
    return set(
        db.session.scalars(select(Course.id).where(Course.id.in_(course_ids), latest > start))
    )


_GRADED_SQL = """
SELECT e.user_id, it.n - 1, min(e.day), coalesce(max(e.score), -1)
FROM engagement_events e
JOIN unnest(%(objects)s::text[], %(kinds)s::text[]) WITH ORDINALITY AS it(o, k, n)
  ON e.object_id = it.o AND e.kind = it.k
WHERE e.course_id = %(c)s AND e.due_at IS NOT NULL AND e.object_id IS NOT NULL
  AND e.kind IN ('submission', 'quiz') AND e.day <= %(end)s
GROUP BY e.user_id, it.n
"""


def _graded_by_copy(course_id: int, end: int, item_list: list, roster: list[int]):
    """A whole course's graded work (first day, best score per student and item) by COPY.

    Items travel as their index in ``item_list`` (joined in SQL), so every column is
    numeric and ~50,000 rows parse in one numpy call instead of as Python tuples.
    The statement is rendered by the driver's own quoting (COPY takes no parameters).
    """
    connection = db.session.connection()
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        sql = cursor.mogrify(
            _GRADED_SQL,
            {
                "objects": [it.key for it in item_list],
                "kinds": [it.kind for it in item_list],
                "c": course_id,
                "end": end,
            },
        ).decode()
        buffer = io.StringIO()
        cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT text)", buffer)
    finally:
        cursor.close()
    text = buffer.getvalue()
    if not text:
        return SubmissionTable.empty()
    data = np.fromstring(text, dtype=np.float64, sep=" ").reshape(-1, 4)
    ids = np.asarray(roster, dtype=np.int64)
    order = np.argsort(ids)
    users = data[:, 0].astype(np.int64)
    pos = np.minimum(np.searchsorted(ids[order], users), len(ids) - 1)
    known = ids[order][pos] == users
    score = data[known, 3]
    return SubmissionTable(
        order[pos[known]],
        data[known, 1].astype(np.int64),
        data[known, 2].astype(np.int64),
        np.where(score < 0, np.nan, score),
    )


def _submissions(work, index: dict[int, int], items: dict) -> SubmissionTable:
    """SubmissionTable from (user_id, object_id, kind, first day, best score) rows."""
    return SubmissionTable.from_rows(
        (index[u], items[(o, k)], d, sc)
        for u, o, k, d, sc in work
        if u in index and (o, k) in items
    )


def _fetch_rows(query) -> list[tuple]:
    """Plain tuples straight from the driver (Row objects cost too much per row here).

    The query holds only ids and kinds we built ourselves, so it is rendered
    with literal values for the raw PostgreSQL cursor.
    """
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return [tuple(r) for r in connection.execute(query)]
    sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _fetch_int_matrix(query, width: int) -> np.ndarray:
    """Run an all-integer query into an (n, width) int64 array.

    On PostgreSQL the rows travel by COPY as text parsed by numpy in one call:
    a 10,000-student course has ~300,000 rollup rows, and building that many
    Row objects costs seconds.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        buffer = io.StringIO()
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT text)", buffer)
        finally:
            cursor.close()
        text = buffer.getvalue()
        if not text:
            return np.zeros((0, width), dtype=np.int64)
        return np.fromstring(text, dtype=np.int64, sep=" ").reshape(-1, width)
    rows = connection.execute(query).all()
    if not rows:
        return np.zeros((0, width), dtype=np.int64)
    return np.asarray([tuple(r) for r in rows], dtype=np.int64)


_FETCHED_KINDS = ("quiz", "interaction", "resource_view", "launch")


def _activity_from_days(data: np.ndarray, roster: list[int], start: int) -> ActivityTable:
    """Turn rollup rows (user_id, day - start, quiz, interaction, views, presence) into
    the engine's ActivityTable (presence rows count as launches: they only mark the day)."""
    if data.shape[0] == 0 or not roster:
        return ActivityTable.empty()
    ids = np.asarray(roster, dtype=np.int64)
    order = np.argsort(ids)
    pos = np.searchsorted(ids[order], data[:, 0])
    pos = np.minimum(pos, len(ids) - 1)
    known = ids[order][pos] == data[:, 0]
    student = order[pos]
    parts_s, parts_k, parts_d, parts_c = [], [], [], []
    for j, column in enumerate(_FETCHED_KINDS):
        counts = data[:, 2 + j]
        sel = known & (counts > 0)
        parts_s.append(student[sel])
        parts_k.append(np.full(int(sel.sum()), KIND_CODE[column], dtype=np.int64))
        parts_d.append(data[sel, 1] + start)
        parts_c.append(counts[sel].astype(np.float64))
    return ActivityTable(
        np.concatenate(parts_s),
        np.concatenate(parts_k),
        np.concatenate(parts_d),
        np.concatenate(parts_c),
    )


def _previous_flags(course_id: int, before: date) -> dict[int, date]:
    """The students flagged on the latest snapshot before ``before``, each with the day
    their flag went up."""
    latest = db.session.scalar(
        select(func.max(EngagementSnapshot.taken_on)).where(
            EngagementSnapshot.course_id == course_id, EngagementSnapshot.taken_on < before
        )
    )
    if latest is None:
        return {}
    rows = db.session.execute(
        select(EngagementSnapshot.user_id, EngagementSnapshot.flagged_since).where(
            EngagementSnapshot.course_id == course_id,
            EngagementSnapshot.taken_on == latest,
            EngagementSnapshot.flagged.is_(True),
        )
    )
    # Snapshots written before flagged_since existed: the flag is known from that day.
    return {user: since or latest for user, since in rows}


def _table_rows(course, risk, flagged_since: list) -> list[dict]:
    """Compact per-student rows for the class view; reasons only for flagged students."""
    scores = course.score.tolist()
    probs = np.round(risk.probability, 4).tolist()
    flagged = risk.flagged.tolist()
    since = course.days_since_active.tolist()
    ids = course.roster.tolist()
    bands = [band_for(x) for x in scores]
    trends = [trend_label(x) for x in course.trend_slope.tolist()]
    contributions = (course.contributions / 10.0).tolist()
    rows = []
    for i in range(course.size):
        row = {
            "student_id": ids[i],
            "score": scores[i],
            "band": bands[i],
            "trend": trends[i],
            "risk": probs[i],
            "flagged": flagged[i],
            "flagged_since": flagged_since[i],
            "no_activity": since[i] < 0,
            "days_since_active": None if since[i] < 0 else since[i],
            "contributions": contributions[i],
        }
        if flagged[i]:
            row["reasons"] = [r.__dict__.copy() for r in risk.reasons(i)]
        rows.append(row)
    return rows


def _assess(course_id: int, course, as_of: date):
    """Risk and flags (with the day each flag went up) against the last snapshot's flags."""
    _, settings = _weights_and_risk_settings(course_id)
    flagged_before = _previous_flags(course_id, as_of)
    roster = course.roster.tolist()
    risk = assess_course(course, risk_model(), settings, [uid in flagged_before for uid in roster])
    # A flag carries its first day while it stays up; a new one starts today.
    since = [
        (flagged_before.get(uid) or as_of).isoformat() if flagged else None
        for uid, flagged in zip(roster, risk.flagged.tolist(), strict=True)
    ]
    return risk, settings, since


def compute_course_view(course_id: int, as_of: date | None = None) -> dict:
    """Compute every student's index, risk and reasons from PostgreSQL (no cache involved)."""
    as_of = _as_of(as_of)
    inp = load_course_input(course_id, as_of)
    course = compute_course(inp)
    risk, settings, flagged_since = _assess(course_id, course, as_of)
    return {
        "course_id": course_id,
        "as_of": as_of.isoformat(),
        "period_days": inp.period_days,
        "weights": dict(zip(FACTORS, [round(float(w), 2) for w in course.weights], strict=True)),
        "medians": dict(zip(FACTORS, [float(m) for m in course.median], strict=True)),
        "reference": {
            **course_reference(course).to_dict(),
            "items": [[it.key, it.kind, it.due_day, it.title, it.due_at] for it in inp.items],
        },
        "thresholds": {"flag_at": settings.flag_at, "clear_below": settings.clear_below},
        "students": _table_rows(course, risk, flagged_since),
    }


# Parsed course views this process has already read, by course: a class page of a
# 10,000-student course would otherwise parse megabytes of JSON per request. An
# entry is used only while its stamp still matches the one in the shared cache.
_parsed_views: OrderedDict[int, dict] = OrderedDict()
_PARSED_VIEWS_MAX = 8


def _remember(course_id: int, view: dict) -> None:
    _parsed_views[course_id] = view
    _parsed_views.move_to_end(course_id)
    while len(_parsed_views) > _PARSED_VIEWS_MAX:
        _parsed_views.popitem(last=False)


def _view_stamp(course_id: int) -> str | None:
    """The token naming the course's data as it is now, or None when the cache is down.

    Every change deletes it (`_course_changed`); the first reader after that draws a
    new one *before* reading the database, and the view it computes is cached under
    it. An event committed while a view is being computed deletes the token that view
    will carry, so the view is never served: taking the token after computing (as
    before) let such a view stand, without the event, until the next change.
    """
    key = keys.course_view_stamp(course_id)
    stamp = cache.get(key)
    if stamp is None:
        cache.set_if_absent(key, uuid.uuid4().hex, ttl=VIEW_TTL)
        stamp = cache.get(key)
    return stamp


def _is_current(view: dict | None, stamp: str, as_of: date) -> bool:
    return view is not None and view.get("stamp") == stamp and view["as_of"] == as_of.isoformat()


def _store_view(course_id: int, view: dict, stamp: str) -> None:
    view["stamp"] = stamp
    cache.set(keys.course_view(course_id), view, ttl=VIEW_TTL)
    cache.set(
        keys.course_reference(course_id),
        {"as_of": view["as_of"], **view["reference"]},
        ttl=REFERENCE_TTL,
    )
    _remember(course_id, view)


def course_view(course_id: int, as_of: date | None = None) -> dict:
    """The cached course view, recomputed from PostgreSQL when the cache is cold or down."""
    as_of = _as_of(as_of)
    stamp = _view_stamp(course_id)
    if stamp is None:
        return compute_course_view(course_id, as_of)
    local = _parsed_views.get(course_id)
    if _is_current(local, stamp, as_of):
        return local
    view = cache.get(keys.course_view(course_id))
    if _is_current(view, stamp, as_of):
        _remember(course_id, view)
        return view
    view = compute_course_view(course_id, as_of)
    _store_view(course_id, view, stamp)
    return view


def _student_context(
    course_id: int, student_id: int, before: date
) -> tuple[bool, dict, RiskSettings, bool]:
    """Enrolment, course settings and the last snapshot's flag in one round trip.

    Scoring one student after an event is a handful of tiny queries; on a busy
    database each round trip costs more than the computation.
    """
    settings = EngagementSettings
    enrolled = (
        select(Enrollment.id)
        .where(
            Enrollment.course_id == course_id,
            Enrollment.user_id == student_id,
            Enrollment.role == "student",
            Enrollment.status == "active",
        )
        .exists()
    )
    previous = (
        select(EngagementSnapshot.flagged)
        .where(
            EngagementSnapshot.course_id == course_id,
            EngagementSnapshot.user_id == student_id,
            EngagementSnapshot.taken_on < before,
        )
        .order_by(EngagementSnapshot.taken_on.desc())
        .limit(1)
        .scalar_subquery()
    )

    def setting(column):
        return select(column).where(settings.course_id == course_id).scalar_subquery()

    row = db.session.execute(
        select(
            enrolled,
            previous,
            setting(settings.weights),
            setting(settings.flag_at),
            setting(settings.clear_below),
            setting(settings.outcome_rate),
        )
    ).one()
    is_enrolled, was_flagged, weights, flag_at, clear_below, outcome_rate = row
    if weights is None:
        return bool(is_enrolled), dict(DEFAULT_WEIGHTS), RiskSettings(), bool(was_flagged)
    return (
        bool(is_enrolled),
        dict(weights),
        RiskSettings(flag_at, clear_below, outcome_rate),
        bool(was_flagged),
    )


# Everything needed to score one student against a cached course reference, in one
# round trip (PostgreSQL): enrolment, last flag, course settings, the student's
# rollup rows in the period, their graded work and their enrolment context.
_STUDENT_SQL = """
SELECT
  EXISTS (SELECT 1 FROM enrollments
          WHERE course_id = %(c)s AND user_id = %(u)s
            AND role = 'student' AND status = 'active'),
  (SELECT flagged FROM engagement_snapshots
   WHERE course_id = %(c)s AND user_id = %(u)s AND taken_on < %(before)s
   ORDER BY taken_on DESC LIMIT 1),
  s.weights, s.flag_at, s.clear_below, s.outcome_rate,
  (SELECT array_agg(ARRAY[day - %(start)s, quiz, interaction, resource_view,
                          attendance + submission + launch])
   FROM engagement_days
   WHERE course_id = %(c)s AND user_id = %(u)s AND day > %(start)s AND day <= %(end)s),
  (SELECT json_agg(json_build_array(object_id, kind, d, sc)) FROM (
     SELECT object_id, kind, min(day) AS d, max(score) AS sc
     FROM engagement_events
     WHERE course_id = %(c)s AND user_id = %(u)s AND due_at IS NOT NULL
       AND object_id IS NOT NULL AND kind IN ('submission', 'quiz') AND day <= %(end)s
     GROUP BY object_id, kind) g),
  -- enrolment_context() for one student: other live courses, earlier runs
  (SELECT count(*) FROM enrollments o
   WHERE o.user_id = %(u)s AND o.course_id <> %(c)s AND o.role = 'student'
     AND o.status = 'active' AND o.institution_id = t.institution_id
     AND (SELECT max(d.day) FROM engagement_events d WHERE d.course_id = o.course_id)
         > %(start)s),
  (SELECT count(*) FROM enrollments o JOIN courses e ON e.id = o.course_id
   WHERE o.user_id = %(u)s AND o.role = 'student' AND e.institution_id = t.institution_id
     AND e.code = t.code AND t.code <> '' AND e.created_at < t.created_at)
FROM courses t
LEFT JOIN engagement_settings s ON s.course_id = t.id
WHERE t.id = %(c)s
"""


def _student_input_pg(course_id: int, student_id: int, as_of: date, ref: dict):
    """PostgreSQL fast path of `student_view`: one query, then the engine input."""
    period = _period_days()
    end = as_of.toordinal()
    start = end - period
    connection = db.session.connection()
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(
            _STUDENT_SQL,
            {"c": course_id, "u": student_id, "before": as_of, "start": start, "end": end},
        )
        row = cursor.fetchone()
        if row is None:
            raise NotFound("No such course.")
        enrolled, previous, weights, flag_at, clear_below, rate, days, work, other, earlier = row
    finally:
        cursor.close()
    if weights is None:
        weights, settings = dict(DEFAULT_WEIGHTS), RiskSettings()
    else:
        weights, settings = dict(weights), RiskSettings(flag_at, clear_below, rate)
    matrix = np.zeros((0, 6), dtype=np.int64)
    if days:
        matrix = np.asarray(days, dtype=np.int64).reshape(-1, 5)
        matrix = np.column_stack([np.full(matrix.shape[0], student_id), matrix])
    item_list = _cached_items(ref["items"])
    items = {(it.key, it.kind): n for n, it in enumerate(item_list)}
    rows = [(student_id, o, k, d, sc) for o, k, d, sc in work or ()]
    inp = CourseInput(
        roster=[student_id],
        activity=_activity_from_days(matrix, [student_id], start),
        items=item_list,
        submissions=_submissions(rows, {student_id: 0}, items),
        as_of_day=end,
        period_days=period,
        weights=weights,
        reference=CourseReference.from_dict(ref),
        other_courses=[other],
        earlier_runs=[earlier],
    )
    return bool(enrolled), settings, bool(previous), inp


def student_view(course_id: int, student_id: int, as_of: date | None = None) -> dict:
    """One student's current index, full breakdown, risk and reasons.

    Reads only the student's own rollup rows and scores them against the cached
    course reference (medians, factors with signal, due items), so a new event
    shows at once; a cold cache computes the course view first.
    """
    as_of = _as_of(as_of)
    ref = cache.get(keys.course_reference(course_id))
    fresh_ref = ref is not None and ref.get("as_of") == as_of.isoformat()
    if fresh_ref and db.session.get_bind().dialect.name == "postgresql":
        enrolled, settings, previous, inp = _student_input_pg(course_id, student_id, as_of, ref)
        if not enrolled:
            raise NotFound("This student is not enrolled in the course.")
    else:
        enrolled, weights, settings, previous = _student_context(course_id, student_id, as_of)
        if not enrolled:
            raise NotFound("This student is not enrolled in the course.")
        if not fresh_ref:
            ref = course_view(course_id, as_of)["reference"]
        inp = load_course_input(
            course_id,
            as_of,
            roster=[student_id],
            reference=CourseReference.from_dict(ref),
            known_items=ref["items"],
            weights=weights,
        )
    course = compute_course(inp)
    risk = assess_course(course, risk_model(), settings, [previous])
    row = course.student(0).to_dict()
    verdict = risk.student(0)
    row.update(
        risk=verdict.probability,
        flagged=verdict.flagged,
        no_activity=verdict.no_activity,
        reasons=[x.__dict__.copy() for x in verdict.reasons],
        missing_work=_described(missing_work(inp, 0)),
    )
    return row


def _described(items: list[DueItem]) -> list[dict]:
    """Due items for people: the declared title (else what events call it) and date."""
    return [
        {
            "object_id": item.key,
            "kind": item.kind,
            "title": item.title or item.key,
            "due_date": date.fromordinal(item.due_day).isoformat(),
            # The instant, for showing in the reader's own time zone (due_date is UTC's).
            "due_at": item.due_at or None,
        }
        for item in items
    ]


# --- use cases behind the API --------------------------------------------------------------

SORT_KEYS = {"score", "risk", "student_id", "days_since_active", "name"}
_ROW_FIELDS = ("student_id", "score", "band", "trend", "risk")
TABLE_FIELDS = (*_ROW_FIELDS, "flagged", "no_activity", "days_since_active")
AT_RISK_FIELDS = (*_ROW_FIELDS, "flagged_since", "no_activity", "days_since_active", "reasons")


def class_table(
    actor: Actor,
    course_id: int,
    *,
    sort: str = "score",
    band: str | None = None,
    at_risk: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict:
    """The class engagement table for a teacher: sorted, filtered, paginated."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    view = course_view(course_id)
    rows = view["students"]
    if band:
        rows = [r for r in rows if r["band"] == band]
    if at_risk is not None:
        rows = [r for r in rows if r["flagged"] == at_risk]
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise ValidationFailed(
            "Bad sort key.", errors=[field_error("sort", f"one of {sorted(SORT_KEYS)}", "query")]
        )

    if key == "name":
        # Names are the LMS's and may change: read them now, never from the cached view.
        names = full_names([r["student_id"] for r in rows])
        rows = sorted(
            rows,
            key=lambda r: (names.get(r["student_id"], "").casefold(), r["student_id"]),
            reverse=descending,
        )
    else:

        def sort_key(r):
            value = r[key]
            return (value is None, value if value is not None else 0, r["student_id"])

        rows = sorted(rows, key=sort_key, reverse=descending)
    total = len(rows)
    start = (page - 1) * per_page
    items = _named_rows(rows[start : start + per_page], TABLE_FIELDS)
    return {
        "course_id": course_id,
        "as_of": view["as_of"],
        "weights": view["weights"],
        "medians": view["medians"],
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": items,
    }


def student_breakdown(actor: Actor, course_id: int, student_id: int) -> dict:
    """A student's breakdown: the student themself, the course's teachers, admins."""
    course = db.session.get(Course, course_id)
    ensure_can_view_student(actor, course, student_id)
    view = student_view(course_id, student_id)
    view["full_name"] = full_names([student_id]).get(student_id, "")
    return view


def student_history(actor: Actor, course_id: int, student_id: int) -> list[dict]:
    """Daily snapshots of a student's index and risk, oldest first."""
    course = db.session.get(Course, course_id)
    ensure_can_view_student(actor, course, student_id)
    snaps = db.session.scalars(
        select(EngagementSnapshot)
        .where(EngagementSnapshot.course_id == course_id, EngagementSnapshot.user_id == student_id)
        .order_by(EngagementSnapshot.taken_on)
    )
    return [
        {
            "date": s.taken_on.isoformat(),
            "score": s.score,
            "band": s.band,
            "risk": s.risk,
            "flagged": s.flagged,
        }
        for s in snaps
    ]


def at_risk_list(actor: Actor, course_id: int) -> list[dict]:
    """Flagged students with their reasons, most at risk first."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    rows = [r for r in course_view(course_id)["students"] if r["flagged"]]
    rows.sort(key=lambda r: (-r["risk"], r["student_id"]))
    return _named_rows(rows, AT_RISK_FIELDS)


def _named_rows(rows: list[dict], fields: tuple[str, ...]) -> list[dict]:
    """These fields of each cached row, with the student's display name (teachers know
    students by name, not by id; names are read now, as the LMS may change them)."""
    named = [{k: r[k] for k in fields} for r in rows]
    names = full_names([r["student_id"] for r in named])
    for r in named:
        r["full_name"] = names.get(r["student_id"], "")
    return named


def get_settings(actor: Actor, course_id: int) -> dict:
    """Weights, thresholds and outcome rate of a course (its members may read them)."""
    visible_course(actor, db.session.get(Course, course_id))
    weights, settings = _weights_and_risk_settings(course_id)
    return {
        "weights": weights,
        "flag_at": settings.flag_at,
        "clear_below": settings.clear_below,
        "outcome_rate": settings.outcome_rate,
        "model_outcome_rate": risk_model().outcome_rate,
    }


# `put_settings` leaves a setting the request does not name as it is.
KEEP = object()


def put_settings(
    actor: Actor,
    course_id: int,
    weights: dict,
    flag_at: float | None = None,
    clear_below: float | None = None,
    outcome_rate: float | None | object = KEEP,
) -> dict:
    """Replace a course's weights (and optionally thresholds and outcome rate, where
    None means the model's own); 422 listing every invalid value, nothing stored."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    errors = []
    try:
        clean = validate_weights(weights)
    except WeightsError as exc:
        errors += [
            field_error(f"weights.{e['path']}".rstrip("."), e["message"]) for e in exc.errors
        ]
    _, before = _weights_and_risk_settings(course_id)
    try:
        settings = RiskSettings(
            before.flag_at if flag_at is None else flag_at,
            before.clear_below if clear_below is None else clear_below,
            before.outcome_rate if outcome_rate is KEEP else outcome_rate,
        )
    except RiskSettingsError as exc:
        errors += [field_error(e["path"], e["message"]) for e in exc.errors]
    if errors:
        raise ValidationFailed(
            f"{len(errors)} setting(s) invalid; nothing was changed.", errors=errors
        )
    current = _settings(course_id)
    if current is None:
        current = EngagementSettings(course_id=course_id, institution_id=course.institution_id)
        db.session.add(current)
    current.weights = clean
    current.flag_at = settings.flag_at
    current.clear_below = settings.clear_below
    current.outcome_rate = settings.outcome_rate
    db.session.commit()
    _course_changed(course_id)
    return get_settings(actor, course_id)


# --- periodic recompute --------------------------------------------------------------------


def recompute_course(course_id: int, as_of: date | None = None) -> dict:
    """Recompute a course, refresh its cache entries and write today's snapshots."""
    as_of = _as_of(as_of)
    course = db.session.get(Course, course_id)
    if course is None:
        return {"course_id": course_id, "students": 0}
    stamp = _view_stamp(course_id)
    view = compute_course_view(course_id, as_of)
    if stamp is not None:
        _store_view(course_id, view, stamp)
    db.session.execute(
        EngagementSnapshot.__table__.delete().where(
            EngagementSnapshot.course_id == course_id, EngagementSnapshot.taken_on == as_of
        )
    )
    snapshots = [
        {
            "institution_id": course.institution_id,
            "course_id": course_id,
            "user_id": r["student_id"],
            "taken_on": as_of,
            "score": r["score"],
            "band": r["band"],
            "risk": r["risk"],
            "flagged": r["flagged"],
            "flagged_since": date.fromisoformat(r["flagged_since"]) if r["flagged_since"] else None,
            "factors": dict(zip(FACTORS, r["contributions"], strict=True)),
        }
        for r in view["students"]
    ]
    if snapshots:
        db.session.execute(EngagementSnapshot.__table__.insert(), snapshots)
    db.session.commit()
    return {"course_id": course_id, "students": len(view["students"])}


def recompute_course_job(course_id: int) -> dict:
    """Queue entry point: recompute one course (the pending marker is cleared first)."""
    cache.delete(keys.recompute_pending(course_id))
    return recompute_course(course_id)


def recompute_all(as_of: date | None = None) -> int:
    """Periodic job: recompute every course with students; returns courses done.

    Courses whose students never produced an event are included: their
    students are the ones to flag. One failing course does not stop the rest.
    """
    ids = db.session.scalars(
        select(Enrollment.course_id)
        .where(Enrollment.role == "student", Enrollment.status == "active")
        .distinct()
        .order_by(Enrollment.course_id)
    ).all()
    done = 0
    for course_id in ids:
        try:
            recompute_course(course_id, as_of)
            done += 1
        except Exception:
            log.exception("engagement recompute of course %s failed", course_id)
            db.session.rollback()
    return done
