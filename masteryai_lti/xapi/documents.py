"""The document resources' use cases: State, Activity Profile and Agent Profile.

xAPI 1.0.3 Communication 2.2 (documents), 2.3 (State), 2.6 (Agent Profile),
2.7 (Activity Profile) and 3.1 (concurrency); IEEE 9274.1.1 (2.0) 4.1.4, 4.1.6.2,
4.1.6.5 and 4.1.6.6. ``document_routes`` parses the request and calls one function
here; this module owns the transaction.

A document is kept as the bytes and Content-Type the client sent, with the SHA-1 of
the bytes as its ETag. Documents belong to the credential's institution; each records
the credential that last wrote it, and a credential with ``read-mine`` (not ``read-all``)
reads only those, as with statements.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import ApiError, Conflict, Forbidden, NotFound
from masteryai_lti.extensions import db
from masteryai_lti.xapi.credentials import CredentialInfo
from masteryai_lti.xapi.models import STATE, XapiDocument
from masteryai_lti.xapi.multipart import media_type
from masteryai_lti.xapi.service import bad_request
from masteryai_lti.xapi.validation import is_xapi_2

JSON_TYPE = "application/json"
_SEPARATOR = "\x1f"  # cannot occur in an IRI, an agent key or a UUID


class PreconditionFailed(ApiError):
    """412: an If-Match / If-None-Match precondition does not hold (Communication 3.1)."""

    status, title, slug = 412, "Precondition Failed", "precondition-failed"


@dataclass(frozen=True)
class DocumentAddress:
    """Where a document lives. ``document_id`` None names every document of the context
    (a list or a delete-all); ``registration`` None on a list or delete-all means any."""

    kind: str
    activity_id: str | None
    agent_key: str | None
    registration: uuid.UUID | None
    document_id: str | None

    @property
    def context_hash(self) -> str:
        parts = (self.kind, self.activity_id or "", self.agent_key or "")
        return hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8")).hexdigest()

    @property
    def document_hash(self) -> str:
        parts = (
            self.kind,
            self.activity_id or "",
            self.agent_key or "",
            str(self.registration) if self.registration else "",
            self.document_id or "",
        )
        return hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Preconditions:
    """The raw If-Match / If-None-Match headers of a write (None when absent)."""

    if_match: str | None = None
    if_none_match: str | None = None

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


@dataclass(frozen=True)
class StoredDocument:
    """A document as served: bytes, Content-Type, ETag (unquoted) and last change."""

    content: bytes
    content_type: str
    etag: str
    updated: datetime


@dataclass(frozen=True)
class DocumentIds:
    """The ids a list returns and when the newest of them last changed."""

    ids: list[str]
    last_modified: datetime | None


def etag_of(content: bytes) -> str:
    """SHA-1 hex of the content: the ETag the 1.0.3 conformance suite expects (3.1)."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def _tags(header: str) -> tuple[bool, set[str]]:
    """(star, opaque tags) of an If-Match / If-None-Match header, quotes and W/ removed."""
    tags = set()
    for item in header.split(","):
        item = item.strip()
        if item == "*":
            return True, set()
        if item.startswith("W/"):
            item = item[2:]
        tags.add(item.strip('"'))
    return False, tags


def unchanged_for(if_none_match: str | None, etag: str) -> bool:
    """Whether a conditional GET's If-None-Match names this ETag (or is *): a 304."""
    if if_none_match is None:
        return False
    star, tags = _tags(if_none_match)
    return star or etag in tags


def _check_preconditions(row: XapiDocument | None, preconditions: Preconditions) -> None:
    # RFC 7232 3.1/3.2 as Communication 3.1 asks: If-Match fails without a current
    # document or with another ETag; If-None-Match fails when it matches the current one.
    if preconditions.if_match is not None:
        star, tags = _tags(preconditions.if_match)
        if row is None or not (star or row.etag in tags):
            raise PreconditionFailed(
                "If-Match does not match the document's current ETag."
                if row is not None
                else "If-Match was given but there is no such document."
            )
    if preconditions.if_none_match is not None and row is not None:
        star, tags = _tags(preconditions.if_none_match)
        if star or row.etag in tags:
            raise PreconditionFailed("If-None-Match matches the existing document.")


