"""LTI Deep Linking 2.0: the teacher picks what to place; the tool answers with a signed JWT.

The picker offers the tool's *placeable things*: built-in ones (adaptive practice,
the dashboards) plus whatever features register with
:func:`register_placeable_provider` (adaptive assignments, projects...). Each
chosen thing becomes an ``ltiResourceLink`` content item whose custom
parameters name it, with a ``lineItem`` when it is graded so the platform
creates the grade column (Deep Linking 2.0 §3.4.4).

The response JWT (Deep Linking 2.0 §4.2) is issued by the tool's client_id,
addressed to the platform issuer, echoes ``deployment_id`` and the request's
``data`` unchanged, and is signed with the tool's newest active key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import jwt
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from masteryai_lti.lti.keys import SigningKey
from masteryai_lti.lti.quirks import PlatformQuirks
from masteryai_lti.lti.registration_protocol import CUSTOM_PARAMETERS

LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SETTINGS_CLAIM = LTI_DL + "deep_linking_settings"
# How long the platform may take to receive the response.
RESPONSE_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class Placeable:
    """Something a teacher can place in the LMS course."""

    key: str  # stable id, sent back as the custom parameter masteryai_id
    kind: str  # adaptive_assignment, dashboard, project, ...
    title: str
    description: str = ""
    graded: bool = False
    score_maximum: float = 100.0
    # The id the launch's target carries (custom masteryai_id) when it is not ``key``:
    # keys are unique across providers ("project-7"), ids only within a kind ("7").
    target_id: str = ""
    # When submissions close, for the LMS's column (Deep Linking 2.0 §3.4, ``submission``).
    submission_end: datetime | None = None
    # Shown to the teacher in the picker only, never sent to the LMS (e.g. "Draft").
    note: str = ""


PlaceableProvider = Callable[[int | None], list[Placeable]]
_providers: list[PlaceableProvider] = []

BUILT_IN = (
    Placeable(
        key="adaptive-practice",
        kind="adaptive_assignment",
        title="Adaptive practice",
        description="Questions on what each student is ready to learn next, easy to hard; graded.",
        graded=True,
    ),
    Placeable(
        key="student-progress",
        kind="dashboard",
        title="My progress",
        description="Each student's own progress by topic, activity and work due.",
    ),
    Placeable(
        key="class-dashboard",
        kind="dashboard",
        title="Class dashboard",
        description="The class's engagement and at-risk students, for teachers.",
    ),
)


def accepts_multiple(settings: dict) -> bool:
    """Whether the platform takes several items back (Deep Linking 2.0 §4.4.1:
    ``accept_multiple``, true when absent; Canvas's assignment picker says false)."""
    return str(settings.get("accept_multiple", True)).lower() != "false"


def return_url(settings: dict, *, allow_insecure: bool = False) -> str | None:
    """The platform's ``deep_link_return_url`` (Deep Linking 2.0 §4.4.1), or None when it
    is not an https URL (http only with ``allow_insecure``, for development LMSs).

    The tool's page posts the signed answer to it by a form, so a ``javascript:`` or
    ``data:`` URL would run in the tool's origin, next to the teacher's session token.
    """
    url = settings.get("deep_link_return_url")
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        return None
    return url.strip()


def register_placeable_provider(provider: PlaceableProvider) -> PlaceableProvider:
    """Add ``provider(course_id) -> [Placeable]`` to the picker. Usable as a decorator."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def placeable_items(course_id: int | None) -> list[Placeable]:
    """Everything the picker offers for ``course_id``: built-ins, then each provider's."""
    items = list(BUILT_IN)
    for provider in _providers:
        items.extend(provider(course_id))
    return items


def content_item(placeable: Placeable, launch_url: str, quirks: PlatformQuirks) -> dict:
    """The ``ltiResourceLink`` content item for ``placeable`` (Deep Linking 2.0 §3.4)."""
    resource = (
        DeepLinkResource()
        .set_url(launch_url)
        .set_title(placeable.title)
        .set_custom_params(
            {
                "masteryai_target": placeable.kind,
                "masteryai_id": placeable.target_id or placeable.key,
                # A gradebook column has a due date; ask for it at each launch.
                **(CUSTOM_PARAMETERS if placeable.graded else {}),
            }
        )
    )
    if placeable.graded:
        resource.set_lineitem(
            LineItem()
            .set_score_maximum(placeable.score_maximum)
            .set_label(placeable.title)
            .set_resource_id(placeable.key)
            .set_tag(placeable.kind)
        )
    item = resource.to_dict()
    if placeable.description:
        item["text"] = placeable.description
    if placeable.submission_end is not None:
        # ISO 8601 with its offset; a platform that cannot take it ignores the property.
        item["submission"] = {"endDateTime": placeable.submission_end.isoformat()}
    return quirks.adjust_content_item(item)


class _Registration:
    """The two facts pylti1p3's DeepLink reads from a registration."""

    def __init__(self, issuer: str, client_id: str) -> None:
        self._issuer, self._client_id = issuer, client_id

    def get_issuer(self) -> str:
        return self._issuer

    def get_client_id(self) -> str:
        return self._client_id


def response_claims(
    *,
    issuer: str,
    client_id: str,
    deployment_id: str,
    settings: dict,
    items: list[dict],
    now: int,
) -> dict:
    """The claims of the deep-linking response. Pure: ``now`` is a Unix time.

    Built by pylti1p3's :class:`DeepLink`, then adjusted: ``aud`` is the issuer
    itself, ``data`` is echoed only when the request had it (§4.2.2), and the times
    come from ``now`` so the result is deterministic.
    """
    deep_link = DeepLink(_Registration(issuer, client_id), deployment_id, settings)
    claims = deep_link.get_message_jwt([])
    claims["aud"] = issuer
    claims["iat"] = now
    claims["exp"] = now + RESPONSE_LIFETIME_SECONDS
    claims[LTI_DL + "content_items"] = items
    if settings.get("data") is None:
        claims.pop(LTI_DL + "data", None)
    else:
        claims[LTI_DL + "data"] = settings["data"]
    return claims


def sign_response(claims: dict, key: SigningKey) -> str:
    """The response JWT, RS256 with the key's kid in the header."""
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
