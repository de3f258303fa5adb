"""The durable score outbox: record a score now, deliver it to the platform when it can.

:func:`record_score` validates a score, writes it to ``lti_score_outbox`` and
enqueues :func:`drain_outbox` (an RQ job on Redis, inline in the embedded
default). The drain posts every due entry through AGS; an entry is ``sent`` when
the platform accepts it, retried with exponential back-off while the platform is
unreachable or answers 5xx/429, and ``failed`` with the reason when the
platform refuses it or after :data:`MAX_ATTEMPTS`. Nothing is dropped silently:
teachers list failed posts and resend them (:func:`resend`).

Because a lost Redis job would otherwise leave entries waiting, run
``flask lti drain-outbox`` from cron (or ``--every SECONDS``) in production: each
drain also picks up every retry that has come due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import Conflict, NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor, ensure_can_teach
from masteryai_lti.courses import service as courses
from masteryai_lti.extensions import db, jobs
from masteryai_lti.identity import service as identity
from masteryai_lti.lti import grading
from masteryai_lti.lti.models import LtiRegistration, ResourceLink, platform_user_key
from masteryai_lti.lti.outbox_models import GradedLineItem, LineItemUpdate, ScoreOutboxEntry
from masteryai_lti.lti.platform_tokens import service_client_for
from masteryai_lti.lti.service_client import PlatformServiceClient, PlatformServiceError

log = logging.getLogger(__name__)

# With a 30 s first delay doubling up to 6 h, 14 attempts span about 26.5 hours: a
# platform down for a maintenance night or a whole day still gets every score.
MAX_ATTEMPTS = 14
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 3600
# How long a claimed entry is hidden from other drains while being delivered.
CLAIM_LEASE_SECONDS = 120
DRAIN_BATCH = 200


def retry_delay(attempts: int, entry_id: int = 0) -> timedelta:
    """Back-off before attempt ``attempts + 1``: 30 s, 60 s, 120 s … capped at 6 h.

    A few seconds of jitter derived from the entry id spread a burst of retries
    (all scores of a class, after an outage) without making the schedule random.
    """
    exponent = max(0, attempts - 1)
    seconds = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * (2**exponent))
    return timedelta(seconds=seconds + entry_id % 7)


@dataclass
class DrainReport:
    """What one drain did: ids sent, still retrying, and failed."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Counts, for logs and the CLI."""
        return {"sent": len(self.sent), "retrying": len(self.retrying), "failed": len(self.failed)}


def _lti_user_ids(link: ResourceLink, user_ids: Iterable[int]) -> dict[int, str]:
    """The learners' ``sub`` on the link's platform, from their ``lti`` identities;
    learners without one on that platform are absent."""
    registration = db.session.get(LtiRegistration, link.registration_id)
    prefix = platform_user_key(registration.issuer)
    found = identity.identity_values_of_users(link.institution_id, user_ids, "lti", prefix)
    return {user_id: values[0][len(prefix) :] for user_id, values in found.items()}


def _unknown_to_platform() -> ValidationFailed:
    return ValidationFailed(
        "This learner has no account on the platform that owns the link.",
        errors=[field_error("user_id", "Not known to the link's LMS.")],
    )


def _lti_user_id(link: ResourceLink, user_id: int) -> str:
    """The learner's ``sub`` on the link's platform, from their ``lti`` identity."""
    sub = _lti_user_ids(link, [user_id]).get(user_id)
    if sub is None:
        raise _unknown_to_platform()
    return sub


def link_takes_scores(resource_link_pk: int | None) -> bool:
    """Whether grades can be sent for this link: its launches carried an AGS claim
    granting the score scope. False for an unknown link."""
    link = db.session.get(ResourceLink, resource_link_pk) if resource_link_pk else None
    if link is None:
        return False
    endpoint = grading.AgsEndpoint.from_claim(link.ags_endpoint)
    return endpoint is not None and endpoint.grants(grading.SCOPE_SCORE)