def _ensure_can_write(credential: CredentialInfo) -> None:
    if not credential.can_write:
        raise Forbidden("This credential may not write documents (scope 'write').")


def _ensure_can_read(credential: CredentialInfo) -> None:
    if not credential.can_read:
        raise Forbidden("This credential may not read documents (scope 'read-mine' or 'read-all').")


def _equals(column, value):
    return column.is_(None) if value is None else column == value


def _find(institution_id: int, address: DocumentAddress, *, lock: bool = False):
    query = select(XapiDocument).where(
        XapiDocument.institution_id == institution_id,
        XapiDocument.document_hash == address.document_hash,
        XapiDocument.kind == address.kind,
        _equals(XapiDocument.activity_id, address.activity_id),
        _equals(XapiDocument.agent_key, address.agent_key),
        _equals(XapiDocument.registration, address.registration),
        XapiDocument.document_id == address.document_id,
    )
    if lock:
        # Concurrent POSTs to one document each merge onto the other's result.
        query = query.with_for_update()
    return db.session.scalars(query).first()


def _parse_json(content: bytes) -> object:
    try:
        return json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request("body", "an application/json document must be UTF-8") from None
    except RecursionError:
        raise bad_request("body", "the document is nested too deeply to read") from None
    except ValueError as exc:
        raise bad_request(
            "body", f"the document is not valid JSON ({exc.msg} at {exc.pos})"
        ) from None


def _is_json(content_type: str) -> bool:
    return media_type(content_type) == JSON_TYPE


# What a write decides from the current row: the new (content type, content).
Decision = Callable[[XapiDocument | None], tuple[str, bytes]]


def _write(credential: CredentialInfo, address: DocumentAddress, decide: Decision) -> None:
    _ensure_can_write(credential)
    for attempt in range(2):
        try:
            row = _find(credential.institution_id, address, lock=True)
            _ensure_own(credential, row)
            content_type, content = decide(row)
        except Exception:
            db.session.rollback()  # releases the row lock
            raise
        now = utcnow()
        if row is None:
            row = XapiDocument(
                institution_id=credential.institution_id,
                kind=address.kind,
                activity_id=address.activity_id,
                agent_key=address.agent_key,
                registration=address.registration,
                document_id=address.document_id,
                context_hash=address.context_hash,
                document_hash=address.document_hash,
            )
            db.session.add(row)
        row.content_type = content_type
        row.content = content
        row.etag = etag_of(content)
        row.updated = now
        row.credential_id = credential.id
        try:
            db.session.commit()
            return
        except IntegrityError:
            # Another request created the document between our read and insert:
            # decide again against what it stored (a second race is reported).
            db.session.rollback()
            if attempt:
                raise Conflict("The document changed while it was being written.") from None


def put_document(
    credential: CredentialInfo,
    address: DocumentAddress,
    content_type: str,
    content: bytes,
    preconditions: Preconditions,
    *,
    version: str,
) -> None:
    """Store (replace) one document (Communication 2.2 PUT; 3.1 concurrency)."""
    if _is_json(content_type):
        _parse_json(content)

    def decide(row: XapiDocument | None) -> tuple[str, bytes]:
        _check_preconditions(row, preconditions)
        if not preconditions.given and _needs_precondition(address.kind, version):
            if row is not None:
                raise Conflict(
                    "The document exists: send If-Match with its ETag to replace it "
                    "(or If-None-Match: * to create only when it is absent)."
                )
            if not is_xapi_2(version):
                # The 1.0.3 conformance suite (XAPI-00273) wants a profile PUT without
                # either header refused even when nothing would be overwritten.
                raise bad_request(
                    "If-Match", "a PUT to a profile needs an If-Match or If-None-Match header"
                )
        return content_type, content

    _write(credential, address, decide)


def _needs_precondition(kind: str, version: str) -> bool:
    # 1.0.3 Communication 3.1 asks for ETags on the two profile resources only;
    # 2.0 (4.1.4) extends the 409 rule to the State resource.
    return kind != STATE or is_xapi_2(version)


