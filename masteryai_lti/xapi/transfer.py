"""Bringing statements in from elsewhere: JSON files (``flask xapi import``) and other
LRSs that cannot forward (``flask xapi pull``, following ``more`` links).

Both are resumable: progress is saved in ``XapiPullState`` after each stored batch, and
re-storing a statement already stored is a no-op (same id, same content), so an
interrupted run simply starts again where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

from sqlalchemy import select

from masteryai_lti.core.errors import ApiError
from masteryai_lti.extensions import db
from masteryai_lti.xapi import service
from masteryai_lti.xapi.credentials import CredentialInfo
from masteryai_lti.xapi.models import XapiCredential, XapiPullState
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


def system_credential(institution_id: int, name: str = IMPORT_CREDENTIAL_NAME) -> CredentialInfo:
    """A write credential standing as ``authority`` for imported statements."""
    from masteryai_lti.xapi.credentials import issue_credential

    row = db.session.scalar(
        select(XapiCredential).where(
            XapiCredential.institution_id == institution_id,
            XapiCredential.name == name,
            XapiCredential.revoked_at.is_(None),
        )
    )
    if row is None:
        issued = issue_credential(institution_id, name, ["write"])
        row = db.session.get(XapiCredential, issued.id)
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


def store_batch(
    credential: CredentialInfo,
    items: list[tuple[str, object]],
    *,
    version: str,
    home_page: str,
    report: TransferReport,
) -> None:
    """Store (where, statement) pairs: invalid ones are rejected one by one, the rest as a
    batch; a batch refused as a whole (an id conflict) is retried statement by statement."""
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
    try:
        service.store_statements(
            credential, [s for _, s in valid], version=version, home_page=home_page
        )
        report.stored += len(valid)
        return
    except ApiError:
        pass
    for where, statement in valid:
        try:
            service.store_statements(credential, statement, version=version, home_page=home_page)
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
                items = json.load(handle)
            except ValueError as exc:
                yield 0, None, f"the file is not a valid JSON array: {exc}"
                return
            for position, item in enumerate(items, start=1):
                yield position, item, None
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), None
            except ValueError as exc:
                yield number, None, f"not valid JSON ({exc.msg})"


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
        params = {"ascending": "true", "limit": str(page_size)}
        start = state.last_stored or since
        if start:
            params["since"] = start
        url = statements_url + "?" + urlencode(params)
    pages = 0
    while url:
        response = http.get(
            url,
            auth=auth,
            headers={"X-Experience-API-Version": version, "Accept": "application/json"},
            timeout=60,
        )
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        result = response.json()
        statements = result.get("statements") or []
        items = [(f"{statement.get('id', '?')}", statement) for statement in statements]
        for _, statement in items:
            # Our own LRS sets these; keep the remote values out of validation's way.
            for owned in ("stored", "authority"):
                statement.pop(owned, None)
        store_batch(credential, items, version=version, home_page=statements_url, report=report)
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
