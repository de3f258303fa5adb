"""Reading and writing the statements table; the only module that builds its SQL.

Writes are one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per batch
(one round trip), which is also what makes two concurrent writers of one statement id
safe: the second waits on the unique index, inserts nothing, and then compares.
Reads are keyset pages on (stored, row id) inside the tenant.

The common write (every statement new, none voiding, no attachment bytes) has a leaner
road on PostgreSQL, :func:`insert_new_statements`: one autocommit statement on a
per-thread connection, so one round trip is the whole durable transaction (no pool
ping, no BEGIN, no COMMIT, no reset on return).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, tuple_, type_coerce, union, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased

from masteryai_lti.extensions import db
from masteryai_lti.xapi.indexing import member_mark
from masteryai_lti.xapi.models import XapiAttachment, XapiStatement, XapiStatementRef

S = XapiStatement


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _insert(table):
    if _dialect() == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


@dataclass(frozen=True)
class InsertOutcome:
    """Which statements a batch insert stored, and which of those a voiding statement
    already stored targets (it arrived before its target)."""

    inserted: set[uuid.UUID]
    targeted: set[uuid.UUID]


def insert_statements(institution_id: int, rows: Sequence[dict]) -> InsertOutcome:
    """Insert rows that are not stored yet, in one round trip on PostgreSQL.

    The same round trip reports new statements that an earlier voiding statement
    targets, so the common case (no voiding) costs no second query.
    """
    if not rows:
        return InsertOutcome(set(), set())
    if _dialect() == "postgresql":
        return _insert_statements_postgresql(institution_id, rows)
    table = S.__table__
    statement = (
        _insert(table)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["institution_id", "statement_id"])
        .returning(table.c.statement_id)
    )
    inserted = set(db.session.execute(statement).scalars())
    if not inserted:
        return InsertOutcome(set(), set())
    _insert_refs(institution_id, [row for row in rows if row["statement_id"] in inserted])
    voider = table.alias("voider")
    targeted_ids = db.session.scalars(
        select(table.c.statement_id).where(
            table.c.institution_id == institution_id,
            table.c.statement_id.in_(list(inserted)),
            table.c.is_voiding.is_(False),
            exists().where(
                voider.c.institution_id == institution_id,
                voider.c.is_voiding.is_(True),
                voider.c.object_statement_id == table.c.statement_id,
            ),
        )
    )
    return InsertOutcome(inserted, set(targeted_ids))


def ref_hash(value: str) -> str:
    """The key a related agent or activity is stored and looked up under."""
    return hashlib.md5(value.encode("utf-8")).hexdigest()


def _insert_refs(institution_id: int, rows: Sequence[dict]) -> None:
    """Record every agent and activity each newly stored row mentions (same transaction)."""
    pks = dict(
        db.session.execute(
            select(S.statement_id, S.id).where(
                S.institution_id == institution_id,
                S.statement_id.in_([row["statement_id"] for row in rows]),
            )
        ).all()
    )
    refs = {
        (kind, ref_hash(value), pks[row["statement_id"]])
        for row in rows
        for kind, values in (("agent", row["agent_keys"]), ("activity", row["activity_ids"]))
        for value in values
    }
    if refs:
        db.session.execute(
            XapiStatementRef.__table__.insert(),
            [
                {"institution_id": institution_id, "kind": k, "ref_hash": h, "statement_pk": pk}
                for k, h, pk in refs
            ],
        )


_COLUMNS = (
    "institution_id",
    "statement_id",
    "credential_id",
    "stored",
    "timestamp",
    "actor_key",
    "verb_id",
    "object_type",
    "object_activity_id",
    "object_agent_key",
    "object_statement_id",
    "registration",
    "is_voiding",
    "voided",
    "agent_keys",
    "activity_ids",
    "has_attachments",
    "statement",
    "projection_state",
)
_CASTS = {
    "statement_id": "::uuid",
    "object_statement_id": "::uuid",
    "registration": "::uuid",
    "agent_keys": "::jsonb",
    "activity_ids": "::jsonb",
    "statement": "::jsonb",
}
_TEMPLATE = "(" + ", ".join(f"%({name})s{_CASTS.get(name, '')}" for name in _COLUMNS) + ")"


# Inserts the related agents and activities of the rows a CTE named {rows} returned
# (columns id, agent_keys, activity_ids); md5() here equals ref_hash() in Python.
_REFS_INSERT = (
    "INSERT INTO xapi_statement_refs (institution_id, kind, ref_hash, statement_pk)"
    " SELECT {institution}, refs.kind, md5(refs.ref), {rows}.id FROM {rows}"
    " CROSS JOIN LATERAL ("
    "  SELECT 'agent' AS kind, k AS ref FROM jsonb_array_elements_text({rows}.agent_keys) k"
    "  UNION SELECT 'activity', a FROM jsonb_array_elements_text({rows}.activity_ids) a) refs"
    " ON CONFLICT DO NOTHING"
)


def _insert_statements_postgresql(institution_id: int, rows: Sequence[dict]) -> InsertOutcome:
    # Hand-written because this is the hot path: SQLAlchemy would compile a new
    # multi-VALUES statement for every batch size, which costs more than the insert.
    from psycopg2.extras import execute_values

    sql = (
        "WITH inserted AS ("
        f" INSERT INTO xapi_statements ({', '.join(_COLUMNS)}) VALUES %s"
        " ON CONFLICT (institution_id, statement_id) DO NOTHING"
        " RETURNING id, statement_id, is_voiding, agent_keys, activity_ids),"
        f" refs AS ({_REFS_INSERT.format(institution=int(institution_id), rows='inserted')})"
        " SELECT i.statement_id, i.is_voiding, voider.hit IS NOT NULL"
        " FROM inserted i LEFT JOIN LATERAL ("
        "  SELECT true AS hit FROM xapi_statements v"
        f"  WHERE v.institution_id = {int(institution_id)} AND v.is_voiding"
        "  AND v.object_statement_id = i.statement_id LIMIT 1) voider ON true"
    )
    arguments = [
        {
            **row,
            "statement_id": str(row["statement_id"]),
            "object_statement_id": _text(row["object_statement_id"]),
            "registration": _text(row["registration"]),
            "agent_keys": json.dumps(row["agent_keys"]),
            "activity_ids": json.dumps(row["activity_ids"]),
            "statement": json.dumps(row["statement"], ensure_ascii=False),
        }
        for row in rows
    ]
    cursor = db.session.connection().connection.cursor()
    try:
        result = execute_values(
            cursor, sql, arguments, template=_TEMPLATE, page_size=len(arguments), fetch=True
        )
    finally:
        cursor.close()
    return InsertOutcome(
        {uuid.UUID(str(sid)) for sid, _, _ in result},
        {uuid.UUID(str(sid)) for sid, is_voiding, hit in result if hit and not is_voiding},
    )


# One INSERT ... SELECT over the batch sent as one jsonb array: PostgreSQL parses it once in C
# (no per-value quoting in Python), the statement column arrives as a nested object.
# It inserts all or nothing: nothing when any id is already stored (the caller then
# takes the comparing road), and a concurrent writer of one of the ids makes the unique
# index raise, which rolls the whole statement back. ``voided`` is set at once for a
# statement an earlier voiding statement targets (it arrived after its voider). Both
# lookups are LATERAL ... LIMIT 1 so they stay one index probe per statement: the
# planner guesses 100 rows for jsonb_to_recordset and, with a young table's statistics,
# would otherwise hash every statement of the institution (40 ms instead of 0.3 ms).
_FAST_INSERT = (
    """
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1) AS r(
    statement_id uuid, "timestamp" timestamptz, actor_key text, verb_id text,
    object_type text, object_activity_id text, object_agent_key text,
    object_statement_id uuid, registration uuid, agent_keys jsonb, activity_ids jsonb,
    has_attachments boolean, statement jsonb)
), ins AS (
  INSERT INTO xapi_statements (
    institution_id, statement_id, credential_id, stored, "timestamp", actor_key, verb_id,
    object_type, object_activity_id, object_agent_key, object_statement_id, registration,
    is_voiding, voided, agent_keys, activity_ids, has_attachments, statement,
    projection_state)
  SELECT $2, r.statement_id, $3, $4, r."timestamp",
    r.actor_key, r.verb_id, r.object_type, r.object_activity_id, r.object_agent_key,
    r.object_statement_id, r.registration, false, voider.hit IS NOT NULL,
    r.agent_keys, r.activity_ids, r.has_attachments, r.statement, 'pending'
  FROM r
  LEFT JOIN LATERAL (
    SELECT true AS hit FROM xapi_statements v
    WHERE v.institution_id = $2 AND v.object_statement_id = r.statement_id AND v.is_voiding
    LIMIT 1) voider ON true
  WHERE NOT EXISTS (
    SELECT 1 FROM r AS mine CROSS JOIN LATERAL (
      SELECT 1 FROM xapi_statements e
      WHERE e.institution_id = $2 AND e.statement_id = mine.statement_id
      LIMIT 1) stored)
  RETURNING id, agent_keys, activity_ids
), refs AS (
"""
    + _REFS_INSERT.format(institution="$2", rows="ins")
    + """
)
SELECT count(*) FROM ins
"""
)
# Prepared once per connection: planning this statement costs more than running it.
_PREPARE = (
    "PREPARE xapi_insert_new_statements (jsonb, integer, integer, timestamptz) AS " + _FAST_INSERT
)
_EXECUTE = "EXECUTE xapi_insert_new_statements (%s, %s, %s, %s)"
_DEALLOCATE = "DEALLOCATE xapi_insert_new_statements"
# After this many executions the statement is prepared again. PostgreSQL re-plans a
# prepared statement only when the table's statistics change; where autovacuum is off
# (or lags behind a young table's growth) a generic plan made when xapi_statements was
# a few pages long lives on, and it probed the duplicate and voider lookups through
# whichever index leads with institution_id, filtering every statement of the tenant:
# measured, PostgreSQL CPU per stored statement grew from 0.1 ms to 2 ms by 20,000 rows.
# Re-planning costs ~1 ms, once per this many batches.
_REPLAN_EVERY = 50

_local = threading.local()


def fast_path_available() -> bool:
    """Whether :func:`insert_new_statements` can run here (PostgreSQL only)."""
    # The engine, not the session: asking the session would open one for nothing.
    return db.engine.dialect.name == "postgresql"


def _autocommit_connection():
    """This thread's own autocommit connection to the app's database.

    Taken from the engine's pool once and detached from it, so it keeps the engine's
    connection settings. A connection made before a fork is never reused (nor closed:
    the parent still owns its socket).
    """
    engine = db.engine
    key = (os.getpid(), engine.url)
    held = getattr(_local, "held", None)
    if held is not None:
        if held[0] == key and not held[1].closed:
            return held[1]
        _drop_autocommit_connection()
    proxy = engine.raw_connection()
    connection = proxy.driver_connection
    proxy.detach()
    try:
        connection.rollback()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(_PREPARE)
    except Exception:
        connection.close()
        raise
    _local.held = (key, connection)
    return connection


def _drop_autocommit_connection() -> None:
    held = getattr(_local, "held", None)
    _local.held = None
    if held is not None and held[0][0] == os.getpid():
        try:
            held[1].close()
        except Exception:  # already broken: nothing to release
            pass


def insert_new_statements(
    institution_id: int, credential_id: int, stored: datetime, rows_json: str, count: int
) -> bool:
    """Store ``count`` new statements durably in one autocommit round trip.

    ``rows_json`` is a JSON array of objects with the columns of ``_FAST_INSERT``'s
    record. True when every one was inserted and committed; False when nothing was
    written (an id is stored already, a concurrent writer won, the connection broke,
    or PostgreSQL refused a value): the caller then stores the batch the careful way,
    which compares, answers 409, or raises the real error.
    """
    import psycopg2

    try:
        connection = _autocommit_connection()
        with connection.cursor() as cursor:
            _local.executions = getattr(_local, "executions", 0) + 1
            if _local.executions % _REPLAN_EVERY == 0:
                cursor.execute(_DEALLOCATE)
                cursor.execute(_PREPARE)
            cursor.execute(_EXECUTE, (rows_json, institution_id, credential_id, stored))
            inserted = cursor.fetchone()[0]
    except (psycopg2.Error, ValueError):
        # The statement failed as a whole (autocommit: it rolled back by itself).
        # A broken connection is replaced on the next call.
        held = getattr(_local, "held", None)
        if held is not None and held[1].closed:
            _drop_autocommit_connection()
        return False
    return inserted == count


def _text(value) -> str | None:
    return str(value) if value is not None else None


def stored_statements(
    institution_id: int, statement_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[dict, int | None]]:
    """Stored statement JSON and the credential that wrote it, by id, for comparing
    re-posted statements (and for telling who may see what differs)."""
    ids = list(statement_ids)
    if not ids:
        return {}
    result = db.session.execute(
        select(S.statement_id, S.statement, S.credential_id).where(
            S.institution_id == institution_id, S.statement_id.in_(ids)
        )
    )
    return {sid: (document, credential_id) for sid, document, credential_id in result}


def statement_writers(
    institution_id: int, statement_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int | None]:
    """The credential that wrote each of these statements, for those stored."""
    ids = list(statement_ids)
    if not ids:
        return {}
    result = db.session.execute(
        select(S.statement_id, S.credential_id).where(
            S.institution_id == institution_id, S.statement_id.in_(ids)
        )
    )
    return {sid: credential_id for sid, credential_id in result}


def mark_voided(institution_id: int, statement_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Void these statements, except voiding statements themselves: a voiding statement
    that targets another voiding statement is stored and ignored (Data 2.3.2, XAPI-00016).

    Returns the statements voided by this call (not voided before), whose projections
    the caller withdraws. On PostgreSQL the UPDATE waits for a projection worker that
    holds one of these rows (``FOR UPDATE``) to commit, so what it projected is visible
    to the withdrawal that follows.
    """
    ids = list(statement_ids)
    if not ids:
        return set()
    table = S.__table__
    voided = db.session.execute(
        update(table)
        .where(
            table.c.institution_id == institution_id,
            table.c.is_voiding.is_(False),
            table.c.voided.is_(False),
            table.c.statement_id.in_(ids),
        )
        .values(voided=True)
        .returning(table.c.statement_id)
    )
    return set(voided.scalars())


