"""What a change makes stale, and when it is dropped.

Recording events or due dates notes the touched courses in the transaction; their
cached views (and, when what is due changed, their references) are dropped once it
commits, and with a worker queue a rebuild is enqueued. A roster change drops them at
once.
"""

from __future__ import annotations

from masteryai_lti.core.transactions import OnCommit
from masteryai_lti.courses.service import roster_changed
from masteryai_lti.engagement import keys
from masteryai_lti.engagement.service.recompute import recompute_course_job
from masteryai_lti.extensions import cache, db, jobs


def _after_commit_invalidate(course_ids: set[int], *, reference: bool = False) -> None:
    """Invalidate these courses' cached views when the current transaction commits;
    with ``reference``, their cached reference too (what is due changed).

    Invalidating earlier would let a concurrent read cache a view without the
    new rows; a rolled-back transaction invalidates nothing.
    """
    if reference:
        _stale_references.add(db.session, course_ids)
    _stale_views.add(db.session, course_ids)


def _drop_references(course_ids: set[int]) -> None:
    cache.delete(*(keys.course_reference(course_id) for course_id in course_ids))


def _drop_views(course_ids: set[int]) -> None:
    for course_id in course_ids:
        _course_changed(course_id)


# References first: a view rebuilt after its drop stores a fresh reference with it.
_stale_references = OnCommit("engagement-references", _drop_references)


_stale_views = OnCommit("engagement-views", _drop_views)


@roster_changed.connect
def _roster_changed(course_id: int) -> None:
    """Someone joined or left the course: the class view and its medians are stale
    (a student synced from the LMS must show, and be flagged, before any activity)."""
    _drop_references({course_id})
    _drop_views({course_id})


def _course_changed(course_id: int) -> None:
    cache.delete(keys.course_view_stamp(course_id), keys.course_view(course_id))
    if not jobs.inline and cache.set_if_absent(keys.recompute_pending(course_id), 1, ttl=5):
        # A worker rebuilds the view within seconds; a burst of events enqueues once.
        jobs.enqueue(recompute_course_job, course_id)
