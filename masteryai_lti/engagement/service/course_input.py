"""A course's engine input, read from the database.

The period's daily rollup and graded work become the engine's numpy tables: on
PostgreSQL a whole course travels by COPY as text that numpy parses in one call, one
student by a plain query. Also the enrolment context (other live courses, earlier runs
of this one) that the risk model reads.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from masteryai_lti.courses.models import Course, Enrollment
from masteryai_lti.courses.service import student_ids
from masteryai_lti.engagement.engine import (
    KIND_CODE,
    ActivityTable,
    CourseInput,
    CourseReference,
    DueItem,
    SubmissionTable,
)
from masteryai_lti.engagement.models import EngagementDay, EngagementEvent, GradedItem
from masteryai_lti.engagement.service.scoring_parameters import (
    _aware,
    _day,
    _period_days,
    _weights_and_risk_settings,
    course_zone,
)
from masteryai_lti.extensions import db


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
        # Due on the school's date: 22:00 in New York is due that evening, not the next day.
        zone = course_zone(course_id)
        item_list = [
            DueItem(o, k, _day(due, zone), title, _aware(due).isoformat())
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