def insert_attachments(rows: Sequence[dict]) -> None:
    """Store attachment bytes once per (institution, sha2)."""
    if not rows:
        return
    db.session.execute(
        _insert(XapiAttachment.__table__)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["institution_id", "sha2"])
    )


def attachment_data(institution_id: int, hashes: Iterable[str]) -> list[tuple[str, str, bytes]]:
    """(sha2, content type, bytes) of stored attachments among ``hashes``."""
    wanted = sorted(set(hashes))
    if not wanted:
        return []
    rows = db.session.execute(
        select(XapiAttachment.sha2, XapiAttachment.content_type, XapiAttachment.data).where(
            XapiAttachment.institution_id == institution_id, XapiAttachment.sha2.in_(wanted)
        )
    )
    return [(sha2, content_type, bytes(data)) for sha2, content_type, data in rows]


def get_statement(institution_id: int, statement_id: uuid.UUID) -> XapiStatement | None:
    """The stored row with this statement id in the tenant, voided or not."""
    return db.session.scalar(
        select(S).where(S.institution_id == institution_id, S.statement_id == statement_id)
    )


@dataclass(frozen=True)
class StatementFilter:
    """Parsed, typed query filters (Communication 2.1.3)."""

    agent_key: str | None = None
    verb_id: str | None = None
    activity_id: str | None = None
    registration: uuid.UUID | None = None
    related_agents: bool = False
    related_activities: bool = False
    since: datetime | None = None
    until: datetime | None = None
    credential_id: int | None = None  # read-mine: only what this credential wrote