def post_document(
    credential: CredentialInfo,
    address: DocumentAddress,
    content_type: str,
    content: bytes,
    preconditions: Preconditions,
) -> None:
    """Store a new document, or merge a JSON object into an existing JSON object
    document, top-level properties of the new one winning (Communication 2.2.s7/s8)."""
    posted = _parse_json(content) if _is_json(content_type) else None

    def decide(row: XapiDocument | None) -> tuple[str, bytes]:
        _check_preconditions(row, preconditions)
        if row is None:
            return content_type, content
        if not _is_json(content_type) or not _is_json(row.content_type):
            raise bad_request(
                "Content-Type",
                "a POST onto an existing document merges JSON objects: both the stored and "
                "the posted document must be application/json",
            )
        stored = _parse_json(row.content)
        if not isinstance(stored, dict) or not isinstance(posted, dict):
            raise bad_request("body", "a merge needs both documents to be JSON objects")
        merged = {**stored, **posted}
        body = json.dumps(merged, ensure_ascii=False, separators=(",", ":"))
        return JSON_TYPE, body.encode("utf-8")

    _write(credential, address, decide)


def get_document(credential: CredentialInfo, address: DocumentAddress) -> StoredDocument:
    """One document by its id (Communication 2.3.s3, 2.6.s3, 2.7.s3); 404 when absent."""
    _ensure_can_read(credential)
    row = _find(credential.institution_id, address)
    if row is None or not _readable(credential, row.credential_id):
        raise NotFound(f"No document with id {address.document_id!r} here.")
    return StoredDocument(row.content, row.content_type, row.etag, row.updated)


def _readable(credential: CredentialInfo, writer_id: int | None) -> bool:
    return credential.can_read_all or writer_id == credential.id


def _ensure_own(credential: CredentialInfo, row: XapiDocument | None) -> None:
    # A read-mine credential must not learn another's document through a merge, an
    # ETag check or a delete, so it may change only what it may read.
    restricted = credential.can_read and not credential.can_read_all
    if row is not None and restricted and row.credential_id != credential.id:
        raise Forbidden(
            "This document was written by another credential; with scope 'read-mine' "
            "a credential may read and change only its own documents."
        )


def _context_filter(institution_id: int, address: DocumentAddress) -> list:
    conditions = [
        XapiDocument.institution_id == institution_id,
        XapiDocument.context_hash == address.context_hash,
        XapiDocument.kind == address.kind,
    ]
    if address.activity_id is not None:
        conditions.append(XapiDocument.activity_id == address.activity_id)
    if address.agent_key is not None:
        conditions.append(XapiDocument.agent_key == address.agent_key)
    # Communication 2.3.s4/s5: the context is activity + agent [+ registration if given].
    if address.registration is not None:
        conditions.append(XapiDocument.registration == address.registration)
    return conditions


def list_documents(
    credential: CredentialInfo, address: DocumentAddress, since: datetime | None
) -> DocumentIds:
    """Ids of the context's documents changed after ``since`` (exclusive), oldest first."""
    _ensure_can_read(credential)
    query = (
        select(XapiDocument.document_id, XapiDocument.updated)
        .where(*_context_filter(credential.institution_id, address))
        .order_by(XapiDocument.updated, XapiDocument.id)
    )
    if since is not None:
        query = query.where(XapiDocument.updated > since)
    if not credential.can_read_all:
        query = query.where(XapiDocument.credential_id == credential.id)
    rows = db.session.execute(query).all()
    # The same id may exist under several registrations: list it once.
    ids = list(dict.fromkeys(document_id for document_id, _ in rows))
    return DocumentIds(ids, rows[-1].updated if rows else None)


def delete_document(
    credential: CredentialInfo, address: DocumentAddress, preconditions: Preconditions
) -> None:
    """Delete one document; deleting an absent one is not an error (204 either way)."""
    _ensure_can_write(credential)
    try:
        row = _find(credential.institution_id, address, lock=True)
        _ensure_own(credential, row)
        _check_preconditions(row, preconditions)
    except Exception:
        db.session.rollback()
        raise
    if row is not None:
        db.session.delete(row)
    db.session.commit()


def delete_documents(credential: CredentialInfo, address: DocumentAddress) -> int:
    """Delete every State document of the context (Communication 2.3.s5); how many."""
    _ensure_can_write(credential)
    query = delete(XapiDocument).where(*_context_filter(credential.institution_id, address))
    if not credential.can_read_all:
        query = query.where(XapiDocument.credential_id == credential.id)
    result = db.session.execute(query)
    db.session.commit()
    return result.rowcount or 0
