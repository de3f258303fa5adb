"""HTTP transport for the LTI Advantage services (AGS, NRPS) a platform exposes.

Every call carries an OAuth2 bearer token from :mod:`masteryai_lti.lti.platform_tokens`
and an IMS media type, follows ``Link: <...>; rel="next"`` paging, and turns any
failure into :class:`PlatformServiceError`, which says whether a retry may help.
The HTTP session is handed in so tests talk to a real platform on loopback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests

from masteryai_lti.core.outbound_http import private_address_refusal

# One ``<url>; param; param`` element of an RFC 8288 Link header. Commas may appear
# inside the angle brackets, so elements are matched, not split on commas. The URL
# excludes "<" as well as ">": with ``[^>]*`` a header of many "<" and no ">" (the
# platform writes it) took time quadratic in its length, minutes for 64 KiB.
_LINK_ELEMENT = re.compile(r"<([^<>]*)>\s*((?:;\s*[^;,]+)*)")
_REL_PARAM = re.compile(r'rel\s*=\s*"?([^";]+)"?', re.IGNORECASE)

# Status codes after which the same request may succeed later (RFC 9110 §15.6,
# RFC 6585 §4 for 429). Anything else in 4xx means the request itself is wrong.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

DEFAULT_TIMEOUT_SECONDS = 10.0


class PlatformServiceError(Exception):
    """A call to a platform service failed.

    ``status`` is the HTTP status (None when no response arrived), ``reason`` a short
    text fit for a teacher-facing list, ``retryable`` whether trying again later may help.
    """

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class ServiceResponse:
    """A decoded platform response: status, JSON body (or None), headers, next page."""

    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)
    next_url: str | None = None


def link_targets(link_header: str | None, rel: str) -> list[str]:
    """URLs of the ``Link`` header elements whose ``rel`` includes ``rel`` (RFC 8288).

    ``rel`` may hold several space-separated relation types; the URL is returned
    unchanged (pylti1p3 lower-cases it, which breaks case-sensitive paths).
    """
    if not link_header:
        return []
    wanted = rel.lower()
    found = []
    for match in _LINK_ELEMENT.finditer(link_header):
        params = match.group(2) or ""
        rel_match = _REL_PARAM.search(params)
        if rel_match and wanted in rel_match.group(1).lower().split():
            found.append(match.group(1).strip())
    return found


def next_page_url(link_header: str | None) -> str | None:
    """The ``rel="next"`` URL of a paged AGS/NRPS response, or None on the last page."""
    targets = link_targets(link_header, "next")
    return targets[0] if targets else None


def append_path(url: str, segment: str) -> str:
    """Add a path segment before any query string.

    AGS 2.0 §3.3/§3.4: the scores and results services live at the line item URL
    with ``/scores`` or ``/results`` appended to its path; line item URLs may carry
    a query (Moodle's do: ``.../lineitem?type_id=2``), which must stay at the end.
    """
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path + segment, parts.query, parts.fragment))


def _short_reason(response: requests.Response) -> str:
    text = (response.text or "").strip().replace("\n", " ")
    if len(text) > 200:
        text = text[:200] + "…"
    reason = f"HTTP {response.status_code}"
    if response.reason:
        reason += f" {response.reason}"
    return f"{reason}: {text}" if text else reason


TokenProvider = Callable[[Sequence[str]], str]
TokenForgetter = Callable[[Sequence[str]], None]


class PlatformServiceClient:
    """Authorised requests to one platform's service endpoints.

    ``token_for(scopes)`` returns a bearer token (cached by the caller's policy) and
    ``forget_token(scopes)`` drops it: on a 401 the token is dropped and the request
    retried once with a fresh one, since platforms may revoke tokens before expiry.
    """

    def __init__(
        self,
        http: requests.Session,
        token_for: TokenProvider,
        forget_token: TokenForgetter | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._http = http
        self._token_for = token_for
        self._forget_token = forget_token
        self._timeout = timeout

    def get(
        self,
        url: str,
        scopes: Sequence[str],
        accept: str,
        params: dict[str, str] | None = None,
    ) -> ServiceResponse:
        """GET ``url`` with the given IMS media type in ``Accept``."""
        return self._request("GET", url, scopes, accept=accept, params=params)

    def post(
        self,
        url: str,
        scopes: Sequence[str],
        body: dict,
        content_type: str,
        accept: str = "application/json",
    ) -> ServiceResponse:
        """POST ``body`` as JSON labelled with the given IMS media type."""
        return self._request(
            "POST", url, scopes, accept=accept, json_body=body, content_type=content_type
        )

    def put(
        self,
        url: str,
        scopes: Sequence[str],
        body: dict,
        content_type: str,
        accept: str = "application/json",
    ) -> ServiceResponse:
        """PUT ``body`` as JSON labelled with the given IMS media type (a whole resource)."""
        return self._request(
            "PUT", url, scopes, accept=accept, json_body=body, content_type=content_type
        )

    def pages(
        self,
        url: str,
        scopes: Sequence[str],
        accept: str,
        params: dict[str, str] | None = None,
        max_pages: int = 1000,
    ) -> Iterator[ServiceResponse]:
        """Yield every page, following ``rel="next"`` until there is none.

        The query ``params`` go on the first request only: next links are complete
        URLs. ``max_pages`` stops a platform that links a page to itself.
        """
        seen: set[str] = set()
        next_url: str | None = url
        first = True
        while next_url:
            if next_url in seen or len(seen) >= max_pages:
                raise PlatformServiceError(f"paging did not end (at {next_url})", retryable=False)
            seen.add(next_url)
            page = self.get(next_url, scopes, accept, params=params if first else None)
            first = False
            yield page
            next_url = page.next_url

    def _request(
        self,
        method: str,
        url: str,
        scopes: Sequence[str],
        *,
        accept: str,
        params: dict[str, str] | None = None,
        json_body: dict | None = None,
        content_type: str | None = None,
    ) -> ServiceResponse:
        for attempt in (1, 2):
            token = self._token_for(scopes)
            headers = {"Authorization": f"Bearer {token}", "Accept": accept}
            if content_type:
                headers["Content-Type"] = content_type
            try:
                response = self._http.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self._timeout,
                )
            except requests.RequestException as exc:
                refusal = private_address_refusal(exc)
                if refusal is not None:
                    raise PlatformServiceError(str(refusal), retryable=False) from exc
                raise PlatformServiceError(
                    f"platform unreachable: {type(exc).__name__}", retryable=True
                ) from exc
            if response.status_code == 401 and attempt == 1 and self._forget_token:
                self._forget_token(scopes)
                continue
            return self._decode(response)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _decode(response: requests.Response) -> ServiceResponse:
        if not response.ok:
            raise PlatformServiceError(
                _short_reason(response),
                status=response.status_code,
                retryable=response.status_code in RETRYABLE_STATUSES,
            )
        body: object = None
        if response.content:
            try:
                body = response.json()
            except ValueError as exc:
                raise PlatformServiceError(
                    f"HTTP {response.status_code} with a body that is not JSON",
                    status=response.status_code,
                    retryable=False,
                ) from exc
        return ServiceResponse(
            status=response.status_code,
            body=body,
            headers=dict(response.headers),
            next_url=next_page_url(response.headers.get("Link")),
        )