def _json_array_contains(column, value: str):
    if _dialect() == "postgresql":
        return type_coerce(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value == value))


def _mentions(institution_id: int, kind: str, column, value: str):
    """Statements that mention ``value`` anywhere: found through the refs b-tree, then
    rechecked against the statement's own list (a hash is not the value)."""
    found = select(XapiStatementRef.statement_pk).where(
        XapiStatementRef.institution_id == institution_id,
        XapiStatementRef.kind == kind,
        XapiStatementRef.ref_hash == ref_hash(value),
    )
    return and_(S.id.in_(found), _json_array_contains(column, value))


def _actor_or_object(institution_id: int, key: str):
    """Statements whose actor or object is the agent ``key``, or a Group that has it as
    a member (Communication 2.1.3, ``agent``).

    Three index probes (actor, object agent, member marks in the refs b-tree) united
    before they meet the statements table: an OR over them, the member branch being a
    subquery, would leave PostgreSQL only a scan of the whole tenant to filter.
    """
    mark = member_mark(key)
    member = aliased(S)
    matches = union(
        select(S.id).where(S.institution_id == institution_id, S.actor_key == key),
        select(S.id).where(S.institution_id == institution_id, S.object_agent_key == key),
        select(XapiStatementRef.statement_pk)
        .join(member, member.id == XapiStatementRef.statement_pk)
        .where(
            XapiStatementRef.institution_id == institution_id,
            XapiStatementRef.kind == "agent",
            XapiStatementRef.ref_hash == ref_hash(mark),
            # A hash is not the value: recheck the statement's own list.
            _json_array_contains(member.agent_keys, mark),
        ),
    )
    return S.id.in_(matches)


