"""The Statement API's use cases: store a batch, fetch one, query pages.

HTTP handlers (``routes``) parse the request and call one function here; this module
owns the transaction. Storing follows xAPI 1.0.3 Communication 2.1.1/2.1.2 and
IEEE 9274.1.1 (2.0) 4.1.6.1: validate everything first, assign the LRS-owned fields
(``id``, ``stored``, ``authority``, ``version``, default ``timestamp``), refuse the whole
batch on any problem, insert in one round trip, treat an id already stored with the same
statement as a no-op and with a different one as 409 Conflict.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import redis
from flask import current_app

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import BadRequest, Conflict, Forbidden, NotFound
from masteryai_lti.extensions import cache, db, jobs
from masteryai_lti.xapi import consistency, storage
from masteryai_lti.xapi.comparison import same_statement, statement_differences
from masteryai_lti.xapi.credentials import CredentialInfo
from masteryai_lti.xapi.cursor import Cursor, CursorInvalid, decode_cursor, encode_cursor
from masteryai_lti.xapi.indexing import activity_ids_in, format_statement, index_fields
from masteryai_lti.xapi.lookup import activity_definitions
from masteryai_lti.xapi.models import PENDING
from masteryai_lti.xapi.normalisation import normalise_statement
from masteryai_lti.xapi.signature import SignatureInvalid, check_signed_statement
from masteryai_lti.xapi.timestamps import TimestampError, format_utc, timestamp_instant
from masteryai_lti.xapi.validation import Problem, is_xapi_2, validate_statements
from masteryai_lti.xapi.versions import shape_for_version

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


class XapiBadRequest(BadRequest):
    """400 with the xAPI problem list (path + rule)."""

    def __init__(self, problems: list[Problem] | list[dict], detail: str | None = None) -> None:
        errors = [p.as_dict() if isinstance(p, Problem) else p for p in problems]
        if detail is None:
            first = errors[0] if errors else {"path": "", "message": "bad request"}
            detail = f"{first['path'] or '(body)'}: {first['message']}"
            if len(errors) > 1:
                detail += f" (and {len(errors) - 1} more problem(s))"
        super().__init__(detail, errors=errors)


def bad_request(path: str, message: str) -> XapiBadRequest:
    """A 400 naming one field path and the rule it breaks."""
    return XapiBadRequest([{"path": path, "message": message}])


@dataclass
class Attachments:
    """Attachment parts of a multipart request, keyed by their SHA-256 hex digest."""

    parts: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    multipart: bool = False


def authority_for(credential: CredentialInfo, home_page: str) -> dict:
    """The Agent standing for a credential (Data 2.4.9: ``authority`` is set by the LRS)."""
    return {
        "objectType": "Agent",
        "name": credential.name,
        "account": {"homePage": home_page, "name": credential.key},
    }


def _check_attachments(statements: list[dict], attachments: Attachments) -> None:
    """Every attachment without fileUrl has its part; every part belongs to an attachment
    (Communication 1.5.2, XAPI-00127/00128)."""
    wanted: set[str] = set()
    for index, statement in enumerate(statements):
        for position, attachment in enumerate(statement.get("attachments") or []):
            sha2 = str(attachment.get("sha2", "")).lower()
            if attachment.get("fileUrl"):
                # The bytes may come along anyway; then they are kept and served.
                wanted.add(sha2)
                continue
            path = f"statements[{index}].attachments[{position}]"
            if not attachments.multipart:
                raise bad_request(
                    path,
                    "an attachment without fileUrl must be sent as a multipart/mixed part",
                )
            if sha2 not in attachments.parts:
                raise bad_request(f"{path}.sha2", "no multipart part carries this sha2")
            wanted.add(sha2)
    extra = set(attachments.parts) - wanted
    if extra:
        raise bad_request(
            "parts",
            "a multipart part matches no attachment of the statements: " + sorted(extra)[0],
        )


def _prepare(
    raw: dict,
    *,
    version: str,
    stored: datetime,
    stored_text: str,
    authority: dict,
) -> dict:
    statement = normalise_statement(raw, to_utc=is_xapi_2(version))
    statement["id"] = str(statement.get("id") or uuid.uuid4()).lower()
    statement["stored"] = stored_text
    statement["authority"] = authority
    if "version" not in statement:
        statement["version"] = "2.0.0" if is_xapi_2(version) else "1.0.0"
    if "timestamp" not in statement:
        statement["timestamp"] = stored_text
    return statement


def _instant(statement: dict, stored: datetime) -> datetime:
    try:
        return timestamp_instant(statement["timestamp"])
    except (TimestampError, TypeError):
        return stored


def _row(
    statement: dict, fields: dict, institution_id: int, credential_id: int, stored: datetime
) -> dict:
    fields = dict(fields)
    registration = fields.pop("registration")
    target = fields.pop("object_statement_id")
    return {
        "institution_id": institution_id,
        "statement_id": uuid.UUID(statement["id"]),
        "credential_id": credential_id,
        "stored": stored,
        "timestamp": _instant(statement, stored),
        "registration": uuid.UUID(registration) if registration else None,
        "object_statement_id": uuid.UUID(target) if target else None,
        "voided": False,
        "has_attachments": bool(statement.get("attachments")),
        "statement": statement,
        "projection_state": PENDING,
        **fields,
    }


def _fast_rows_json(statements: list[dict], fields: list[dict], stored: datetime) -> str:
    """The batch as the JSON array ``storage.insert_new_statements`` reads."""
    return json.dumps(
        [
            {
                **index,
                "statement_id": statement["id"],
                "timestamp": _instant(statement, stored).isoformat(),
                "has_attachments": bool(statement.get("attachments")),
                "statement": statement,
            }
            for statement, index in zip(statements, fields, strict=True)
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def store_statements(
    credential: CredentialInfo,
    payload: object,
    *,
    version: str,
    home_page: str,
    attachments: Attachments | None = None,
    statement_id: str | None = None,
) -> list[str]:
    """Validate and store one statement or a batch; return the ids in order.

    ``statement_id`` is PUT's parameter. All or nothing: any invalid statement, two
    statements sharing an id, or an id stored with a different statement (409) leaves
    the database as it was.
    """
    if not credential.can_write:
        raise Forbidden("This credential may not write statements (scope 'write').")
    problems = validate_statements(payload, version)
    if problems:
        raise XapiBadRequest(problems)
    raws = payload if isinstance(payload, list) else [payload]
    if not raws:
        return []
    if statement_id is not None:
        raws = [{**raws[0], "id": statement_id}]
    attachments = attachments or Attachments()
    _check_attachments(raws, attachments)
    # In flight from before ``stored`` is taken until the batch is committed, so that no
    # reader's Consistent-Through header passes it meanwhile (see ``consistency``). The
    # instant has millisecond precision: the JSON ``stored`` and the indexed column must
    # agree exactly, or since/until and paging would disagree with what clients read.
    with consistency.writing(credential.institution_id, utcnow) as stored:
        return _store(
            credential,
            raws,
            attachments,
            version=version,
            home_page=home_page,
            stored=stored,
            batch=isinstance(payload, list),
        )


def _store(
    credential: CredentialInfo,
    raws: list[dict],
    attachments: Attachments,
    *,
    version: str,
    home_page: str,
    stored: datetime,
    batch: bool,
) -> list[str]:
    stored_text = format_utc(stored)
    authority = authority_for(credential, home_page)
    statements = [
        _prepare(raw, version=version, stored=stored, stored_text=stored_text, authority=authority)
        for raw in raws
    ]
    for index, raw in enumerate(raws):
        try:
            check_signed_statement(
                raw,
                lambda sha2: (attachments.parts.get(str(sha2).lower()) or (None, None))[1],
                same_statement,
            )
        except SignatureInvalid as exc:
            db.session.rollback()
            raise bad_request(f"statements[{index}].attachments", str(exc)) from None
    fields = [index_fields(s) for s in statements]
    _ensure_can_void(credential, statements, fields, batch=batch)
    if (
        not attachments.parts
        and not any(index["is_voiding"] for index in fields)
        and storage.fast_path_available()
        and storage.insert_new_statements(
            credential.institution_id,
            credential.id,
            stored,
            _fast_rows_json(statements, fields, stored),
            len(statements),
        )
    ):
        # Every statement was new and is committed: nothing to compare or void.
        schedule_projection(credential.institution_id)
        return [s["id"] for s in statements]
    rows = [
        _row(s, index, credential.institution_id, credential.id, stored)
        for s, index in zip(statements, fields, strict=True)
    ]
    try:
        outcome = storage.insert_statements(credential.institution_id, rows)
        inserted = outcome.inserted
        existing_ids = [row["statement_id"] for row in rows if row["statement_id"] not in inserted]
        if existing_ids:
            existing = storage.stored_statements(credential.institution_id, existing_ids)
            for index, row in enumerate(rows):
                if row["statement_id"] in inserted:
                    continue
                document, writer = existing[row["statement_id"]]
                differences = statement_differences(document, raws[index])
                if differences and not _can_read_statement(credential, writer):
                    # Which fields differ would reveal the stored statement, field by
                    # field, to a credential that may not read it.
                    where = f"statements[{index}]." if batch else ""
                    raise Conflict(
                        f"Statement {row['statement_id']} is already stored with different "
                        "content.",
                        errors=[
                            {
                                "path": f"{where}id",
                                "message": "this id is already stored with different content",
                            }
                        ],
                    )
                if differences:
                    raise Conflict(
                        f"Statement {row['statement_id']} is already stored with different "
                        f"content (differs at {', '.join(differences[:5])}).",
                        errors=[
                            {
                                "path": f"statements[{index}].{path}",
                                "message": "differs from the stored statement",
                            }
                            for path in differences[:20]
                        ],
                    )
        targets = {
            row["object_statement_id"]
            for row in rows
            if row["is_voiding"] and row["statement_id"] in inserted
        }
        voided = storage.mark_voided(credential.institution_id, targets | outcome.targeted)
        if voided:
            from masteryai_lti.xapi.projection import withdraw_projections

            withdraw_projections(credential.institution_id, voided)
        if attachments.parts:
            storage.insert_attachments(
                [
                    {
                        "institution_id": credential.institution_id,
                        "sha2": sha2,
                        "content_type": content_type,
                        "length": len(data),
                        "data": data,
                        "created_at": stored,
                    }
                    for sha2, (content_type, data) in attachments.parts.items()
                ]
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if inserted:
        schedule_projection(credential.institution_id)
    return [s["id"] for s in statements]


def _can_read_statement(credential: CredentialInfo, writer: int | None) -> bool:
    return credential.can_read_all or (credential.can_read and writer == credential.id)


def _ensure_can_void(
    credential: CredentialInfo, statements: list[dict], fields: list[dict], *, batch: bool
) -> None:
    """A credential voids only statements it may read: with ``read-all`` any of the
    institution, otherwise those it wrote itself (stored earlier, or new in this batch).

    Content gets a ``write,read-mine`` credential whose secret travels to the browser;
    without this rule a learner could void everyone else's statements with it. A target
    not stored yet is refused too: it could later arrive from another credential, and
    the stored voiding statement would void it then.
    """
    if credential.can_read_all:
        return
    targets = {
        index: uuid.UUID(index_row["object_statement_id"])
        for index, index_row in enumerate(fields)
        if index_row["is_voiding"]
    }
    if not targets:
        return
    writers = storage.statement_writers(credential.institution_id, set(targets.values()))
    new_here = {uuid.UUID(statement["id"]) for statement in statements}
    for index, target in targets.items():
        if target in writers:
            allowed = writers[target] == credential.id
        else:
            allowed = target in new_here
        if not allowed:
            where = f"statements[{index}]." if batch else ""
            raise Forbidden(
                f"This credential may void only statements it wrote itself; {target} is "
                "not one of them (voiding another's statements needs scope 'read-all').",
                errors=[
                    {
                        "path": f"{where}object.id",
                        "message": "not a statement this credential wrote",
                    }
                ],
            )


# Per process: until when (monotonic seconds) a queued projection job of an institution
# is certain to read the outbox after this moment, so a commit made before then needs
# no Redis call of its own.
_job_reads_after: dict[int, float] = {}
_SCHEDULE_TTL_S = 60


def schedule_projection(institution_id: int) -> None:
    """Ask for the outbox of ``institution_id`` to be projected soon.

    At most one job per institution is queued at a time: the job clears the flag before
    it reads the outbox, so rows committed after that read schedule a new job.

    With a queue the job first waits ``XAPI_PROJECTION_COALESCE_S`` before it clears the
    flag, so it reads the outbox no earlier than that long after the flag was set. The
    flag's age comes from its TTL (Redis's clock, no host clocks compared): a commit that
    ended before half of that wait has passed is certainly read by the queued job, and
    skips the Redis round trip. Under a stream of POSTs that is all but one in each
    coalescing window.
    """
    if current_app.config.get("XAPI_PROJECTION", "job") == "off":
        return
    from masteryai_lti.xapi import projection

    client = cache.client
    if jobs.inline or client is None:
        if cache.set_if_absent(projection.scheduled_key(institution_id), 1, ttl=60):
            jobs.enqueue(projection.project_pending, institution_id)
        return
    now = time.monotonic()
    if _job_reads_after.get(institution_id, 0.0) > now:
        return
    key = cache.redis_key(projection.scheduled_key(institution_id))
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set(key, "1", ex=_SCHEDULE_TTL_S, nx=True)
        pipe.pttl(key)
        created, ttl_ms = pipe.execute()
    except redis.RedisError as exc:
        # As cache.set_if_absent: Redis down means no job; the rows stay pending.
        log.warning("could not schedule the xAPI projection: %s", exc)
        return
    if created:
        jobs.enqueue(projection.project_pending, institution_id)
    wait = float(current_app.config.get("XAPI_PROJECTION_COALESCE_S", 0.5))
    if ttl_ms is not None and ttl_ms > 0 and wait > 0:
        age = _SCHEDULE_TTL_S - ttl_ms / 1000.0
        _job_reads_after[institution_id] = now - age + wait / 2


def attachment_hashes(statements: list[dict]) -> list[str]:
    """SHA-256 digests of the attachments (without fileUrl-only ones) in ``statements``."""
    hashes = []
    for statement in statements:
        for attachment in statement.get("attachments") or []:
            if attachment.get("sha2"):
                hashes.append(attachment["sha2"])
    return hashes


def get_statement(credential: CredentialInfo, statement_id: str, *, voided: bool) -> dict:
    """A single statement by ``statementId`` (not voided) or ``voidedStatementId`` (voided)."""
    _ensure_can_read(credential)
    row = storage.get_statement(credential.institution_id, uuid.UUID(statement_id))
    if row is None or row.voided != voided:
        raise NotFound(f"No {'voided ' if voided else ''}statement with id {statement_id}.")
    if not credential.can_read_all and row.credential_id != credential.id:
        raise NotFound(f"No statement with id {statement_id}.")
    return row.statement


def _ensure_can_read(credential: CredentialInfo) -> None:
    if not credential.can_read:
        raise Forbidden(
            "This credential may not read statements (scope 'read-mine' or 'read-all')."
        )


@dataclass(frozen=True)
class StatementPage:
    """One page of a StatementResult and the cursor to the next."""

    statements: list[dict]
    more: str | None
    last_stored: datetime | None


def _filters_from_query(query) -> dict:
    from masteryai_lti.xapi.indexing import agent_key

    filters: dict = {}
    if query.agent is not None:
        filters["agent_key"] = agent_key(query.agent)
    for name in ("verb", "activity", "registration", "since", "until"):
        value = getattr(query, name)
        if value is not None:
            filters[name] = value
    if query.related_agents:
        filters["related_agents"] = True
    if query.related_activities:
        filters["related_activities"] = True
    filters["limit"] = query.limit
    filters["format"] = query.format
    filters["attachments"] = query.attachments
    return filters


def _statement_filter(filters: Mapping, credential: CredentialInfo) -> storage.StatementFilter:
    return storage.StatementFilter(
        agent_key=filters.get("agent_key"),
        verb_id=filters.get("verb"),
        activity_id=filters.get("activity"),
        registration=uuid.UUID(filters["registration"]) if filters.get("registration") else None,
        related_agents=bool(filters.get("related_agents")),
        related_activities=bool(filters.get("related_activities")),
        since=timestamp_instant(filters["since"]) if filters.get("since") else None,
        until=timestamp_instant(filters["until"]) if filters.get("until") else None,
        credential_id=None if credential.can_read_all else credential.id,
    )


def query_statements(
    credential: CredentialInfo, query=None, *, more: str | None = None, more_url: str
) -> tuple[StatementPage, dict]:
    """A page of statements for a parsed query, or the page a ``more`` token continues.

    Returns the page and the effective filters (format, attachments) for shaping.
    """
    _ensure_can_read(credential)
    now = utcnow()
    secret = current_app.config["SECRET_KEY"]
    if more is not None:
        try:
            cursor = decode_cursor(more, secret, institution_id=credential.institution_id, now=now)
        except CursorInvalid as exc:
            raise bad_request("more", str(exc)) from None
        filters = cursor.filters
        after = (cursor.after_stored, cursor.after_row)
        snapshot = cursor.snapshot
        snapshot_row = cursor.snapshot_row
        ascending = cursor.ascending
        issued = cursor.issued_at
    else:
        filters = _filters_from_query(query)
        after = None
        snapshot = None
        # Read before the page, and applied to it as to every later page, so the whole
        # result is what was stored before this request.
        snapshot_row = storage.newest_row_id()
        ascending = bool(query.ascending)
        issued = now
    requested = filters.get("limit")
    if requested is None:
        page_size = DEFAULT_PAGE_SIZE
    elif int(requested) == 0:
        # Communication 2.1.3: limit 0 means "the maximum the server will allow".
        page_size = MAX_PAGE_SIZE
    else:
        page_size = min(int(requested), MAX_PAGE_SIZE)
    rows = storage.find_statements(
        credential.institution_id,
        _statement_filter(filters, credential),
        ascending=ascending,
        limit=page_size + 1,
        after=after,
        snapshot=snapshot,
        snapshot_row=snapshot_row,
    )
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    next_token = None
    if has_more:
        last_row, last_stored, _ = rows[-1]
        next_token = encode_cursor(
            Cursor(
                institution_id=credential.institution_id,
                filters=filters,
                ascending=ascending,
                after_stored=last_stored,
                after_row=last_row,
                # Fix the upper bound when the first page is read: later arrivals are
                # not part of this result and must not shift it.
                snapshot=snapshot or now,
                snapshot_row=snapshot_row,
                issued_at=issued,
            ),
            secret,
        )
    statements = [document for _, _, document in rows]
    last_stored = max((stored for _, stored, _ in rows), default=None)
    page = StatementPage(
        statements=statements,
        more=f"{more_url}?more={next_token}" if next_token else None,
        last_stored=last_stored,
    )
    return page, filters


def shape_statements(
    credential: CredentialInfo,
    statements: list[dict],
    fmt: str,
    languages: list[str],
    *,
    version: str,
) -> list[dict]:
    """Statements about to be returned, in the ``format`` asked for and shaped for the
    xAPI ``version`` the reader speaks (see ``versions``); the stored ones stay as
    they are.

    ``canonical`` reads the LRS's definition of every Activity on the page in one query
    (``lookup.activity_definitions``, what the Activities resource returns).
    """
    if fmt == "canonical":
        wanted = {activity for s in statements for activity in activity_ids_in(s)}
        definitions = activity_definitions(credential, wanted)
        statements = [format_statement(s, fmt, languages, definitions) for s in statements]
    elif fmt != "exact":
        statements = [format_statement(statement, fmt, languages) for statement in statements]
    return [shape_for_version(statement, version) for statement in statements]


def consistent_through(institution_id: int | None = None, *, fresh: bool = True) -> str:
    """The X-Experience-API-Consistent-Through value (Communication 2.1.3.s2.b5) for a
    reader of ``institution_id``: never later than the ``stored`` of a write still in
    flight. Take it before reading statements; ``fresh=False`` (other responses) may
    reuse a recent value."""
    return format_utc(consistency.consistent_through(institution_id, utcnow, fresh=fresh))


def attachments_for(institution_id: int, statements: list[dict]) -> list[tuple[str, str, bytes]]:
    """Stored attachment parts for the statements of a response."""
    return storage.attachment_data(institution_id, attachment_hashes(statements))


# Data 2.4.11: ``sha2`` is a SHA-2 digest of the attachment (Communication 1.5.2 names
# the part by it); the digest's length says which SHA-2 function made it.
SHA2_BY_HEX_LENGTH = {56: "SHA-224", 64: "SHA-256", 96: "SHA-384", 128: "SHA-512"}


def sha2_name(sha2: str) -> str | None:
    """``SHA-384`` for a 96-digit hex digest, and so on; None for no SHA-2 length."""
    return SHA2_BY_HEX_LENGTH.get(len(sha2))


def matches_sha2(data: bytes, sha2: str) -> bool:
    """Whether ``sha2`` (hex) is the SHA-2 digest of ``data`` its length implies."""
    name = sha2_name(sha2)
    if name is None:
        return False
    digest = hashlib.new(name.replace("-", "").lower(), data).hexdigest()
    return hmac.compare_digest(digest, sha2.lower())
