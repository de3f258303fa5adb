"""Which engagement kind a statement is evidence of: verb and activity-type defaults.

Defaults cover the vocabularies the LRSs and content we meet actually emit — ADL
(xAPI core verbs and activity types), cmi5, H5P, Moodle's logstore_xapi and Open edX's
event-routing-backends. An institution overrides them with ``XapiEngagementRule`` rows
(passed in here as plain tuples). Pure: no Flask, no database.

Resolution, most specific first: institution (verb, type), institution verb,
institution type, default (verb, type), default verb, default type. ``ignore`` stops
the search and projects nothing into engagement.
"""

from __future__ import annotations

from collections.abc import Iterable

KINDS = ("attendance", "submission", "quiz", "interaction", "resource_view", "launch")
IGNORE = "ignore"

ADL = "http://adlnet.gov/expapi/verbs/"
ADL_ACT = "http://adlnet.gov/expapi/activities/"
CMI5 = "https://w3id.org/xapi/adl/verbs/"
TINCAN = "http://id.tincanapi.com/verb/"
TINCAN_ACT = "http://id.tincanapi.com/activitytype/"
AS = "http://activitystrea.ms/schema/1.0/"
VIDEO = "https://w3id.org/xapi/video/verbs/"
ACROSSX = "https://w3id.org/xapi/acrossx/verbs/"

# verb IRI -> kind
DEFAULT_VERBS: dict[str, str] = {
    # ADL core verbs (also used by cmi5 and H5P)
    ADL + "attended": "attendance",
    ADL + "launched": "launch",
    ADL + "initialized": "launch",
    ADL + "registered": "launch",
    ADL + "completed": "submission",
    ADL + "passed": "quiz",
    ADL + "failed": "quiz",
    ADL + "scored": "quiz",
    ADL + "answered": "quiz",
    ADL + "attempted": "quiz",
    ADL + "mastered": "quiz",
    ADL + "experienced": "resource_view",
    ADL + "progressed": "resource_view",
    ADL + "interacted": "interaction",
    ADL + "commented": "interaction",
    ADL + "asked": "interaction",
    ADL + "responded": "interaction",
    ADL + "shared": "interaction",
    ADL + "exited": IGNORE,
    ADL + "terminated": IGNORE,
    ADL + "suspended": IGNORE,
    ADL + "resumed": "launch",
    ADL + "voided": IGNORE,
    ADL + "preferred": IGNORE,
    # cmi5 defined verbs beyond ADL's
    CMI5 + "satisfied": "submission",
    CMI5 + "waived": IGNORE,
    CMI5 + "abandoned": IGNORE,
    # Moodle logstore_xapi and Tin Can registry verbs
    TINCAN + "viewed": "resource_view",
    TINCAN + "read": "resource_view",
    TINCAN + "replied": "interaction",
    TINCAN + "earned": IGNORE,
    TINCAN + "loggedin": "launch",
    TINCAN + "loggedout": IGNORE,
    AS + "submit": "submission",
    AS + "create": "interaction",
    AS + "post": "interaction",
    AS + "join": "attendance",
    AS + "receive": IGNORE,
    # Open edX event-routing-backends
    VIDEO + "played": "resource_view",
    VIDEO + "paused": IGNORE,
    VIDEO + "seeked": IGNORE,
    VIDEO + "completed": "resource_view",
    VIDEO + "initialized": IGNORE,
    VIDEO + "terminated": IGNORE,
    ACROSSX + "posted": "interaction",
    ADL + "evaluated": "quiz",
}

# activity type IRI -> kind (used when the verb alone says nothing, and with verbs below)
DEFAULT_TYPES: dict[str, str] = {
    ADL_ACT + "meeting": "attendance",
    ADL_ACT + "assessment": "quiz",
    ADL_ACT + "question": "quiz",
    ADL_ACT + "cmi.interaction": "quiz",
    ADL_ACT + "lesson": "resource_view",
    ADL_ACT + "module": "resource_view",
    ADL_ACT + "media": "resource_view",
    ADL_ACT + "file": "resource_view",
    ADL_ACT + "link": "resource_view",
    ADL_ACT + "course": "launch",
    TINCAN_ACT + "discussion": "interaction",
    TINCAN_ACT + "chat-message": "interaction",
    TINCAN_ACT + "forum-reply": "interaction",
    TINCAN_ACT + "lms/course": "launch",
    TINCAN_ACT + "lms/assignment": "submission",
    "https://w3id.org/xapi/video/activity-type/video": "resource_view",
    "http://id.tincanapi.com/activitytype/document": "resource_view",
}

# (verb, type) pairs where the combination means something neither half says alone.
DEFAULT_PAIRS: dict[tuple[str, str], str] = {
    (ADL + "completed", ADL_ACT + "assessment"): "quiz",
    (ADL + "completed", ADL_ACT + "cmi.interaction"): "quiz",
    (ADL + "completed", ADL_ACT + "lesson"): "resource_view",
    (ADL + "completed", ADL_ACT + "module"): "resource_view",
    (ADL + "completed", ADL_ACT + "media"): "resource_view",
    (ADL + "completed", ADL_ACT + "course"): "submission",
    (AS + "submit", ADL_ACT + "assessment"): "quiz",
    (TINCAN + "viewed", TINCAN_ACT + "lms/course"): "launch",
    (ADL + "launched", ADL_ACT + "meeting"): "attendance",
}

Rule = tuple[str | None, str | None, str]  # (verb_id, activity_type, kind)


def engagement_kind(
    verb_id: str, activity_type: str | None, overrides: Iterable[Rule] = ()
) -> str | None:
    """The engagement kind of a (verb, activity type), or None when it maps to nothing."""
    pairs: dict[tuple[str | None, str | None], str] = {
        (verb, kind_type): kind for verb, kind_type, kind in overrides
    }
    candidates = (
        pairs.get((verb_id, activity_type)) if activity_type else None,
        pairs.get((verb_id, None)),
        pairs.get((None, activity_type)) if activity_type else None,
        DEFAULT_PAIRS.get((verb_id, activity_type)) if activity_type else None,
        DEFAULT_VERBS.get(verb_id),
        DEFAULT_TYPES.get(activity_type) if activity_type else None,
    )
    for kind in candidates:
        if kind is not None:
            return None if kind == IGNORE else kind
    return None
