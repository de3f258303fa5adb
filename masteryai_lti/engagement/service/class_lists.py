"""The teacher's lists of a course: the class table and the at-risk list.

Both are read from the cached course view; students' names are read at request time,
never cached, as the LMS may change them.
"""

from __future__ import annotations

from masteryai_lti.core.errors import ValidationFailed, field_error
from masteryai_lti.core.policy import Actor, ensure_can_teach, visible_course
from masteryai_lti.courses.models import Course
from masteryai_lti.courses.service import full_names
from masteryai_lti.engagement.service.course_views import course_view
from masteryai_lti.engagement.service.scoring_parameters import course_zone
from masteryai_lti.extensions import db

SORT_KEYS = {"score", "risk", "student_id", "days_since_active", "name"}


_ROW_FIELDS = ("student_id", "score", "band", "trend", "risk")


TABLE_FIELDS = (*_ROW_FIELDS, "flagged", "no_activity", "days_since_active")


AT_RISK_FIELDS = (*_ROW_FIELDS, "flagged_since", "no_activity", "days_since_active", "reasons")


def class_table(
    actor: Actor,
    course_id: int,
    *,
    sort: str = "score",
    band: str | None = None,
    at_risk: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict:
    """The class engagement table for a teacher: sorted, filtered, paginated."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    view = course_view(course_id)
    rows = view["students"]
    if band:
        rows = [r for r in rows if r["band"] == band]
    if at_risk is not None:
        rows = [r for r in rows if r["flagged"] == at_risk]
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise ValidationFailed(
            "Bad sort key.", errors=[field_error("sort", f"one of {sorted(SORT_KEYS)}", "query")]
        )

    if key == "name":
        # Names are the LMS's and may change: read them now, never from the cached view.
        names = full_names([r["student_id"] for r in rows])
        rows = sorted(
            rows,
            key=lambda r: (names.get(r["student_id"], "").casefold(), r["student_id"]),
            reverse=descending,
        )
    else:

        def sort_key(r):
            value = r[key]
            return (value is None, value if value is not None else 0, r["student_id"])

        rows = sorted(rows, key=sort_key, reverse=descending)
    total = len(rows)
    start = (page - 1) * per_page
    items = _named_rows(rows[start : start + per_page], TABLE_FIELDS)
    return {
        "course_id": course_id,
        "as_of": view["as_of"],
        # The zone the days are counted in: a teacher reading "as of" and "3 active days"
        # sees whose days they are (an admin may not have set the school's yet).
        "time_zone": course_zone(course_id).key,
        "weights": view["weights"],
        "medians": view["medians"],
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": items,
    }


def at_risk_list(actor: Actor, course_id: int) -> list[dict]:
    """Flagged students with their reasons, most at risk first."""
    course = visible_course(actor, db.session.get(Course, course_id))
    ensure_can_teach(actor, course)
    rows = [r for r in course_view(course_id)["students"] if r["flagged"]]
    rows.sort(key=lambda r: (-r["risk"], r["student_id"]))
    return _named_rows(rows, AT_RISK_FIELDS)


def _named_rows(rows: list[dict], fields: tuple[str, ...]) -> list[dict]:
    """These fields of each cached row, with the student's display name (teachers know
    students by name, not by id; names are read now, as the LMS may change them)."""
    named = [{k: r[k] for k in fields} for r in rows]
    names = full_names([r["student_id"] for r in named])
    for r in named:
        r["full_name"] = names.get(r["student_id"], "")
    return named
