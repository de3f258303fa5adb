"""LTI Assignment and Grade Services 2.0: line items, scores and results.

The wire format lives here (payloads, media types, URLs, timestamps); the calls
go through :class:`~masteryai_lti.lti.service_client.PlatformServiceClient`.
Scores are never posted directly by features: they call
:func:`masteryai_lti.lti.outbox.record_score`, whose drain calls :func:`send_score`.

Spec references are to 1EdTech "LTI Assignment and Grade Services 2.0".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from masteryai_lti.lti.service_client import (
    PlatformServiceClient,
    PlatformServiceError,
    ServiceResponse,
    append_path,
)

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
ALL_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_SCORE, SCOPE_RESULT_READONLY)

# §3.2, §3.3, §3.4: each resource has its own media type.
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"

# §3.4.5 and §3.4.6: the only values a platform must understand.
ACTIVITY_PROGRESS = ("Initialized", "Started", "InProgress", "Submitted", "Completed")
GRADING_PROGRESS = ("FullyGraded", "Pending", "PendingManual", "Failed", "NotReady")

# The line item fields a tool keeps in step with its own activity (see
# :func:`updated_line_item`); the platform owns the rest.
OWNED_LINE_ITEM_FIELDS = ("label", "endDateTime")
# Labels are cut to what the tool's own record of a line item holds.
LABEL_MAX_CHARS = 255

# §3.4.3 asks for sub-second precision so two scores in one second stay ordered.
TIMESTAMP_STEP = timedelta(milliseconds=1)


class ScoreRejected(ValueError):
    """A score that no platform would accept (checked before it reaches the outbox)."""


@dataclass(frozen=True)
class Score:
    """One score for one learner on one line item.

    ``user_id`` is the learner's LTI ``sub`` on the platform that owns the line item.
    ``score_given`` is None when only progress is reported (e.g. "Started").
    """

    user_id: str
    score_given: float | None
    score_maximum: float | None
    activity_progress: str
    grading_progress: str
    timestamp: datetime
    comment: str | None = None


@dataclass(frozen=True)
class LineItemSpec:
    """The line item the tool wants for a graded resource link (§3.2.7)."""

    label: str
    score_maximum: float
    resource_link_id: str | None = None
    resource_id: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Result:
    """One learner's current result on a line item, as the platform reports it (§3.3.4)."""

    user_id: str
    result_score: float | None
    result_maximum: float | None
    comment: str | None
    score_of: str | None
    id: str | None