def latest_post(resource_link_pk: int, user_id: int, source: str) -> ScoreOutboxEntry | None:
    """The newest grade post from ``source`` for a learner on a link, or None."""
    return db.session.scalar(
        select(ScoreOutboxEntry)
        .where(
            ScoreOutboxEntry.resource_link_pk == resource_link_pk,
            ScoreOutboxEntry.user_id == user_id,
            ScoreOutboxEntry.source == source,
        )
        .order_by(ScoreOutboxEntry.id.desc())
        .limit(1)
    )


def _graded_link(resource_link_pk: int) -> tuple[ResourceLink, grading.AgsEndpoint]:
    link = db.session.get(ResourceLink, resource_link_pk)
    if link is None:
        raise NotFound("No such resource link.")
    endpoint = grading.AgsEndpoint.from_claim(link.ags_endpoint)
    if endpoint is None or not endpoint.grants(grading.SCOPE_SCORE):
        raise Conflict("The LMS did not grant grade passback for this link.")
    return link, endpoint


def _outbox_entry(
    link: ResourceLink,
    endpoint: grading.AgsEndpoint,
    score: ScoreToRecord,
    lti_user_id: str,
    previous: datetime | None,
    *,
    source: str,
    now: datetime,
) -> ScoreOutboxEntry:
    """The entry for one validated score, timestamped after ``previous`` (§3.4.3)."""
    timestamp = grading.next_timestamp(now, previous)
    try:
        payload = grading.score_payload(
            grading.Score(
                user_id=lti_user_id,
                score_given=score.score_given,
                score_maximum=score.score_maximum,
                activity_progress=score.activity_progress,
                grading_progress=score.grading_progress,
                timestamp=timestamp,
                comment=score.comment,
            )
        )
    except grading.ScoreRejected as exc:
        raise ValidationFailed(str(exc), errors=[field_error("score", str(exc))]) from exc
    return ScoreOutboxEntry(
        institution_id=link.institution_id,
        registration_id=link.registration_id,
        resource_link_pk=link.id,
        course_id=link.course_id,
        user_id=score.user_id,
        lti_user_id=lti_user_id,
        lineitem_url=endpoint.lineitem_url,
        payload=payload,
        score_timestamp=timestamp,
        source=source,
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )


@dataclass(frozen=True)
class ScoreToRecord:
    """One learner's score for :func:`record_scores` (the arguments of :func:`record_score`)."""

    user_id: int
    score_given: float | None
    score_maximum: float | None
    activity_progress: str = "Completed"
    grading_progress: str = "FullyGraded"
    comment: str | None = None


@dataclass
class RecordedScores:
    """What :func:`record_scores` queued, and each learner it left out with the reason."""

    entries: list[ScoreOutboxEntry] = field(default_factory=list)
    refused: dict[int, ValidationFailed] = field(default_factory=dict)
    # Of the refused, those with no account on the link's LMS (never launched from it,
    # or a MasteryAI-only account): skipped rather than wrong.
    unknown: set[int] = field(default_factory=set)


def record_score(
    *,
    resource_link_pk: int,
    user_id: int,
    score_given: float | None,
    score_maximum: float | None,
    activity_progress: str = "Completed",
    grading_progress: str = "FullyGraded",
    comment: str | None = None,
    source: str = "tool",
    now: datetime | None = None,
    deliver: bool = True,
) -> ScoreOutboxEntry:
    """Queue one learner's score for a graded resource link and start its delivery. Commits.

    The score's timestamp is ``now`` but always later than the previous score for
    the same link and learner (AGS 2.0 §3.4.3). Raises ValidationFailed for a
    score no platform would take, NotFound for an unknown link, Conflict when the
    link's platform granted no score service.
    """
    link, endpoint = _graded_link(resource_link_pk)
    lti_user_id = _lti_user_id(link, user_id)
    now = now or utcnow()
    previous = db.session.scalar(
        select(func.max(ScoreOutboxEntry.score_timestamp)).where(
            ScoreOutboxEntry.resource_link_pk == link.id,
            ScoreOutboxEntry.lti_user_id == lti_user_id,
        )
    )
    score = ScoreToRecord(
        user_id, score_given, score_maximum, activity_progress, grading_progress, comment
    )
    entry = _outbox_entry(link, endpoint, score, lti_user_id, previous, source=source, now=now)
    db.session.add(entry)
    db.session.commit()
    if deliver:
        jobs.enqueue(drain_outbox)
    return entry


