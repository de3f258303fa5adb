"""Engagement use cases: record signals, compute (cached) course views, attendance, settings.

PostgreSQL is the truth; Redis holds two cache entries per course (see
`keys`): the computed class view (invalidated by every new event) and the
course reference (medians etc., refreshed by each full computation) that
lets one student's index be recomputed alone right after an event.

Other features, the engagement API and CLI call the functions exported here. The
modules hold one use case each, and each imports only modules listed above it:

- ``scoring_parameters``: the day and period scored, the school's time zone days are
  counted in, a course's weights and risk settings, the shipped risk model (shared by
  the modules below);
- ``course_input``: a course's engine input from the database (COPY into numpy on
  PostgreSQL) and the students' enrolment context;
- ``course_views``: the course view computed, and served from the cache under a stamp;
- ``recompute``: the periodic recompute, its daily snapshots, the worker's rebuild job;
- ``invalidation``: what a change makes stale, dropped once its transaction commits;
- ``events``: recording and withdrawing events, due dates, the daily rollup;
- ``day_recount``: an institution's stored days recounted when its time zone changes;
- ``class_lists``: the teacher's class table and at-risk list;
- ``student_views``: one student's index, breakdown and history;
- ``settings``: reading and replacing a course's weights and risk settings.
"""

from masteryai_lti.engagement.service.class_lists import (
    AT_RISK_FIELDS,
    SORT_KEYS,
    TABLE_FIELDS,
    at_risk_list,
    class_table,
)
from masteryai_lti.engagement.service.course_input import enrolment_context, load_course_input
from masteryai_lti.engagement.service.course_views import (
    REFERENCE_TTL,
    VIEW_TTL,
    compute_course_view,
    course_view,
)
from masteryai_lti.engagement.service.day_recount import recount_days
from masteryai_lti.engagement.service.events import (
    ROLLUP_COLUMNS,
    record_events,
    set_due_date,
    withdraw_events,
)
from masteryai_lti.engagement.service.recompute import (
    recompute_all,
    recompute_course,
    recompute_course_job,
)
from masteryai_lti.engagement.service.scoring_parameters import institution_zone, risk_model
from masteryai_lti.engagement.service.settings import KEEP, get_settings, put_settings
from masteryai_lti.engagement.service.student_views import (
    student_breakdown,
    student_history,
    student_view,
)

__all__ = [
    "AT_RISK_FIELDS",
    "KEEP",
    "REFERENCE_TTL",
    "ROLLUP_COLUMNS",
    "SORT_KEYS",
    "TABLE_FIELDS",
    "VIEW_TTL",
    "at_risk_list",
    "class_table",
    "compute_course_view",
    "course_view",
    "enrolment_context",
    "get_settings",
    "institution_zone",
    "load_course_input",
    "put_settings",
    "recompute_all",
    "recompute_course",
    "recompute_course_job",
    "recount_days",
    "record_events",
    "risk_model",
    "set_due_date",
    "student_breakdown",
    "student_history",
    "student_view",
    "withdraw_events",
]
