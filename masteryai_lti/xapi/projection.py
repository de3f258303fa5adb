"""Stored statements -> engagement events and mastery attempts.

The statements table is the outbox: rows start ``pending`` in the transaction that
stores them, so nothing is lost if the process dies before projecting. ``project_pending``
drains the outbox in chunks (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers can run
side by side) and calls the engagement and mastery services, which are idempotent on
(institution, source "xapi", statement id): replaying a row changes nothing.

An actor nobody is linked to yet stays ``unknown_actor``; when the identity service
first links that person (``on_users_seen``), their rows go back to ``pending``
(DESIGN.md section 4).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import database_unavailable
from masteryai_lti.core.transactions import OnCommit
from masteryai_lti.extensions import cache, db, jobs
from masteryai_lti.xapi.indexing import actor_identity
from masteryai_lti.xapi.models import (
    FAILED,
    PENDING,
    PROJECTED,
    SKIPPED,
    UNKNOWN_ACTOR,
    XapiEngagementRule,
    XapiStatement,
)
from masteryai_lti.xapi.timestamps import TimestampError, timestamp_instant
from masteryai_lti.xapi.vocabulary import engagement_kind

log = logging.getLogger(__name__)

CHUNK = 500
JOB_BUDGET_S = 60.0
# A context extension content can use to name our course id outright.
COURSE_EXTENSION = "https://masteryai.example/xapi/extensions/course-id"
_DURATION = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def scheduled_key(institution_id: int) -> str:
    """Cache key marking that a projection job for the institution is queued."""
    return f"xapi:projection:scheduled:{institution_id}"


def duration_seconds(text: str | None) -> float | None:
    """Seconds in an ISO 8601 duration such as ``PT1M30.5S`` (years/months ignored)."""
    if not text:
        return None
    match = _DURATION.match(text)
    if match is None:
        return None
    parts = {key: float(value) for key, value in match.groupdict().items() if value}
    return (
        parts.get("w", 0) * 604800
        + parts.get("d", 0) * 86400
        + parts.get("h", 0) * 3600
        + parts.get("m", 0) * 60
        + parts.get("s", 0)
    )


def _score(result: dict) -> float | None:
    score = result.get("score") or {}
    if "scaled" in score:
        # scaled runs from -1 to 1; below 0 (a penalty) is worse than nothing, so 0.
        # One mapping for the whole range keeps the order: a lower score never
        # projects higher.
        return max(0.0, min(1.0, float(score["scaled"])))
    if "raw" in score and "max" in score and score["max"] != score.get("min", 0):
        low = float(score.get("min", 0))
        return max(0.0, min(1.0, (float(score["raw"]) - low) / (float(score["max"]) - low)))
    return None


def _overrides(institution_id: int) -> list[tuple[str | None, str | None, str]]:
    return [
        (rule.verb_id, rule.activity_type, rule.kind)
        for rule in db.session.scalars(
            select(XapiEngagementRule).where(XapiEngagementRule.institution_id == institution_id)
        )
    ]


def _course_id(
    institution_id: int, user_id: int, statement: dict, courses_cache: dict
) -> int | None:
    from masteryai_lti.courses import service as courses
    from masteryai_lti.courses.models import Enrollment

    context = statement.get("context") or {}
    explicit = (context.get("extensions") or {}).get(COURSE_EXTENSION)
    if isinstance(explicit, int | str) and str(explicit).isdigit():
        key = ("id", int(explicit))
        if key not in courses_cache:
            # The poster chooses this id: another institution's course is not theirs
            # to count in, so such a statement is placed as if it named none.
            courses_cache[key] = courses.is_institution_course(institution_id, int(explicit))
        if courses_cache[key]:
            return int(explicit)
    for group in ("parent", "grouping"):
        for activity in (context.get("contextActivities") or {}).get(group) or []:
            activity_id = activity.get("id") if isinstance(activity, dict) else None
            if not activity_id:
                continue
            key = ("ctx", activity_id)
            if key not in courses_cache:
                course = courses.get_course_by_context(institution_id, activity_id)
                courses_cache[key] = course.id if course else None
            if courses_cache[key]:
                return courses_cache[key]
    key = ("user", user_id)
    if key not in courses_cache:
        # A learner with exactly one active course: the statement can only be about it.
        enrolled = list(
            db.session.scalars(
                select(Enrollment.course_id).where(
                    Enrollment.institution_id == institution_id,
                    Enrollment.user_id == user_id,
                    Enrollment.status == "active",
                )
            )
        )
        courses_cache[key] = enrolled[0] if len(enrolled) == 1 else None
    return courses_cache[key]


def _downstream():
    try:
        from masteryai_lti.engagement.service import record_events
    except ImportError:  # the engagement service is not installed in this build
        record_events = None
    try:
        from masteryai_lti.mastery.service import record_attempt
    except ImportError:
        record_attempt = None
    return record_events, record_attempt


def withdraw_projections(institution_id: int, statement_ids: Iterable[uuid.UUID]) -> None:
    """Undo what these statements were projected into, now that they are voided.

    A voided statement must not count (Data 2.3.2): its engagement events leave the
    events and the daily rollup (as a corrected attendance mark does) and its mastery
    attempt is removed, the student's mastery replayed from the attempts left. Runs in
    the voiding statement's transaction, so both stand or fall together; the services'
    caches are invalidated when it commits. A statement voided before it was projected
    has nothing to withdraw and is skipped by ``project_row``.
    """
    source_ids = sorted(str(statement_id) for statement_id in statement_ids)
    if not source_ids:
        return
    try:
        from masteryai_lti.engagement.service import withdraw_events
    except ImportError:  # the engagement service is not installed in this build
        withdraw_events = None
    try:
        from masteryai_lti.mastery.service import withdraw_attempts
    except ImportError:
        withdraw_attempts = None
    if withdraw_events is not None:
        withdraw_events(institution_id, "xapi", source_ids)
    if withdraw_attempts is not None:
        withdraw_attempts(institution_id, "xapi", source_ids)
    db.session.execute(
        update(XapiStatement)
        .where(
            XapiStatement.institution_id == institution_id,
            XapiStatement.statement_id.in_([uuid.UUID(s) for s in source_ids]),
            XapiStatement.projection_state == PROJECTED,
        )
        .values(projection_state=SKIPPED, projection_note="voided: projection withdrawn")
        .execution_options(synchronize_session=False)
    )


@dataclass
class ProjectionOutcome:
    """What projecting one row decided, written back for the whole chunk at once."""

    id: int
    projection_state: str
    projection_note: str | None = None
    user_id: int | None = None
    projected_at: datetime | None = None


def project_row(row, overrides, users: dict, chunk_cache: dict) -> tuple[list[dict], dict]:
    """Project one outbox row: record its attempt; return its engagement events and the
    row's new projection columns (``ProjectionOutcome`` as a dict).

    ``row`` carries the columns of ``_pending_rows``; ``users`` maps actor identities
    to user ids for the rows of the chunk (absent: nobody is linked yet); ``chunk_cache``
    memoises course and mastery lookups for the chunk's transaction.
    """
    statement = row.statement
    if row.voided or row.is_voiding:
        return [], _outcome(row.id, SKIPPED, "voided" if row.voided else "voiding statement")
    identity = actor_identity(statement.get("actor") or {})
    if identity is None:
        return [], _outcome(row.id, SKIPPED, "anonymous group actor")
    user_id = users.get((row.institution_id, *identity))
    if user_id is None:
        return [], _outcome(row.id, UNKNOWN_ACTOR)
    target = statement.get("object") or {}
    activity_type = (target.get("definition") or {}).get("type")
    kind = engagement_kind(statement["verb"]["id"], activity_type, overrides)
    course_id = _course_id(row.institution_id, user_id, statement, chunk_cache)
    result = statement.get("result") or {}
    try:
        occurred_at = timestamp_instant(statement["timestamp"])
    except (TimestampError, KeyError, TypeError):
        occurred_at = row.stored
    score = _score(result)
    record_events, record_attempt = _downstream()
    notes = []
    if (
        record_attempt is not None
        and target.get("objectType", "Activity") == "Activity"
        and ("success" in result or score is not None)
    ):
        with db.session.begin_nested():
            attempt = record_attempt(
                row.institution_id,
                user_id,
                occurred_at=occurred_at,
                source="xapi",
                source_id=str(row.statement_id),
                correct=result.get("success"),
                score=score,
                activity_id=target.get("id"),
                duration_s=duration_seconds(result.get("duration")),
                course_id=course_id,
                response=result.get("response"),
                lookups=chunk_cache,
            )
        notes.append("attempt" if attempt is not None else "activity maps to no concept")
    events = []
    if kind and course_id and record_events is not None:
        events.append(
            {
                "user_id": user_id,
                "course_id": course_id,
                "kind": kind,
                "occurred_at": occurred_at,
                "source": "xapi",
                "source_id": str(row.statement_id),
                "score": score,
                "object_id": target.get("id"),
                "extra": {"verb": statement["verb"]["id"]},
            }
        )
        notes.append(f"event {kind}")
    elif kind and not course_id:
        notes.append("no course for this statement")
    return events, _outcome(
        row.id, PROJECTED, "; ".join(notes) or "nothing to project", user_id, utcnow()
    )


def _outcome(row_id: int, state: str, note: str | None = None, user_id=None, at=None) -> dict:
    return ProjectionOutcome(row_id, state, note, user_id, at).__dict__


def _pending_rows(institution_id: int | None, limit: int) -> list:
    # Plain rows, not ORM objects: the chunk's new states are written back in one
    # executemany at its end instead of an UPDATE per row at every autoflush.
    S = XapiStatement
    query = select(
        S.id, S.institution_id, S.statement_id, S.stored, S.voided, S.is_voiding, S.statement
    ).where(S.projection_state == PENDING)
    if institution_id is not None:
        query = query.where(S.institution_id == institution_id)
    query = query.order_by(S.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=S)
    return list(db.session.execute(query))


def _chunk_users(rows) -> dict[tuple[int, str, str], int]:
    """(institution, IFI kind, value) -> user id for the actors of a chunk, one query per
    institution in it."""
    from masteryai_lti.identity import service as identities

    wanted: dict[int, set[tuple[str, str]]] = {}
    for row in rows:
        identity = actor_identity(row.statement.get("actor") or {})
        if identity is not None:
            wanted.setdefault(row.institution_id, set()).add(identity)
    found = {}
    for institution_id, pairs in wanted.items():
        for pair, user_id in identities.users_by_identities(institution_id, pairs).items():
            found[(institution_id, *pair)] = user_id
    return found


def _project_chunk(rows: list, overrides_by_institution: dict[int, list]) -> None:
    """Project one chunk and commit it with the rows' outcomes. A row whose statement
    cannot be projected is marked failed on its own; a database that asks to be
    retried fails the chunk as a whole (see :func:`project_pending`)."""
    users = _chunk_users(rows)
    chunk_cache: dict = {}
    events_by_institution: dict[int, list[dict]] = {}
    outcomes = []
    for row in rows:
        if row.institution_id not in overrides_by_institution:
            overrides_by_institution[row.institution_id] = _overrides(row.institution_id)
        try:
            events, outcome = project_row(
                row, overrides_by_institution[row.institution_id], users, chunk_cache
            )
        except Exception as exc:  # one bad row must not block the outbox
            if database_unavailable(exc):
                raise
            log.exception("projecting xAPI statement %s failed", row.statement_id)
            outcomes.append(_outcome(row.id, FAILED, f"{type(exc).__name__}: {exc}"[:500]))
            continue
        outcomes.append(outcome)
        events_by_institution.setdefault(row.institution_id, []).extend(events)
    record_events, _ = _downstream()
    for owner, events in events_by_institution.items():
        if events and record_events is not None:
            record_events(owner, events)
    db.session.execute(update(XapiStatement), outcomes)
    db.session.commit()


def project_pending(institution_id: int | None = None, limit: int | None = None) -> int:
    """Drain the outbox (of one institution, or all); return how many rows were handled."""
    if institution_id is not None:
        if not jobs.inline:
            # Let statements gather for a moment: under a stream of single POSTs one job
            # then projects hundreds of rows instead of each POST costing a job.
            time.sleep(float(current_app.config.get("XAPI_PROJECTION_COALESCE_S", 0.5)))
        # Clear the flag before reading: rows committed from now on schedule a new job.
        cache.delete(scheduled_key(institution_id))
    handled = 0
    overrides_by_institution: dict[int, list] = {}
    # A queued job hands over before RQ's timeout (180 s) would kill it mid-chunk.
    budget_ends = time.monotonic() + JOB_BUDGET_S
    while limit is None or handled < limit:
        if institution_id is not None and not jobs.inline and time.monotonic() > budget_ends:
            # The rows left were committed before this job's read, so no new job may be
            # on its way for them: queue one unless one is queued already.
            if cache.set_if_absent(scheduled_key(institution_id), 1, ttl=60):
                jobs.enqueue(project_pending, institution_id)
            break
        rows = _pending_rows(
            institution_id, CHUNK if limit is None else min(CHUNK, limit - handled)
        )
        if not rows:
            break
        try:
            _project_chunk(rows, overrides_by_institution)
        except Exception as exc:
            db.session.rollback()
            if database_unavailable(exc):
                # The database is down, failing over or broke a deadlock: nothing in
                # the rows is wrong, so they stay pending for the next job or
                # ``flask xapi project`` instead of joining the failed ones.
                log.warning("xAPI projection paused, the database asks to retry: %s", exc)
                break
            # The engagement service failed for the whole chunk: the chunk (its
            # attempts too) is undone; park the rows as failed so the outbox keeps
            # moving; ``flask xapi project --retry-failed`` replays them idempotently.
            log.exception("projecting a chunk of %d xAPI statements failed", len(rows))
            db.session.execute(
                update(XapiStatement)
                .where(XapiStatement.id.in_([row.id for row in rows]))
                .values(
                    projection_state=FAILED,
                    projection_note=f"{type(exc).__name__}: {exc}"[:500],
                )
            )
            db.session.commit()
        handled += len(rows)
    return handled


def retry_failed(institution_id: int | None = None) -> int:
    """Put failed rows back in the outbox; returns how many."""
    query = update(XapiStatement).where(XapiStatement.projection_state == FAILED)
    if institution_id is not None:
        query = query.where(XapiStatement.institution_id == institution_id)
    result = db.session.execute(query.values(projection_state=PENDING))
    db.session.commit()
    return result.rowcount or 0


def requeue_for_identities(institution_id: int, identities: Iterable[tuple[str, str]]) -> int:
    """Move ``unknown_actor`` rows of these actor identities back to ``pending``. No commit."""
    keys = [
        f"{object_type}|{kind}|{value}"
        for kind, value in identities
        for object_type in ("agent", "group")
    ]
    if not keys:
        return 0
    result = db.session.execute(
        update(XapiStatement)
        .where(
            XapiStatement.institution_id == institution_id,
            XapiStatement.projection_state == UNKNOWN_ACTOR,
            XapiStatement.actor_key.in_(keys),
        )
        .values(projection_state=PENDING)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        _requeued.add(db.session, [institution_id])
    return result.rowcount or 0


# People handled per read of their identities and update of their statements: each
# identity is two actor keys (agent, group), so a thousand people with two identities
# each bind about 4,000 parameters, well inside SQLite's 32,766.
_USERS_PER_REQUEUE = 1000


def on_users_seen(institution_id: int, user_ids: Collection[int]) -> None:
    """Identity-service hook: people were linked, so their waiting statements can project.

    Set-wise (one read of their identities and one update per thousand people): a
    roster sync links a whole course at once.
    """
    from masteryai_lti.identity.models import UserIdentity

    ordered = sorted(user_ids)
    for start in range(0, len(ordered), _USERS_PER_REQUEUE):
        identities = db.session.execute(
            select(UserIdentity.kind, UserIdentity.value).where(
                UserIdentity.institution_id == institution_id,
                UserIdentity.user_id.in_(ordered[start : start + _USERS_PER_REQUEUE]),
            )
        ).all()
        requeue_for_identities(institution_id, [(kind, value) for kind, value in identities])


def _schedule_requeued(requeued: set[int]) -> None:
    # Handed over at the outermost commit only: a launch links several identities, each
    # in its own savepoint, and a job started before the launch commits could read the
    # outbox without the requeued rows and end, leaving them waiting.
    if jobs.inline:
        # No SQL may run inside a commit: project when the request ends instead
        # (``drain_after_request``), or at the next drain outside a request.
        db.session.info.setdefault("xapi_project_later", set()).update(requeued)
        return
    for institution_id in requeued:
        if cache.set_if_absent(scheduled_key(institution_id), 1, ttl=60):
            jobs.enqueue(project_pending, institution_id)


_requeued = OnCommit("xapi-requeued", _schedule_requeued)


def drain_after_request(error: BaseException | None = None) -> None:
    """Teardown hook: project statements requeued during this request (inline jobs)."""
    if not db.session.registry.has():
        return  # the request never opened a session (the statement write does not)
    later = db.session.info.pop("xapi_project_later", None)
    if not later or error is not None:
        return
    for institution_id in later:
        try:
            project_pending(institution_id)
        except Exception:  # never fail the response over background work
            db.session.rollback()
            log.exception("projecting requeued xAPI statements of %s failed", institution_id)