def record_scores(
    *,
    resource_link_pk: int,
    scores: Sequence[ScoreToRecord],
    source: str = "tool",
    now: datetime | None = None,
    deliver: bool = True,
) -> RecordedScores:
    """Queue many learners' scores for one graded link in one transaction, and start
    their delivery once. Commits once.

    Each score is what :func:`record_score` would queue, timestamp rule included. A
    learner whose score is refused (ValidationFailed: unknown to the link's LMS, a
    score no platform would take) is left out and named in ``refused``, the others are
    queued. Raises NotFound for an unknown link, Conflict when the link's platform
    granted no score service (nothing is queued then).
    """
    link, endpoint = _graded_link(resource_link_pk)
    now = now or utcnow()
    recorded = RecordedScores()
    # The whole class's platform ids in one lookup, not one query per learner.
    subs = _lti_user_ids(link, [score.user_id for score in scores])
    for score in scores:
        if score.user_id not in subs:
            recorded.refused[score.user_id] = _unknown_to_platform()
            recorded.unknown.add(score.user_id)
    previous = dict(
        db.session.execute(
            select(ScoreOutboxEntry.lti_user_id, func.max(ScoreOutboxEntry.score_timestamp))
            .where(
                ScoreOutboxEntry.resource_link_pk == link.id,
                ScoreOutboxEntry.lti_user_id.in_(sorted(set(subs.values()))),
            )
            .group_by(ScoreOutboxEntry.lti_user_id)
        ).all()
    )
    for score in scores:
        sub = subs.get(score.user_id)
        if sub is None:
            continue
        try:
            entry = _outbox_entry(
                link, endpoint, score, sub, previous.get(sub), source=source, now=now
            )
        except ValidationFailed as exc:
            recorded.refused[score.user_id] = exc
            continue
        # A learner listed twice gets two scores in order, as two record_score calls.
        previous[sub] = entry.score_timestamp
        recorded.entries.append(entry)
    db.session.add_all(recorded.entries)
    db.session.commit()
    if deliver and recorded.entries:
        jobs.enqueue(drain_outbox)
    return recorded


def _line_item_spec(link: ResourceLink, payload: dict) -> grading.LineItemSpec:
    return grading.LineItemSpec(
        label=(link.title or "MasteryAI activity")[:255],
        score_maximum=float(payload.get("scoreMaximum") or 100.0),
        resource_link_id=link.resource_link_id,
        tag="masteryai",
    )


def _known_line_item_url(link: ResourceLink) -> str | None:
    """The link's line item as the tool already knows it: the one its launches named
    (AGS §3.1: the platform made it for this link), else the one scores went to."""
    return link.ags_lineitem_url or db.session.scalar(
        select(GradedLineItem.lineitem_url).where(GradedLineItem.resource_link_pk == link.id)
    )


def resolve_line_item(client: PlatformServiceClient, link: ResourceLink, payload: dict) -> str:
    """The line item URL for a link: the launch's, the one found/created before, or a new one."""
    known = _known_line_item_url(link)
    if known:
        return known
    endpoint = grading.AgsEndpoint.from_claim(link.ags_endpoint) or grading.AgsEndpoint(())
    spec = _line_item_spec(link, payload)
    url = grading.find_or_create_line_item(client, endpoint, spec)
    db.session.add(
        GradedLineItem(
            institution_id=link.institution_id,
            resource_link_pk=link.id,
            lineitem_url=url,
            label=spec.label,
            score_maximum=spec.score_maximum,
        )
    )
    db.session.flush()
    return url


