"""Graded items of a course: the assignments and graded quizzes, and when each is due.

Submission and timeliness (35 of the index's 100 default points) need to know what
was due when. Events rarely say: an xAPI statement or a finished activity names the
object, not its deadline. So a course declares its graded items — the LMS does at
launch (an assignment link's ``ResourceLink.submission.endDateTime``, asked for as
the custom parameter ``due_at``), a teacher through the API — and every event about
such an object takes the item's due date, those already stored included. An item
nobody has handed in yet is missing work for everyone.

A teacher's declaration wins over the LMS's: a launch updates only items the LMS
declared.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from masteryai_lti.core.clock import utcnow
from masteryai_lti.core.errors import NotFound, ValidationFailed, field_error
from masteryai_lti.core.policy import Actor, ensure_can_teach, visible_course
from masteryai_lti.courses.models import Course
from masteryai_lti.engagement.models import GradedItem
from masteryai_lti.engagement.service import set_due_date
from masteryai_lti.extensions import db

TEACHER = "teacher"
LMS = "lti"


def list_graded_items(actor: Actor, course_id: int) -> list[dict]:
    """The course's graded items, soonest due first (its members may read them)."""
    visible_course(actor, db.session.get(Course, course_id))
    items = db.session.scalars(
        select(GradedItem)
        .where(GradedItem.course_id == course_id)
        .order_by(GradedItem.due_at, GradedItem.id)
    )
    return [_as_dict(item) for item in items]


def declare_graded_items(actor: Actor, course_id: int, items: list[dict]) -> list[dict]:
    """Create or update items ``{object_id, kind, due_at, title?}``; all or nothing.

    Returns the declared items. Two entries for one object and kind are a 422.
    """
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    first: dict[tuple[str, str], int] = {}
    errors = []
    due: list[datetime] = []
    for n, item in enumerate(items):
        key = (item["object_id"], item["kind"])
        if key in first:
            errors.append(
                field_error(f"items[{n}].object_id", f"repeats items[{first[key]}] (same kind)")
            )
        first.setdefault(key, n)
        try:
            due.append(_utc(item["due_at"]))
        except OverflowError:
            errors.append(field_error(f"items[{n}].due_at", "falls outside years 1-9999 in UTC"))
    if errors:
        raise ValidationFailed("Some graded items are invalid; see errors.", errors=errors)
    declared = [
        declare_item(
            course, item["object_id"], item["kind"], due_at, item.get("title") or "", TEACHER
        )
        for item, due_at in zip(items, due, strict=True)
    ]
    db.session.commit()
    return [_as_dict(item) for item in declared]


def remove_graded_item(actor: Actor, course_id: int, item_id: int) -> None:
    """Forget an item: its events stop being graded work (they stay as activity)."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    item = db.session.get(GradedItem, item_id)
    if item is None or item.course_id != course_id:
        raise NotFound("No such graded item in this course.")
    set_due_date(course_id, item.object_id, item.kind, None)
    db.session.delete(item)
    db.session.commit()


def declare_from_lms(course: Course, object_id: str, due: str | None, title: str) -> bool:
    """An LMS launch told an assignment's due date: keep it; returns whether it changed.

    ``due`` is the raw custom parameter. No date now — empty, null, or the variable
    left unreplaced, which is what Canvas sends for an assignment without a due date —
    withdraws a date this LMS declared before (the teacher removed it there). The
    unreplaced variable is also what a platform that never substitutes sends; it has
    declared nothing, so there is nothing to withdraw. Anything else that is not ISO
    8601 changes nothing. Joins the caller's transaction.
    """
    existing = _submission_item(course, object_id)
    value = (due or "").strip()
    if not value or value.startswith("$"):
        return _withdraw(course, existing, LMS)
    try:
        due_at = _utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):  # not ISO 8601, or past year 9999 once in UTC
        return False
    if existing is not None and (existing.source == TEACHER or existing.due_at == due_at):
        return False
    return declare_item(course, object_id, "submission", due_at, title, LMS) is not None


def keep_feature_item(
    course: Course, object_id: str, due_at: datetime | None, title: str, source: str
) -> None:
    """Another feature's graded work (a project) is due at ``due_at``; None withdraws
    the item that feature declared. Joins the caller's transaction.

    A teacher's own declaration of the same object stays as it is, as against the LMS.
    """
    if due_at is not None:
        declare_item(course, object_id, "submission", _utc(due_at), title, source)
        return
    _withdraw(course, _submission_item(course, object_id), source)


def _submission_item(course: Course, object_id: str) -> GradedItem | None:
    return db.session.scalar(
        select(GradedItem).where(
            GradedItem.course_id == course.id,
            GradedItem.object_id == object_id,
            GradedItem.kind == "submission",
        )
    )


def _withdraw(course: Course, item: GradedItem | None, source: str) -> bool:
    """Withdraw the item's due date and the item, if ``source`` declared it (a date
    another source gave stays); returns whether it did."""
    if item is None or item.source != source:
        return False
    set_due_date(course.id, item.object_id, "submission", None)
    db.session.delete(item)
    return True


def declare_item(
    course: Course, object_id: str, kind: str, due_at: datetime, title: str, source: str
) -> GradedItem | None:
    """Create or update one item and regrade its stored events; joins the caller's
    transaction (the use cases above check who may, and commit).

    One upsert, so students launching the same assignment at once do not collide on
    the unique item; the LMS's upsert leaves a teacher's item alone (then None).
    """
    table = GradedItem.__table__
    make_insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = make_insert(table).values(
        institution_id=course.institution_id,
        course_id=course.id,
        object_id=object_id,
        kind=kind,
        due_at=due_at,
        title=title[:255],
        source=source,
        updated_at=utcnow(),
    )
    changed = ("due_at", "title", "source", "updated_at")
    statement = statement.on_conflict_do_update(
        index_elements=["course_id", "object_id", "kind"],
        set_={c: statement.excluded[c] for c in changed},
        where=table.c.source != TEACHER if source != TEACHER else None,
    ).returning(table.c.id)
    item_id = db.session.execute(statement).scalar()
    if item_id is None:
        return None
    set_due_date(course.id, object_id, kind, due_at)
    return db.session.get(GradedItem, item_id, populate_existing=True)


def _utc(moment: datetime) -> datetime:
    # A due date without a zone is read as UTC, as the LMS's ISO 8601 values are.
    # Raises OverflowError when the instant falls outside years 1-9999 in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _as_dict(item: GradedItem) -> dict:
    return {
        "id": item.id,
        "object_id": item.object_id,
        "kind": item.kind,
        "due_at": _utc(item.due_at),
        "title": item.title,
        "source": item.source,
    }
