"""Project work as engagement signals."""

from __future__ import annotations

from masteryai_lti.core.clock import utcnow
from masteryai_lti.engagement import service as engagement


def note_project_work(institution_id: int, course_id: int, user_id: int, source_id: str) -> None:
    """A student's project work (evidence, a peer rating) counts as interaction in the
    engagement index: it is work done with others. Once per ``source_id``."""
    engagement.record_events(
        institution_id,
        [
            {
                "user_id": user_id,
                "course_id": course_id,
                "kind": "interaction",
                "occurred_at": utcnow(),
                "source": "pbl",
                "source_id": source_id,
            }
        ],
    )