@dataclass(frozen=True)
class AgsEndpoint:
    """The AGS endpoint claim of a launch (§3.1): granted scopes and service URLs."""

    scopes: tuple[str, ...]
    lineitems_url: str | None = None
    lineitem_url: str | None = None

    @classmethod
    def from_claim(cls, claim: dict | None) -> AgsEndpoint | None:
        """Read ``https://purl.imsglobal.org/spec/lti-ags/claim/endpoint``; None if absent."""
        if not claim:
            return None
        return cls(
            scopes=tuple(claim.get("scope") or ()),
            lineitems_url=claim.get("lineitems") or None,
            lineitem_url=claim.get("lineitem") or None,
        )

    def grants(self, scope: str) -> bool:
        """Whether the platform granted ``scope`` (lineitem implies lineitem.readonly)."""
        if scope == SCOPE_LINEITEM_READONLY and SCOPE_LINEITEM in self.scopes:
            return True
        return scope in self.scopes


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 with milliseconds and an explicit UTC offset, as §3.4.3 shows."""
    if moment.tzinfo is None:
        raise ScoreRejected("score timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def next_timestamp(now: datetime, previous: datetime | None) -> datetime:
    """The timestamp for a new score: ``now``, but always after ``previous``.

    §3.4.3: a platform ignores a score whose timestamp is not later than the last
    one it received for the same line item and learner, so two scores recorded in
    the same millisecond (or across a clock step back) must still increase.
    """
    if previous is not None:
        previous = previous if previous.tzinfo else previous.replace(tzinfo=UTC)
        if now <= previous:
            return previous + TIMESTAMP_STEP
    return now


def _finite(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ScoreRejected(f"{name} must be a finite number")
    return number


def score_payload(score: Score) -> dict:
    """The score JSON of §3.4, validated.

    scoreGiven needs scoreMaximum (§3.4.2); both are non-negative; a score above the
    maximum is allowed (extra credit) by the spec, so it is passed on unchanged.
    """
    if not score.user_id:
        raise ScoreRejected("userId is required")
    if score.activity_progress not in ACTIVITY_PROGRESS:
        raise ScoreRejected(f"activityProgress must be one of {', '.join(ACTIVITY_PROGRESS)}")
    if score.grading_progress not in GRADING_PROGRESS:
        raise ScoreRejected(f"gradingProgress must be one of {', '.join(GRADING_PROGRESS)}")
    given = _finite(score.score_given, "scoreGiven")
    maximum = _finite(score.score_maximum, "scoreMaximum")
    payload: dict = {
        "userId": score.user_id,
        "activityProgress": score.activity_progress,
        "gradingProgress": score.grading_progress,
        "timestamp": format_timestamp(score.timestamp),
    }
    if given is not None:
        if maximum is None:
            raise ScoreRejected("scoreMaximum is required with scoreGiven")
        if given < 0:
            raise ScoreRejected("scoreGiven must not be negative")
        payload["scoreGiven"] = given
    if maximum is not None:
        if maximum <= 0:
            raise ScoreRejected("scoreMaximum must be greater than 0")
        payload["scoreMaximum"] = maximum
    if score.comment:
        payload["comment"] = score.comment
    return payload


def line_item_payload(spec: LineItemSpec) -> dict:
    """The line item JSON of §3.2.7 for creating a line item."""
    if not spec.label.strip():
        raise ScoreRejected("a line item needs a label")
    if not (spec.score_maximum > 0 and math.isfinite(spec.score_maximum)):
        raise ScoreRejected("a line item's scoreMaximum must be a positive number")
    payload: dict = {"label": spec.label, "scoreMaximum": float(spec.score_maximum)}
    if spec.resource_link_id:
        payload["resourceLinkId"] = spec.resource_link_id
    if spec.resource_id:
        payload["resourceId"] = spec.resource_id
    if spec.tag:
        payload["tag"] = spec.tag
    return payload


def check_owned_fields(changes: dict) -> None:
    """Refuse changes to line item fields the tool does not own (ValueError)."""
    unknown = set(changes) - set(OWNED_LINE_ITEM_FIELDS)
    if unknown:
        raise ValueError(f"not a line item field the tool changes: {sorted(unknown)}")


def updated_line_item(current: dict, changes: dict) -> dict:
    """The line item to PUT back: ``current`` as the platform sent it, with only the
    fields in ``changes`` (those of :data:`OWNED_LINE_ITEM_FIELDS`) changed.

    §3.2 (updating a line item): a PUT carries the whole line item, so everything the
    platform has (scoreMaximum, resourceLinkId, resourceId, tag, its own extensions)
    goes back unchanged. ``endDateTime`` is optional: None removes the end date by
    leaving the field out of the whole resource.
    """
    check_owned_fields(changes)
    body = dict(current)
    if "label" in changes:
        label = str(changes["label"] or "").strip()
        if not label:
            raise ScoreRejected("a line item needs a label")
        body["label"] = label[:LABEL_MAX_CHARS]
    if "endDateTime" in changes:
        if changes["endDateTime"] is None:
            body.pop("endDateTime", None)
        else:
            body["endDateTime"] = changes["endDateTime"]
    return body


def update_line_item(
    client: PlatformServiceClient, lineitem_url: str, changes: dict
) -> ServiceResponse:
    """Change the tool's fields of a platform line item: GET it, PUT it back changed.

    Needs the ``lineitem`` scope. No PUT when the platform already has the values.
    """
    current = client.get(lineitem_url, [SCOPE_LINEITEM], MEDIA_LINEITEM)
    if not isinstance(current.body, dict):
        raise PlatformServiceError(
            "the line item is not a JSON object", status=current.status, retryable=False
        )
    body = updated_line_item(current.body, changes)
    if body == current.body:
        return current
    return client.put(
        lineitem_url, [SCOPE_LINEITEM], body, content_type=MEDIA_LINEITEM, accept=MEDIA_LINEITEM
    )


def scores_url(lineitem_url: str) -> str:
    """The scores service of a line item (§3.4)."""
    return append_path(lineitem_url, "scores")


def results_url(lineitem_url: str) -> str:
    """The results service of a line item (§3.3)."""
    return append_path(lineitem_url, "results")


def matching_line_item(items: list, spec: LineItemSpec) -> str | None:
    """The URL of the first container entry that is this spec's line item.

    Platforms may ignore the container's filter parameters (§3.2.3 makes them
    optional), so the match is checked here: resourceLinkId first, then tag and
    resourceId when the spec names them.
    """
    for item in items:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        if spec.resource_link_id and item.get("resourceLinkId") != spec.resource_link_id:
            continue
        if spec.tag and item.get("tag") != spec.tag:
            continue
        if spec.resource_id and item.get("resourceId") != spec.resource_id:
            continue
        return str(item["id"])
    return None


def find_line_item(
    client: PlatformServiceClient, endpoint: AgsEndpoint, spec: LineItemSpec
) -> str | None:
    """Search the context's line items (all pages) for ``spec``; its URL or None."""
    if not endpoint.lineitems_url or not endpoint.grants(SCOPE_LINEITEM_READONLY):
        return None
    params = {}
    if spec.resource_link_id:
        params["resource_link_id"] = spec.resource_link_id
    if spec.resource_id:
        params["resource_id"] = spec.resource_id
    if spec.tag:
        params["tag"] = spec.tag
    scope = SCOPE_LINEITEM if endpoint.grants(SCOPE_LINEITEM) else SCOPE_LINEITEM_READONLY
    for page in client.pages(
        endpoint.lineitems_url, [scope], MEDIA_LINEITEM_CONTAINER, params=params or None
    ):
        if not isinstance(page.body, list):
            raise PlatformServiceError(
                "line item container is not a JSON array", status=page.status, retryable=False
            )
        found = matching_line_item(page.body, spec)
        if found:
            return found
    return None


