"""Cache keys of the engagement feature, in one place (with their invalidator)."""

from __future__ import annotations

# The shape of a cached class view's rows. Bump it when they change (2: flagged_since),
# so that a view cached by the previous release is never read by this one.
VIEW_FORMAT = 2


def course_view(course_id: int) -> str:
    """The computed class view (every student's index, risk and reasons)."""
    return f"engagement:course:{course_id}:view:v{VIEW_FORMAT}"


def course_view_stamp(course_id: int) -> str:
    """A token naming the course's data since its last change: every change deletes it,
    and a view is used (from Redis or a process's parsed copy) only under its token."""
    return f"engagement:course:{course_id}:stamp"


def course_reference(course_id: int) -> str:
    """Course medians and factors with signal, for scoring one student alone."""
    return f"engagement:course:{course_id}:reference"


def recompute_pending(course_id: int) -> str:
    """Set while a recompute of the course waits in the queue (debounces bursts)."""
    return f"engagement:course:{course_id}:recompute-pending"


def clear_course_engagement(course_id: int) -> None:
    """Forget every cached figure of a course (the next read recomputes from the database)."""
    from masteryai_lti.extensions import cache

    cache.delete(
        course_view(course_id),
        course_view_stamp(course_id),
        course_reference(course_id),
        recompute_pending(course_id),
    )