def claim(entry_ids: list[int], now: datetime) -> list[int]:
    """Take due entries for delivery in one statement; returns the ids this drain got.

    A conditional UPDATE … RETURNING (PostgreSQL, SQLite ≥ 3.35) instead of
    SELECT … FOR UPDATE: entries another drain holds are simply not returned, and
    the lease means a crashed worker's entries come back after CLAIM_LEASE_SECONDS.
    """
    if not entry_ids:
        return []
    claimed = db.session.scalars(
        update(ScoreOutboxEntry)
        .where(
            ScoreOutboxEntry.id.in_(entry_ids),
            ScoreOutboxEntry.status == "pending",
            ScoreOutboxEntry.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_SECONDS))
        .returning(ScoreOutboxEntry.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted(claimed)


def deliver(
    entry: ScoreOutboxEntry,
    *,
    now: datetime,
    http: requests.Session | None = None,
    clock: Callable[[], datetime] = utcnow,
    clients: dict[int, PlatformServiceClient] | None = None,
) -> str:
    """One delivery attempt of a claimed entry; records the outcome. Commits.

    ``clients`` reuses one service client per registration across a drain.
    Returns the entry's new status.
    """
    entry.attempts += 1
    clients = {} if clients is None else clients
    try:
        link = db.session.get(ResourceLink, entry.resource_link_pk)
        client = _drain_client(clients, entry.registration_id, http, clock)
        if link is None:
            raise PlatformServiceError("the resource link was removed", retryable=False)
        if not entry.lineitem_url:
            entry.lineitem_url = resolve_line_item(client, link, entry.payload)
        response = grading.send_score(client, entry.lineitem_url, entry.payload)
    except PlatformServiceError as exc:
        entry.last_status_code = exc.status
        entry.last_error = _failure_note(exc, entry.attempts)
        for name, value in _after_failure(entry.attempts, entry.id, now, exc.retryable).items():
            setattr(entry, name, value)
        log.warning("score %s not delivered (%s): %s", entry.id, entry.status, exc.reason)
    else:
        entry.status = "sent"
        entry.sent_at = now
        entry.last_error = None
        entry.last_status_code = response.status
    db.session.commit()
    return entry.status


def _after_failure(attempts: int, row_id: int, now: datetime, retryable: bool) -> dict:
    """A failed attempt's new status (and when to try again): a score or a line item
    update is retried with back-off until MAX_ATTEMPTS, a refusal never."""
    if retryable and attempts < MAX_ATTEMPTS:
        return {"status": "pending", "next_attempt_at": now + retry_delay(attempts, row_id)}
    return {"status": "failed"}


def _failure_note(exc: PlatformServiceError, attempts: int) -> str:
    """What the teacher reads of a platform's failure: the reason, and that we gave up."""
    if exc.retryable and attempts >= MAX_ATTEMPTS:
        return f"gave up after {attempts} attempts: {exc.reason}"
    return exc.reason


def _count_internal_failure(row, now: datetime, exc: Exception) -> str:
    """Count an unexpected error as an attempt of a score or line item row, so a
    poisonous row ends up failed instead of being retried for ever; commits."""
    row.attempts += 1
    row.last_error = f"internal error: {type(exc).__name__}: {exc}"[:1000]
    row.last_status_code = None
    for name, value in _after_failure(row.attempts, row.id, now, retryable=True).items():
        setattr(row, name, value)
    db.session.commit()
    return row.status


def _drain_client(
    clients: dict[int, PlatformServiceClient], registration_id: int, http, clock
) -> PlatformServiceClient:
    """The registration's service client, made once per drain (its token is reused)."""
    client = clients.get(registration_id)
    if client is None:
        registration = db.session.get(LtiRegistration, registration_id)
        if registration is None:
            raise PlatformServiceError("the platform registration was removed", retryable=False)
        client = clients[registration_id] = service_client_for(registration, http=http, clock=clock)
    return client


def drain_outbox(
    now: datetime | None = None,
    *,
    limit: int = DRAIN_BATCH,
    http: requests.Session | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> dict:
    """Deliver every pending entry that is due (an RQ job; also `flask lti drain-outbox`).

    Each entry is claimed just before its delivery, its lease counted from then (by
    ``clock``, never earlier than ``now``): a batch claimed at once would see the leases
    of its last entries run out while a slow platform takes the first ones, and a
    second drain (cron, or the job the next score enqueues) would deliver them too.
    Returns counts of sent, retrying and failed entries.
    """
    now = now or clock()
    report = DrainReport()
    due = db.session.scalars(
        select(ScoreOutboxEntry.id)
        .where(ScoreOutboxEntry.status == "pending", ScoreOutboxEntry.next_attempt_at <= now)
        .order_by(ScoreOutboxEntry.id)
        .limit(limit)
    ).all()
    clients: dict[int, PlatformServiceClient] = {}
    # Platforms found unavailable in this drain: their other entries wait for the
    # same retry instead of each paying a timeout against a dead server.
    unavailable: dict[int, ScoreOutboxEntry] = {}
    for entry_id in due:
        moment = max(now, clock())
        if not claim([entry_id], moment):
            continue  # another drain holds it, or delivered it meanwhile
        entry = db.session.get(ScoreOutboxEntry, entry_id, populate_existing=True)
        failed_first = unavailable.get(entry.registration_id)
        if failed_first is not None:
            entry.next_attempt_at = failed_first.next_attempt_at
            entry.last_error = (
                f"not attempted, the platform was unavailable: {failed_first.last_error}"
            )
            db.session.commit()
            report.retrying.append(entry_id)
            continue
        try:
            status = deliver(entry, now=moment, http=http, clients=clients)
        except Exception as exc:  # a bug or a database hiccup must not stall the other scores
            db.session.rollback()
            log.exception("score %s: delivery raised", entry_id)
            entry = db.session.get(ScoreOutboxEntry, entry_id)
            status = _count_internal_failure(entry, moment, exc)
            report_lists = {"pending": report.retrying, "failed": report.failed}
            report_lists[status].append(entry_id)
            continue
        if status == "pending":
            unavailable[entry.registration_id] = entry
        {"sent": report.sent, "pending": report.retrying, "failed": report.failed}[status].append(
            entry_id
        )
    line_items = drain_line_item_updates(now, limit=limit, http=http, clock=clock)
    if any(line_items.values()):
        log.info("line item updates drained: %s", line_items)
    return report.as_dict()


# -- line item updates ------------------------------------------------------------------
#
# A graded link's line item (its gradebook column) is kept in step with the activity
# behind it: a renamed activity or a moved due date is PUT to the platform (AGS 2.0
# §3.2). These go through the outbox's schedule (same retries, same drain, same cron
# command) but wait in their own table, one row per link, because only the newest
# values matter: scores are each delivered, line item changes replace each other.


def link_updates_line_item(link: ResourceLink) -> bool:
    """Whether the link's platform lets the tool change its line items: the launches
    carried an AGS claim granting the ``lineitem`` scope."""
    endpoint = grading.AgsEndpoint.from_claim(link.ags_endpoint)
    return endpoint is not None and endpoint.grants(grading.SCOPE_LINEITEM)


def _held_line_item_update(link: ResourceLink) -> LineItemUpdate:
    """The link's row, created if missing, locked until the transaction ends."""
    table = LineItemUpdate.__table__
    make_insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # An empty row stands for "nothing to send": a first change merges into it like
    # any later one, and two first changes at once meet on the unique link.
    db.session.execute(
        make_insert(table)
        .values(
            institution_id=link.institution_id,
            registration_id=link.registration_id,
            resource_link_pk=link.id,
            changes={},
            revision=0,
            source="tool",
            status="sent",
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["resource_link_pk"])
    )
    return db.session.scalars(
        select(LineItemUpdate)
        .where(LineItemUpdate.resource_link_pk == link.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def record_line_item_update(
    resource_link_pk: int,
    read_changes: Callable[[], dict | None],
    *,
    source: str = "tool",
    now: datetime | None = None,
    deliver: bool = True,
) -> LineItemUpdate | None:
    """Queue changes to a graded link's line item and start their delivery. Commits.

    ``read_changes`` returns the fields to change (``label``, ``endDateTime``: an ISO
    8601 string, or None for no end date), or None for nothing. It is called once the
    link's row is held, so values it reads from the database are never older than
    values another caller recorded before: two quick edits end with the later one's,
    whichever caller gets here first. The changes merge into any not yet delivered.

    Returns None, queueing nothing, when the link's platform did not grant the
    ``lineitem`` scope (logged: the platform keeps its column as it is) or when there
    is nothing to change. Raises NotFound for an unknown link.
    """
    link = db.session.get(ResourceLink, resource_link_pk)
    if link is None:
        raise NotFound("No such resource link.")
    if not link_updates_line_item(link):
        log.info(
            "link %s: the platform did not grant the lineitem scope; its line item keeps "
            "its label and dates",
            link.id,
        )
        return None
    row = _held_line_item_update(link)
    changes = read_changes()
    if not changes:
        db.session.rollback()
        return None
    grading.check_owned_fields(changes)
    # Sent changes are on the platform already; unsent ones still have to go.
    row.changes = dict(changes) if row.status == "sent" else {**row.changes, **changes}
    row.revision += 1
    row.source = source
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = now or utcnow()
    row.last_error = None
    row.last_status_code = None
    db.session.commit()
    if deliver:
        jobs.enqueue(drain_line_item_updates)
    return row


def _claim_line_item_update(update_id: int, now: datetime) -> int | None:
    """Lease a due row for delivery; the revision this drain sends, or None."""
    revision = db.session.scalar(
        update(LineItemUpdate)
        .where(
            LineItemUpdate.id == update_id,
            LineItemUpdate.status == "pending",
            LineItemUpdate.next_attempt_at <= now,
            or_(LineItemUpdate.leased_until.is_(None), LineItemUpdate.leased_until <= now),
        )
        .values(leased_until=now + timedelta(seconds=CLAIM_LEASE_SECONDS))
        .returning(LineItemUpdate.revision)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return revision


def _line_item_url(client: PlatformServiceClient, link: ResourceLink) -> str | None:
    """The link's line item: the launch's, the one scores went to, or the platform's
    for the link; never a new one (a column nobody made is not the tool's to add)."""
    known = _known_line_item_url(link)
    if known:
        return known
    endpoint = grading.AgsEndpoint.from_claim(link.ags_endpoint) or grading.AgsEndpoint(())
    spec = grading.LineItemSpec(
        label=link.title or "MasteryAI activity",
        score_maximum=100.0,
        resource_link_id=link.resource_link_id,
    )
    return grading.find_line_item(client, endpoint, spec)


def _send_line_item_update(
    row: LineItemUpdate, clients: dict[int, PlatformServiceClient], http, clock
) -> None:
    link = db.session.get(ResourceLink, row.resource_link_pk)
    if link is None:
        raise PlatformServiceError("the resource link was removed", retryable=False)
    if not link_updates_line_item(link):
        raise PlatformServiceError(
            "the platform no longer grants the lineitem scope for this link", retryable=False
        )
    client = _drain_client(clients, row.registration_id, http, clock)
    url = _line_item_url(client, link)
    if not url:
        raise PlatformServiceError("the platform has no line item for this link", retryable=False)
    try:
        grading.update_line_item(client, url, row.changes)
    except grading.ScoreRejected as exc:
        raise PlatformServiceError(str(exc), retryable=False) from exc


def deliver_line_item_update(
    update_id: int,
    revision: int,
    *,
    now: datetime,
    http: requests.Session | None = None,
    clock: Callable[[], datetime] = utcnow,
    clients: dict[int, PlatformServiceClient] | None = None,
) -> str:
    """One delivery attempt of a leased row at ``revision``; records the outcome. Commits.

    Returns the row's new status, or ``"superseded"`` when a change was merged while
    this one was under way: the outcome is then not recorded and the row stays due, so
    the newer values are sent next (never the older ones after them).
    """
    row = db.session.get(LineItemUpdate, update_id, populate_existing=True)
    attempts = row.attempts + 1
    try:
        _send_line_item_update(row, {} if clients is None else clients, http, clock)
    except PlatformServiceError as exc:
        outcome = {
            "last_error": _failure_note(exc, attempts),
            "last_status_code": exc.status,
            **_after_failure(attempts, row.id, now, exc.retryable),
        }
        log.warning(
            "line item update %s not delivered (%s): %s", row.id, outcome["status"], exc.reason
        )
    else:
        outcome = {"status": "sent", "sent_at": now, "last_error": None, "last_status_code": None}
    recorded = db.session.execute(
        update(LineItemUpdate)
        .where(LineItemUpdate.id == update_id, LineItemUpdate.revision == revision)
        .values(attempts=attempts, leased_until=None, updated_at=utcnow(), **outcome)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not recorded:
        db.session.execute(
            update(LineItemUpdate)
            .where(LineItemUpdate.id == update_id)
            .values(leased_until=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return outcome["status"] if recorded else "superseded"


def _line_item_internal_failure(update_id: int, now: datetime, exc: Exception) -> str:
    row = db.session.get(LineItemUpdate, update_id, populate_existing=True)
    row.leased_until = None
    return _count_internal_failure(row, now, exc)


# How often one drain resends a row whose values changed while it was being sent.
MAX_SUPERSEDED_RESENDS = 3


def drain_line_item_updates(
    now: datetime | None = None,
    *,
    limit: int = DRAIN_BATCH,
    http: requests.Session | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> dict:
    """Deliver every line item update that is due (an RQ job; :func:`drain_outbox`
    runs it too, so ``flask lti drain-outbox`` retries them). Counts as drain_outbox's.
    """
    now = now or clock()
    report = DrainReport()
    due = db.session.scalars(
        select(LineItemUpdate.id)
        .where(
            LineItemUpdate.status == "pending",
            LineItemUpdate.next_attempt_at <= now,
            or_(LineItemUpdate.leased_until.is_(None), LineItemUpdate.leased_until <= now),
        )
        .order_by(LineItemUpdate.id)
        .limit(limit)
    ).all()
    clients: dict[int, PlatformServiceClient] = {}
    for update_id in due:
        status = None
        # A change merged while the row was being sent is due at once: send it now
        # rather than leave it for the next drain.
        for _ in range(1 + MAX_SUPERSEDED_RESENDS):
            moment = max(now, clock())
            revision = _claim_line_item_update(update_id, moment)
            if revision is None:
                break  # another drain holds it, or delivered it meanwhile
            try:
                status = deliver_line_item_update(
                    update_id, revision, now=moment, http=http, clock=clock, clients=clients
                )
            except Exception as exc:  # one bad row must not stall the others
                db.session.rollback()
                log.exception("line item update %s: delivery raised", update_id)
                status = _line_item_internal_failure(update_id, moment, exc)
            if status != "superseded":
                break
        if status is not None:
            # Still superseded after the resends: it stays due for the next drain.
            retrying = report.retrying
            lists = {"sent": report.sent, "pending": retrying, "superseded": retrying}
            lists.get(status, report.failed).append(update_id)
    return report.as_dict()


@dataclass(frozen=True)
class GradePost:
    """A grade post as teachers see it: the outbox entry and the learner's name."""

    entry: ScoreOutboxEntry
    student_name: str | None

    def __getattr__(self, name: str):
        # Everything else reads through to the entry (score, status, last_error...).
        if name == "entry":  # not set yet: never recurse
            raise AttributeError(name)
        return getattr(self.entry, name)


def posts_for_course(
    actor: Actor, course_id: int, status: str | None = None, limit: int = 200
) -> list[GradePost]:
    """A course's grade posts, newest first, with each learner's name, for its
    teachers and admins."""
    course = courses.course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    query = select(ScoreOutboxEntry).where(
        ScoreOutboxEntry.course_id == course.id,
        ScoreOutboxEntry.institution_id == course.institution_id,
    )
    if status:
        query = query.where(ScoreOutboxEntry.status == status)
    entries = list(db.session.scalars(query.order_by(ScoreOutboxEntry.id.desc()).limit(limit)))
    names = courses.full_names([e.user_id for e in entries if e.user_id is not None])
    return [GradePost(e, names.get(e.user_id) or None) for e in entries]


def resend(actor: Actor, course_id: int, entry_id: int) -> ScoreOutboxEntry:
    """A teacher sends a failed grade post again: it goes back to pending, due now. Commits.

    The payload keeps its original timestamp, so a resent old score never
    overrides a newer one the platform already has (AGS 2.0 §3.4.3).
    """
    course = courses.course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    entry = db.session.get(ScoreOutboxEntry, entry_id)
    if entry is None or entry.course_id != course.id:
        raise NotFound("No such grade post in this course.")
    if entry.status != "failed":
        raise Conflict(f"Only failed grade posts can be resent; this one is {entry.status}.")
    entry.status = "pending"
    entry.attempts = 0
    entry.next_attempt_at = utcnow()
    db.session.commit()
    jobs.enqueue(drain_outbox)
    return entry


def resend_all_failed(actor: Actor, course_id: int) -> int:
    """Resend every failed post of a course; returns how many. Commits."""
    course = courses.course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    count = db.session.execute(
        update(ScoreOutboxEntry)
        .where(ScoreOutboxEntry.course_id == course.id, ScoreOutboxEntry.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if count:
        jobs.enqueue(drain_outbox)
    return count


def _course_link(course_id: int, resource_link_pk: int) -> ResourceLink:
    link = db.session.get(ResourceLink, resource_link_pk)
    if link is None or link.course_id != course_id:
        raise NotFound("No such graded link in this course.")
    return link


def record_score_for_actor(actor: Actor, course_id: int, **score) -> ScoreOutboxEntry:
    """A teacher records a grade for a learner on one of the course's links."""
    course = courses.course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    _course_link(course.id, score["resource_link_pk"])
    if score["user_id"] not in courses.student_ids(course.id):
        raise NotFound("No such student in this course.")
    return record_score(**score, source="teacher")


def results_for_link(
    actor: Actor,
    course_id: int,
    resource_link_pk: int,
    *,
    http: requests.Session | None = None,
) -> list[grading.Result]:
    """Read back the platform's results for a course link (AGS result service, all pages)."""
    course = courses.course_for_actor(actor, course_id)
    ensure_can_teach(actor, course)
    link = _course_link(course.id, resource_link_pk)
    endpoint = grading.AgsEndpoint.from_claim(link.ags_endpoint)
    if endpoint is None or not endpoint.grants(grading.SCOPE_RESULT_READONLY):
        raise Conflict("The LMS did not grant reading results for this link.")
    registration = db.session.get(LtiRegistration, link.registration_id)
    client = service_client_for(registration, http=http)
    lineitem_url = link.ags_lineitem_url or db.session.scalar(
        select(GradedLineItem.lineitem_url).where(GradedLineItem.resource_link_pk == link.id)
    )
    if not lineitem_url:
        return []
    return grading.read_results(client, lineitem_url)