def find_or_create_line_item(
    client: PlatformServiceClient, endpoint: AgsEndpoint, spec: LineItemSpec
) -> str:
    """The line item URL to post scores to for a graded resource link.

    Prefers the launch's own ``lineitem`` (§3.1: the platform made it for this link,
    e.g. through deep linking's ``lineItem``); otherwise finds one by
    resourceLinkId/tag, otherwise creates it (needs the ``lineitem`` scope).
    """
    if endpoint.lineitem_url:
        return endpoint.lineitem_url
    found = find_line_item(client, endpoint, spec)
    if not found and spec.resource_link_id and (spec.tag or spec.resource_id):
        # The platform's own column for this link (a teacher's, or one deep linking's
        # lineItem made) carries no tag of ours: use it rather than add a second.
        found = find_line_item(client, endpoint, replace(spec, tag=None, resource_id=None))
    if found:
        return found
    if not endpoint.lineitems_url or not endpoint.grants(SCOPE_LINEITEM):
        raise PlatformServiceError(
            "the platform offers no line item for this link and did not grant the "
            "lineitem scope to create one",
            retryable=False,
        )
    created = client.post(
        endpoint.lineitems_url,
        [SCOPE_LINEITEM],
        line_item_payload(spec),
        content_type=MEDIA_LINEITEM,
        accept=MEDIA_LINEITEM,
    )
    if not isinstance(created.body, dict) or not created.body.get("id"):
        raise PlatformServiceError(
            "the platform created a line item but returned no id",
            status=created.status,
            retryable=False,
        )
    return str(created.body["id"])


def send_score(client: PlatformServiceClient, lineitem_url: str, payload: dict) -> ServiceResponse:
    """POST one score payload (from :func:`score_payload`) to the line item's scores."""
    return client.post(scores_url(lineitem_url), [SCOPE_SCORE], payload, content_type=MEDIA_SCORE)


def _number(value: object) -> float | None:
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def parse_result(item: dict) -> Result:
    """Read one entry of a result container (§3.3.4); tolerant of missing fields."""
    return Result(
        user_id=str(item.get("userId", "")),
        result_score=_number(item.get("resultScore")),
        result_maximum=_number(item.get("resultMaximum")),
        comment=item.get("comment"),
        score_of=item.get("scoreOf"),
        id=item.get("id"),
    )


def read_results(
    client: PlatformServiceClient,
    lineitem_url: str,
    *,
    user_id: str | None = None,
    page_size: int | None = None,
) -> list[Result]:
    """Every result of a line item, across all pages (§3.3.3 ``user_id``, ``limit``)."""
    params: dict[str, str] = {}
    if user_id:
        params["user_id"] = user_id
    if page_size:
        params["limit"] = str(page_size)
    results: list[Result] = []
    for page in client.pages(
        results_url(lineitem_url),
        [SCOPE_RESULT_READONLY],
        MEDIA_RESULT_CONTAINER,
        params=params or None,
    ):
        if not isinstance(page.body, list):
            raise PlatformServiceError(
                "result container is not a JSON array", status=page.status, retryable=False
            )
        results.extend(parse_result(item) for item in page.body if isinstance(item, dict))
    return results
