"""Evidence of a group's work: files, links and notes, optionally for one criterion."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from masteryai_lti.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor
from masteryai_lti.extensions import db
from masteryai_lti.pbl.models import EVIDENCE_KINDS, Evidence, EvidenceFile
from masteryai_lti.pbl.service import access
from masteryai_lti.pbl.service.activity import note_handed_in, note_project_work

URL_MAX_LENGTH = 2048
NOTE_MAX_LENGTH = 20000
# A media type as RFC 6838 section 4.2 names them: type "/" subtype, restricted names.
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)


@dataclass(frozen=True)
class EvidenceUpload:
    """A file as uploaded: the name the student's device gave it, its type and bytes."""

    filename: str
    content_type: str
    content: bytes


def max_file_bytes() -> int:
    """The largest file evidence accepted (``PBL_EVIDENCE_MAX_BYTES``)."""
    return int(current_app.config["PBL_EVIDENCE_MAX_BYTES"])


def _display_filename(name: str) -> str:
    # Keep the student's own name (accents and all) but no path or control characters.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return (cleaned or "file")[:255]


def _stored_content_type(declared: str) -> str:
    # The type is whatever the student's browser declared; anything that is not a media
    # type (a NUL, which PostgreSQL text cannot hold, markup, a path) is kept as bytes.
    if declared and _MEDIA_TYPE.fullmatch(declared):
        return declared
    return "application/octet-stream"


def _checked(kind: str, url: str | None, note: str | None, upload: EvidenceUpload | None) -> None:
    errors = []
    if kind not in EVIDENCE_KINDS:
        errors.append(field_error("kind", f"One of {', '.join(EVIDENCE_KINDS)}."))
    elif kind == "link":
        parts = urlsplit(url or "")
        if not url:
            errors.append(field_error("url", "A link needs its address."))
        elif len(url) > URL_MAX_LENGTH:
            errors.append(field_error("url", f"At most {URL_MAX_LENGTH} characters."))
        elif parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(field_error("url", "An http(s) address, such as https://example.org/."))
    elif kind == "note":
        if not (note or "").strip():
            errors.append(field_error("note", "A note needs some text."))
        elif len(note) > NOTE_MAX_LENGTH:
            errors.append(field_error("note", f"At most {NOTE_MAX_LENGTH} characters."))
    elif kind == "file":
        if upload is None:
            errors.append(field_error("file", "Attach the file.", "form"))
        elif not upload.content:
            errors.append(field_error("file", "The file is empty.", "form"))
        elif len(upload.content) > max_file_bytes():
            limit = max_file_bytes() / (1024 * 1024)
            errors.append(
                field_error("file", f"At most {limit:g} MiB; share larger work as a link.", "form")
            )
    if errors:
        raise ValidationFailed("The evidence is not complete.", errors=errors)


def add_evidence(
    actor: Actor,
    course_id: int,
    project_id: int,
    *,
    kind: str,
    title: str,
    url: str | None = None,
    note: str | None = None,
    criterion_key: str | None = None,
    upload: EvidenceUpload | None = None,
    group_id: int | None = None,
) -> Evidence:
    """Add evidence to a group: a student to their own while the project is open, a
    teacher to any group (``group_id``) at any time."""
    reach = access.in_project(actor, course_id, project_id)
    course, project, teaching = reach.course, reach.project, reach.teaches
    # Files come in a form, links and notes in a JSON body: problems say which.
    location = "form" if kind == "file" else "json"
    if teaching:
        if group_id is None:
            raise ValidationFailed(
                "Say which group the evidence is for.",
                errors=[field_error("group_id", "Required for a teacher.", location)],
            )
        group = access.group(project, group_id)
    else:
        group = access.group_of_student(project.id, actor.user_id)
        if group is None:
            raise Forbidden("You are not in a group of this project yet; ask your teacher.")
        if group_id is not None and group_id != group.id:
            raise NotFound("No such group in this project.")
        if project.status != "open":
            raise Conflict("This project is closed: no more evidence can be added.")
    _checked(kind, url, note, upload)
    if criterion_key is not None and access.rubric_of(project).criterion(criterion_key) is None:
        raise ValidationFailed(
            "No such criterion in the project's rubric.",
            errors=[
                field_error("criterion_key", "Not a criterion of this project's rubric.", location)
            ],
        )
    row = Evidence(
        institution_id=project.institution_id,
        project_id=project.id,
        group_id=group.id,
        author_id=actor.user_id,
        kind=kind,
        title=title,
        url=url if kind == "link" else None,
        note=note if kind == "note" else None,
        criterion_key=criterion_key,
    )
    if kind == "file":
        row.filename = _display_filename(upload.filename)
        row.content_type = _stored_content_type(upload.content_type)
        row.size_bytes = len(upload.content)
        row.sha256 = hashlib.sha256(upload.content).hexdigest()
    db.session.add(row)
    db.session.flush()
    if kind == "file":
        db.session.add(EvidenceFile(evidence_id=row.id, content=upload.content))
    # One transaction with its engagement events: a failure between two commits would
    # keep the evidence while telling the client nothing was stored (it would add it again).
    note_handed_in(course, project, access.member_ids(group.id))
    if not teaching:
        note_project_work(course.institution_id, course.id, actor.user_id, f"evidence:{row.id}")
    db.session.commit()
    return row


def list_evidence(
    actor: Actor, course_id: int, project_id: int, group_id: int | None = None
) -> list[Evidence]:
    """Evidence of the project, newest first: a student's own group's; a teacher's all
    or one group's."""
    reach = access.in_project(actor, course_id, project_id)
    project = reach.project
    query = select(Evidence).where(Evidence.project_id == project.id)
    if reach.teaches:
        if group_id is not None:
            query = query.where(Evidence.group_id == access.group(project, group_id).id)
    else:
        group = access.group_of_student(project.id, actor.user_id)
        if group is None or (group_id is not None and group_id != group.id):
            return []
        query = query.where(Evidence.group_id == group.id)
    return list(db.session.scalars(query.order_by(Evidence.id.desc())))


def _visible_evidence(actor: Actor, course_id: int, project_id: int, evidence_id: int):
    reach = access.in_project(actor, course_id, project_id)
    project, teaching = reach.project, reach.teaches
    row = db.session.get(Evidence, evidence_id)
    if row is None or row.project_id != project.id:
        raise NotFound("No such evidence in this project.")
    if not teaching and actor.user_id not in access.member_ids(row.group_id):
        raise NotFound("No such evidence in this project.")
    return project, row, teaching


def evidence_file(
    actor: Actor, course_id: int, project_id: int, evidence_id: int
) -> tuple[Evidence, bytes]:
    """A file evidence and its bytes, for its group and the course's teachers."""
    _, row, _ = _visible_evidence(actor, course_id, project_id, evidence_id)
    if row.kind != "file":
        raise NotFound("This evidence is not a file.")
    content = db.session.scalar(
        select(EvidenceFile.content).where(EvidenceFile.evidence_id == row.id)
    )
    return row, bytes(content or b"")


def delete_evidence(actor: Actor, course_id: int, project_id: int, evidence_id: int) -> None:
    """Remove evidence: its author while the project is open, or a teacher."""
    project, row, teaching = _visible_evidence(actor, course_id, project_id, evidence_id)
    if not teaching:
        if row.author_id != actor.user_id:
            raise Forbidden("Only whoever added it, or a teacher, may remove evidence.")
        if project.status != "open":
            raise Conflict("This project is closed: its evidence stays as it was handed in.")
    db.session.delete(row)
    db.session.commit()
