"""Bringing statements in from elsewhere: JSON files (``flask xapi import``) and other
LRSs that cannot forward (``flask xapi pull``, following ``more`` links).

Both are resumable: progress is saved in ``XapiPullState`` after each stored batch, and
re-storing a statement already stored is a no-op (same id, same content), so an
interrupted run simply starts again where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

from sqlalchemy import select

from masteryai_lti.core.errors import ApiError
from masteryai_lti.extensions import db
from masteryai_lti.xapi import json_input, service
from masteryai_lti.xapi.credentials import CredentialInfo
from masteryai_lti.xapi.models import XapiCredential, XapiPullState
from masteryai_lti.xapi.multipart import MultipartError, media_type, parse_multipart
from masteryai_lti.xapi.validation import validate_statement

BATCH = 500
IMPORT_CREDENTIAL_NAME = "flask xapi import"


@dataclass
class Rejected:
    """A line (file) or position (pull) that was not stored, and why."""

    where: str
    reason: str


@dataclass
class TransferReport:
    """What a run did."""

    stored: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    skipped: int = 0


# The operator's tools act with the institution's full authority: an imported voiding
# statement may void a statement another credential wrote. Their secret is never shown,
# so nobody can use these scopes over HTTP.
SYSTEM_SCOPES = ["write", "read-all"]


def system_credential(institution_id: int, name: str = IMPORT_CREDENTIAL_NAME) -> CredentialInfo:
    """The credential standing as ``authority`` for imported statements."""
    from masteryai_lti.xapi.credentials import issue_credential

    row = db.session.scalar(
        select(XapiCredential).where(
            XapiCredential.institution_id == institution_id,
            XapiCredential.name == name,
            XapiCredential.revoked_at.is_(None),
        )
    )
    if row is None:
        issued = issue_credential(institution_id, name, SYSTEM_SCOPES)
        row = db.session.get(XapiCredential, issued.id)
    elif set(row.scopes) != set(SYSTEM_SCOPES):
        # Made before voiding needed read scope (write only then).
        row.scopes = list(SYSTEM_SCOPES)
        db.session.commit()
    return CredentialInfo(row.id, row.institution_id, row.name, row.key, tuple(row.scopes))


def _state(institution_id: int, source: str) -> XapiPullState:
    state = db.session.scalar(
        select(XapiPullState).where(
            XapiPullState.institution_id == institution_id, XapiPullState.source == source
        )
    )
    if state is None:
        state = XapiPullState(institution_id=institution_id, source=source, pulled=0)
        db.session.add(state)
        db.session.commit()
    return state


def _own_parts(statements: list, attachments: service.Attachments) -> service.Attachments:
    """The parts of ``attachments`` that these statements' attachments name: a request
    may carry no part that none of its statements uses (Communication 1.5.2)."""
    wanted = {
        str(attachment.get("sha2", "")).lower()
        for statement in statements
        if isinstance(statement, dict)
        for attachment in statement.get("attachments") or []
        if isinstance(attachment, dict)
    }
    return service.Attachments(
        parts={sha2: part for sha2, part in attachments.parts.items() if sha2 in wanted},
        multipart=attachments.multipart,
    )


def store_batch(
    credential: CredentialInfo,
    items: list[tuple[str, object]],
    *,
    version: str,
    home_page: str,
    report: TransferReport,
    attachments: service.Attachments | None = None,
) -> None:
    """Store (where, statement) pairs: invalid ones are rejected one by one, the rest as a
    batch; a batch refused as a whole (an id conflict) is retried statement by statement.

    ``attachments`` holds the parts a multipart source sent with the statements; each
    store gets the parts of its own statements.
    """
    attachments = attachments or service.Attachments()
    valid: list[tuple[str, object]] = []
    for where, statement in items:
        problems = validate_statement(statement, version)
        if problems:
            first = problems[0]
            report.rejected.append(Rejected(where, f"{first.path or '(statement)'}: {first.rule}"))
        else:
            valid.append((where, statement))
    if not valid:
        return
    batch = [s for _, s in valid]
    try:
        service.store_statements(
            credential,
            batch,
            version=version,
            home_page=home_page,
            attachments=_own_parts(batch, attachments),
        )
        report.stored += len(valid)
        return
    except ApiError:
        pass
    for where, statement in valid:
        try:
            service.store_statements(
                credential,
                statement,
                version=version,
                home_page=home_page,
                attachments=_own_parts([statement], attachments),
            )
            report.stored += 1
        except ApiError as exc:
            report.rejected.append(Rejected(where, f"{exc.status} {exc.detail or exc.title}"))


def read_statement_file(path: str) -> Iterator[tuple[int, object | None, str | None]]:
    """Yield (line or position number, statement, parse error) from JSON lines or a JSON array."""
    with open(path, encoding="utf-8") as handle:
        head = handle.read(1)
        while head and head.isspace():
            head = handle.read(1)
        handle.seek(0)
        if head == "[":
            try:
                items = json_input.loads(handle.read())
            except json_input.JsonInputError as exc:
                yield 0, None, f"the file is not a JSON array that can be stored: {exc}"
                return
            for position, item in enumerate(items, start=1):
                yield position, item, None
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json_input.loads(line, root=""), None
            except json_input.JsonInputError as exc:
                where = "" if exc.path == "body" else f"{exc.path}: "
                yield number, None, where + exc.message


def import_file(
    institution_id: int,
    path: str,
    *,
    version: str = "1.0.3",
    home_page: str = "urn:masteryai:import",
    restart: bool = False,
    progress: Callable[[int], None] | None = None,
) -> TransferReport:
    """Import a file of statements; resumes after the last fully stored batch."""
    import os

    source = "file:" + os.path.abspath(path)
    state = _state(institution_id, source)
    if restart:
        state.pulled = 0
        db.session.commit()
    done_until = state.pulled
    credential = system_credential(institution_id)
    report = TransferReport()
    batch: list[tuple[str, object]] = []
    last = done_until

    def flush() -> None:
        nonlocal batch
        if batch:
            store_batch(credential, batch, version=version, home_page=home_page, report=report)
            batch = []
        state.pulled = last
        db.session.commit()

    for number, statement, error in read_statement_file(path):
        if progress:
            progress(1)
        if number <= done_until and number:
            report.skipped += 1
            continue
        last = number
        if error:
            report.rejected.append(Rejected(f"line {number}", error))
            continue
        batch.append((f"line {number}", statement))
        if len(batch) >= BATCH:
            flush()
    flush()
    return report


def _statement_result(url: str, response) -> tuple[dict, service.Attachments]:
    """The StatementResult of a GET and the attachment parts sent with it.

    With ``attachments=true`` the answer is multipart/mixed: the StatementResult first,
    then one part per attachment, named by its SHA-2 hash (Communication 1.5.2). Parts
    whose bytes do not match their hash are dropped; the statements needing them are
    then rejected, with the reason, when stored.
    """
    content_type = response.headers.get("Content-Type", "") or ""
    attachments = service.Attachments(multipart=True)
    if media_type(content_type) != "multipart/mixed":
        body = response.content
    else:
        try:
            parts = parse_multipart(response.content, content_type)
        except MultipartError as exc:
            raise RuntimeError(f"GET {url} sent a malformed multipart body: {exc}") from None
        body = parts[0].body
        for part in parts[1:]:
            sha2 = part.headers.get("x-experience-api-hash", "").strip().lower()
            if sha2 and service.matches_sha2(part.body, sha2):
                attachments.parts[sha2] = (
                    part.headers.get("content-type", "application/octet-stream"),
                    part.body,
                )
    try:
        result = json_input.loads(body, root="")
    except json_input.JsonInputError as exc:
        raise RuntimeError(f"GET {url} sent no StatementResult we can store: {exc}") from None
    if not isinstance(result, dict):
        raise RuntimeError(f"GET {url} sent no StatementResult (not a JSON object)")
    return result, attachments


def pull(
    institution_id: int,
    base_url: str,
    auth: tuple[str, str],
    *,
    since: str | None = None,
    version: str = "1.0.3",
    session=None,
    page_size: int = BATCH,
    max_pages: int | None = None,
) -> TransferReport:
    """Pull statements from another LRS's Statement resource, following ``more`` links.

    Resumes from the saved ``more`` link, or from the newest ``stored`` seen, when a
    previous run stopped.
    """
    import requests

    http = session or requests.Session()
    statements_url = base_url.rstrip("/")
    if not statements_url.endswith("/statements"):
        statements_url += "/statements"
    state = _state(institution_id, "lrs:" + statements_url)
    credential = system_credential(institution_id, f"pull {statements_url}"[:200])
    report = TransferReport()
    if state.next_url:
        url = state.next_url
    else:
        # Communication 2.1.3, attachments: an LRS pulling statements MUST ask for their
        # attachments, or it cannot store any statement whose parts are not elsewhere.
        params = {"ascending": "true", "limit": str(page_size), "attachments": "true"}
        start = state.last_stored or since
        if start:
            params["since"] = start
        url = statements_url + "?" + urlencode(params)
    pages = 0
    while url:
        response = http.get(
            url,
            auth=auth,
            headers={
                "X-Experience-API-Version": version,
                "Accept": "multipart/mixed, application/json",
            },
            timeout=60,
        )
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        result, attachments = _statement_result(url, response)
        statements = result.get("statements") or []
        items = [(f"{statement.get('id', '?')}", statement) for statement in statements]
        for _, statement in items:
            # Our own LRS sets these; keep the remote values out of validation's way.
            for owned in ("stored", "authority"):
                statement.pop(owned, None)
        store_batch(
            credential,
            items,
            version=version,
            home_page=statements_url,
            report=report,
            attachments=attachments,
        )
        stored_values = [s.get("stored") for s in statements if s.get("stored")]
        more = result.get("more") or ""
        url = urljoin(url, more) if more else None
        state.next_url = url
        if statements:
            state.last_stored = max(stored_values) if stored_values else state.last_stored
        state.pulled += len(statements)
        db.session.commit()
        pages += 1
        if max_pages is not None and pages >= max_pages:
            break
    return report