def _content_conditions(institution_id: int, f: StatementFilter) -> list:
    conditions = [S.institution_id == institution_id]
    if f.agent_key:
        if f.related_agents:
            conditions.append(_mentions(institution_id, "agent", S.agent_keys, f.agent_key))
        else:
            conditions.append(_actor_or_object(institution_id, f.agent_key))
    if f.verb_id:
        conditions.append(S.verb_id == f.verb_id)
    if f.activity_id:
        if f.related_activities:
            conditions.append(_mentions(institution_id, "activity", S.activity_ids, f.activity_id))
        else:
            conditions.append(S.object_activity_id == f.activity_id)
    if f.registration:
        conditions.append(S.registration == f.registration)
    return conditions


def find_statements(
    institution_id: int,
    f: StatementFilter,
    *,
    ascending: bool,
    limit: int,
    after: tuple[datetime, int] | None,
    snapshot: datetime | None,
    snapshot_row: int | None = None,
) -> list[tuple[int, datetime, dict]]:
    """One page of (row id, stored, statement) matching ``f``, not voided.

    Statements that target a matching statement through a StatementRef (voided or not)
    match too, transitively (Communication 2.1.3, "Filter Conditions for StatementRefs";
    XAPI-00162). ``since``/``until``/paging apply to the final set.
    """
    content_filtered = any((f.agent_key, f.verb_id, f.activity_id, f.registration))
    conditions = [S.institution_id == institution_id, S.voided.is_(False)]
    if content_filtered:
        base = select(S.statement_id).where(*_content_conditions(institution_id, f))
        matched = base.cte("matched", recursive=True)
        referring = select(S.statement_id).where(
            S.institution_id == institution_id,
            S.object_statement_id == matched.c.statement_id,
        )
        matched = matched.union(referring)
        conditions.append(S.statement_id.in_(select(matched.c.statement_id)))
    if f.credential_id is not None:
        conditions.append(S.credential_id == f.credential_id)
    if f.since is not None:
        conditions.append(S.stored > f.since)
    if f.until is not None:
        conditions.append(S.stored <= f.until)
    if snapshot is not None:
        conditions.append(S.stored <= snapshot)
    if snapshot_row is not None:
        conditions.append(S.id <= snapshot_row)
    if after is not None:
        key = tuple_(S.stored, S.id)
        if _dialect() == "sqlite":
            # SQLite compares row values too, but spell it out for older builds.
            stored, row = after
            if ascending:
                conditions.append(or_(S.stored > stored, and_(S.stored == stored, S.id > row)))
            else:
                conditions.append(or_(S.stored < stored, and_(S.stored == stored, S.id < row)))
        else:
            conditions.append(key > tuple_(*after) if ascending else key < tuple_(*after))
    order = (S.stored.asc(), S.id.asc()) if ascending else (S.stored.desc(), S.id.desc())
    query = select(S.id, S.stored, S.statement).where(*conditions).order_by(*order).limit(limit)
    return [tuple(row) for row in db.session.execute(query)]


def newest_row_id() -> int:
    """The highest statement row id now visible (0 when there is none): row ids only grow,
    so it bounds a result to what was stored before this moment."""
    return db.session.scalar(select(func.max(S.id))) or 0


def latest_stored(institution_id: int) -> datetime | None:
    """The newest ``stored`` in the tenant (for Last-Modified)."""
    return db.session.scalar(select(func.max(S.stored)).where(S.institution_id == institution_id))
