"""The test platform's LTI Advantage services: OAuth2 token, AGS, NRPS, dynamic registration.

:class:`ServicesPlatform` extends :class:`tests.lti_platform.TestPlatform` (its
documented extension point) with endpoints that behave like a strict LMS:

* ``POST /token`` — client_credentials with a JWT client assertion, verified
  against the tool's JWKS (iss = sub = client_id, aud = token URL, unexpired,
  jti once); issues bearer tokens bound to the granted scopes.
* AGS: ``/ags/<ctx>/lineitems`` (GET paged with ``Link: rel="next"`` and
  filters, POST create), ``/ags/<ctx>/lineitems/<n>`` (GET, PUT replaces it),
  ``…/<n>/scores`` (POST; older timestamps are ignored, AGS 2.0 §3.4.3),
  ``…/<n>/results`` (GET paged). Media types and scopes are checked.
* NRPS: ``/nrps/<ctx>`` paged with ``Link: rel="next"``.
* Dynamic registration: ``/.well-known/openid-configuration`` and ``POST /register``,
  both requiring the one-time registration token as bearer (as Moodle does).
* A ``down`` switch: every endpoint answers 503 while it is set.

The tool's JWKS is read through ``tool_jwks_provider`` (a callable) when set —
tests that use Flask's test client have no tool server to fetch from.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

import jwt
import requests
from flask import Flask, Response, jsonify, request
from jwt.algorithms import RSAAlgorithm
from markupsafe import escape

from tests.lti_platform import TestPlatform

AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM = AGS + "lineitem"
SCOPE_LINEITEM_READONLY = AGS + "lineitem.readonly"
SCOPE_SCORE = AGS + "score"
SCOPE_RESULT = AGS + "result.readonly"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SUPPORTED_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_SCORE, SCOPE_RESULT, SCOPE_NRPS)

MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"
MEDIA_MEMBERSHIP = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _problem(status: int, text: str) -> Response:
    return Response(json.dumps({"error": text}), status=status, mimetype="application/json")


@dataclass
class ServicesPlatform(TestPlatform):
    """A :class:`TestPlatform` with token, AGS, NRPS and dynamic-registration endpoints."""

    __test__ = False

    # Paging sizes (a client's ``limit`` wins when smaller).
    lineitems_page_size: int = 2
    results_page_size: int = 2
    members_page_size: int = 3
    # A query string on line item URLs, as Moodle has (``?type_id=2``).
    lineitem_query: str = ""
    token_lifetime: int = 3600
    registration_token: str = field(default_factory=lambda: "reg-token-" + uuid.uuid4().hex[:8])
    registration_status: int = 201
    product_family_code: str = "moodle"
    # Published as the openid-configuration's authorization_server when set.
    authorization_server: str | None = None
    # The client assertion's aud the token endpoint accepts (default: its own URL).
    token_audience: str | None = None
    down: bool = False
    # Only the roster service fails (500) while this is set.
    nrps_down: bool = False
    # Requests answered 503 because the platform was down.
    refused_while_down: int = 0
    tool_jwks_provider: Callable[[], dict] | None = None
    # Platform state.
    line_items: dict[int, dict] = field(default_factory=dict)
    results: dict[tuple[int, str], dict] = field(default_factory=dict)
    ignored_scores: list[dict] = field(default_factory=list)
    # Bodies of line item PUTs, in the order they arrived.
    line_item_puts: list[dict] = field(default_factory=list)
    issued_tokens: dict[str, set] = field(default_factory=dict)
    used_jtis: set = field(default_factory=set)
    service_requests: list[dict] = field(default_factory=list)
    registrations: list[dict] = field(default_factory=list)
    config_requests: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        super().__post_init__()
        if not self.line_items:
            # The line item the platform made for the launch's resource link.
            self.line_items[1] = {
                "label": "Practice",
                "scoreMaximum": 100.0,
                "resourceLinkId": self.resource_link_id,
                "tag": "platform",
            }

    # -- addresses ---------------------------------------------------------------

    def lineitems_url(self, context_id: str | None = None) -> str:
        return f"{self.base_url}/ags/{context_id or self.context_id}/lineitems"

    def lineitem_url(self, number: int, context_id: str | None = None) -> str:
        return f"{self.lineitems_url(context_id)}/{number}{self.lineitem_query}"

    @property
    def memberships_url(self) -> str:
        return f"{self.base_url}/nrps/{self.context_id}"

    @property
    def openid_configuration_url(self) -> str:
        return self.base_url + "/.well-known/openid-configuration"

    @property
    def registration_url(self) -> str:
        return self.base_url + "/register"

    def ags_claim(self, *, with_lineitem: bool = True, scopes: tuple[str, ...] | None = None):
        """The AGS endpoint claim; ``with_lineitem=False`` makes the tool find/create one."""
        claim = {
            "scope": list(scopes or (SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_RESULT)),
            "lineitems": self.lineitems_url(),
        }
        if with_lineitem:
            claim["lineitem"] = self.lineitem_url(1)
        return claim

    def claims_for(self, user="student", **kwargs) -> dict:
        claims = super().claims_for(user, **kwargs)
        key = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
        if key in claims:
            claims[key] = self.ags_claim()
        return claims

    def add_members(self, count: int, *, role: str, prefix: str = "member") -> list[dict]:
        """Add ``count`` course members (NRPS entries) and return them."""
        added = []
        for n in range(count):
            member = {
                "status": "Active",
                "name": f"{prefix.title()} {n}",
                "given_name": prefix.title(),
                "family_name": str(n),
                "email": f"{prefix}{n}@lms.example",
                "user_id": f"{prefix}-sub-{n}",
                "roles": [role],
            }
            self.members.append(member)
            added.append(member)
        return added

    # -- helpers -------------------------------------------------------------------

    def _tool_jwks(self) -> dict:
        if self.tool_jwks_provider is not None:
            return self.tool_jwks_provider()
        return requests.get(self.tool_jwks_url, timeout=5).json()

    def _scopes_of_request(self) -> set | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self.issued_tokens.get(header[len("Bearer ") :])

    def _authorise(self, *needed: str) -> Response | None:
        """None when the bearer token grants one of ``needed``, else the refusal."""
        scopes = self._scopes_of_request()
        if scopes is None:
            return _problem(401, "missing or unknown bearer token")
        if not scopes & set(needed):
            return _problem(403, "token lacks the scope for this service")
        return None

    def _page(self, items: list, default_size: int) -> tuple[list, str | None]:
        limit = request.args.get("limit", type=int) or default_size
        limit = min(limit, default_size)
        page = request.args.get("page", default=1, type=int)
        start = (page - 1) * limit
        chunk = items[start : start + limit]
        next_url = None
        if start + limit < len(items):
            args = request.args.to_dict()
            args["page"] = str(page + 1)
            query = "&".join(f"{k}={v}" for k, v in args.items())
            next_url = f"{self.base_url}{request.path}?{query}"
        return chunk, next_url

    @staticmethod
    def _with_links(body, media_type: str, next_url: str | None, status: int = 200) -> Response:
        response = Response(json.dumps(body), status=status, mimetype=media_type)
        if next_url:
            # An extra relation first, so the tool must pick "next" out of several.
            response.headers["Link"] = (
                f'<{next_url.split("?")[0]}>; rel="first", <{next_url}>; rel="next"'
            )
        return response

    def _line_item_json(self, context_id: str, number: int) -> dict:
        return {"id": self.lineitem_url(number, context_id), **self.line_items[number]}

    # -- routes --------------------------------------------------------------------

    def register_routes(self, app: Flask) -> None:
        super().register_routes(app)
        platform = self

        @app.before_request
        def _maybe_down():
            if platform.down:
                platform.refused_while_down += 1
                return _problem(503, "platform is down for maintenance")
            platform.service_requests.append(
                {
                    "method": request.method,
                    "path": request.full_path,
                    "headers": dict(request.headers),
                }
            )
            return None

        def token():
            # 1EdTech Security Framework §4.1: client_credentials + RFC 7523 assertion.
            form = request.form.to_dict()
            platform.token_requests.append(form)
            if form.get("grant_type") != "client_credentials":
                return _problem(400, "unsupported_grant_type")
            if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
                return _problem(400, "invalid_client: assertion type")
            assertion = form.get("client_assertion", "")
            try:
                header = jwt.get_unverified_header(assertion)
                keys = [
                    k for k in platform._tool_jwks()["keys"] if k.get("kid") == header.get("kid")
                ]
                if not keys:
                    return _problem(401, "invalid_client: unknown kid")
                public_key = RSAAlgorithm.from_jwk(json.dumps(keys[0]))
                claims = jwt.decode(
                    assertion,
                    public_key,
                    algorithms=["RS256"],
                    audience=platform.token_audience or platform.token_url,
                    options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
                )
            except jwt.InvalidTokenError as exc:
                return _problem(401, f"invalid_client: {exc}")
            if claims["iss"] != platform.client_id or claims["sub"] != platform.client_id:
                return _problem(401, "invalid_client: wrong client")
            with platform._lock:
                if claims["jti"] in platform.used_jtis:
                    return _problem(401, "invalid_client: assertion replayed")
                platform.used_jtis.add(claims["jti"])
            requested = set(form.get("scope", "").split())
            granted = requested & set(SUPPORTED_SCOPES)
            if not granted:
                return _problem(400, "invalid_scope")
            access_token = "at-" + uuid.uuid4().hex
            platform.issued_tokens[access_token] = granted
            return jsonify(
                {
                    "access_token": access_token,
                    "token_type": "Bearer",
                    "expires_in": platform.token_lifetime,
                    "scope": " ".join(sorted(granted)),
                }
            )

        # Replace the base platform's permissive token stub.
        app.view_functions["token"] = token

        @app.get("/ags/<context_id>/lineitems")
        def lineitems(context_id):
            refusal = platform._authorise(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
            if refusal:
                return refusal
            if request.headers.get("Accept") != MEDIA_LINEITEM_CONTAINER:
                return _problem(406, "Accept must be the line item container media type")
            items = [platform._line_item_json(context_id, n) for n in sorted(platform.line_items)]
            for name, key in (
                ("resource_link_id", "resourceLinkId"),
                ("tag", "tag"),
                ("resource_id", "resourceId"),
            ):
                if request.args.get(name):
                    items = [i for i in items if i.get(key) == request.args[name]]
            chunk, next_url = platform._page(items, platform.lineitems_page_size)
            return platform._with_links(chunk, MEDIA_LINEITEM_CONTAINER, next_url)

        @app.post("/ags/<context_id>/lineitems")
        def create_lineitem(context_id):
            refusal = platform._authorise(SCOPE_LINEITEM)
            if refusal:
                return refusal
            if request.mimetype != MEDIA_LINEITEM:
                return _problem(415, "Content-Type must be the line item media type")
            body = request.get_json(force=True)
            if not body.get("label") or not body.get("scoreMaximum"):
                return _problem(400, "label and scoreMaximum are required")
            with platform._lock:
                number = max(platform.line_items, default=0) + 1
                platform.line_items[number] = {
                    k: body[k]
                    for k in ("label", "scoreMaximum", "resourceLinkId", "resourceId", "tag")
                    if k in body
                }
            return Response(
                json.dumps(platform._line_item_json(context_id, number)),
                status=201,
                mimetype=MEDIA_LINEITEM,
            )

        @app.get("/ags/<context_id>/lineitems/<int:number>")
        def lineitem(context_id, number):
            refusal = platform._authorise(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
            if refusal:
                return refusal
            if number not in platform.line_items:
                return _problem(404, "no such line item")
            return Response(
                json.dumps(platform._line_item_json(context_id, number)), mimetype=MEDIA_LINEITEM
            )

        @app.put("/ags/<context_id>/lineitems/<int:number>")
        def update_lineitem(context_id, number):
            # AGS 2.0 §3.2: a PUT carries the whole line item; what it leaves out is gone.
            refusal = platform._authorise(SCOPE_LINEITEM)
            if refusal:
                return refusal
            if request.mimetype != MEDIA_LINEITEM:
                return _problem(415, "Content-Type must be the line item media type")
            if number not in platform.line_items:
                return _problem(404, "no such line item")
            body = request.get_json(force=True)
            if not body.get("label") or not body.get("scoreMaximum"):
                return _problem(400, "label and scoreMaximum are required")
            with platform._lock:
                platform.line_items[number] = {k: v for k, v in body.items() if k != "id"}
                platform.line_item_puts.append({"lineitem": number, **body})
            return Response(
                json.dumps(platform._line_item_json(context_id, number)), mimetype=MEDIA_LINEITEM
            )

        @app.post("/ags/<context_id>/lineitems/<int:number>/scores")
        def scores(context_id, number):
            refusal = platform._authorise(SCOPE_SCORE)
            if refusal:
                return refusal
            if request.mimetype != MEDIA_SCORE:
                return _problem(415, "Content-Type must be the score media type")
            if number not in platform.line_items:
                return _problem(404, "no such line item")
            score = request.get_json(force=True)
            missing = [
                k
                for k in ("userId", "activityProgress", "gradingProgress", "timestamp")
                if k not in score
            ]
            if missing:
                return _problem(400, "missing " + ", ".join(missing))
            if "scoreGiven" in score and "scoreMaximum" not in score:
                return _problem(400, "scoreGiven needs scoreMaximum")
            stamp = datetime.fromisoformat(score["timestamp"])
            if stamp.tzinfo is None:
                return _problem(400, "timestamp needs a time zone")
            key = (number, score["userId"])
            with platform._lock:
                current = platform.results.get(key)
                if current and stamp <= current["_timestamp"]:
                    # AGS 2.0 §3.4.3: an older score does not change the result.
                    platform.ignored_scores.append(score)
                    return Response(status=204)
                platform.scores.append({"lineitem": number, **score})
                platform.results[key] = {
                    "userId": score["userId"],
                    "resultScore": score.get("scoreGiven"),
                    "resultMaximum": score.get("scoreMaximum"),
                    "comment": score.get("comment"),
                    "_timestamp": stamp,
                }
            return Response(status=204)

        @app.get("/ags/<context_id>/lineitems/<int:number>/results")
        def results(context_id, number):
            refusal = platform._authorise(SCOPE_RESULT)
            if refusal:
                return refusal
            if request.headers.get("Accept") != MEDIA_RESULT_CONTAINER:
                return _problem(406, "Accept must be the result container media type")
            lineitem_id = platform.lineitem_url(number, context_id)
            items = [
                {
                    "id": f"{lineitem_id}/results/{uid}",
                    "scoreOf": lineitem_id,
                    **{k: v for k, v in result.items() if not k.startswith("_")},
                }
                for (n, uid), result in sorted(platform.results.items())
                if n == number
            ]
            if request.args.get("user_id"):
                items = [i for i in items if i["userId"] == request.args["user_id"]]
            chunk, next_url = platform._page(items, platform.results_page_size)
            return platform._with_links(chunk, MEDIA_RESULT_CONTAINER, next_url)

        @app.get("/nrps/<context_id>")
        def memberships(context_id):
            refusal = platform._authorise(SCOPE_NRPS)
            if refusal:
                return refusal
            if platform.nrps_down:
                return _problem(500, "membership service failed")
            if request.headers.get("Accept") != MEDIA_MEMBERSHIP:
                return _problem(406, "Accept must be the membership container media type")
            members = list(platform.members) or [
                {"status": "Active", "name": u.name, "user_id": u.sub, "roles": list(u.roles)}
                for u in platform.users.values()
            ]
            chunk, next_url = platform._page(members, platform.members_page_size)
            body = {
                "id": platform.base_url + request.full_path,
                "context": {"id": context_id, "label": "ALG1", "title": platform.context_title},
                "members": chunk,
            }
            return platform._with_links(body, MEDIA_MEMBERSHIP, next_url)

        @app.get("/admin/register-tool")
        def register_tool_page():
            # The platform's admin page for dynamic registration: it opens the tool's
            # registration URL in a frame and waits for org.imsglobal.lti.close.
            src = (
                request.args["url"]
                + "?"
                + urlencode(
                    {
                        "openid_configuration": platform.openid_configuration_url,
                        "registration_token": platform.registration_token,
                    }
                )
            )
            return Response(REGISTRATION_PAGE.replace("__SRC__", str(escape(src))))

        @app.get("/.well-known/openid-configuration")
        def openid_configuration():
            platform.config_requests.append(dict(request.headers))
            if request.headers.get("Authorization") != f"Bearer {platform.registration_token}":
                return _problem(401, "registration token required")
            return jsonify(platform.openid_configuration())

        @app.post("/register")
        def register():
            # LTI Dynamic Registration 1.0 §3.5-3.6.
            if request.headers.get("Authorization") != f"Bearer {platform.registration_token}":
                return _problem(401, "registration token required")
            if request.mimetype != "application/json":
                return _problem(415, "application/json required")
            body = request.get_json(force=True)
            platform.registrations.append(body)
            tool_config = body.get("https://purl.imsglobal.org/spec/lti-tool-configuration") or {}
            problems = [
                name
                for name in ("initiate_login_uri", "redirect_uris", "jwks_uri", "scope")
                if not body.get(name)
            ]
            if body.get("token_endpoint_auth_method") != "private_key_jwt":
                problems.append("token_endpoint_auth_method")
            if not tool_config.get("messages"):
                problems.append("messages")
            if problems:
                return _problem(400, "invalid_client_metadata: " + ", ".join(problems))
            number = len(platform.registrations)
            platform.client_id = f"dyn-client-{number}"
            platform.deployment_id = f"dyn-deployment-{number}"
            platform.tool_login_url = body["initiate_login_uri"]
            platform.tool_launch_url = body["redirect_uris"][0]
            platform.tool_jwks_url = body["jwks_uri"]
            answer = dict(body)
            answer["client_id"] = platform.client_id
            answer["https://purl.imsglobal.org/spec/lti-tool-configuration"] = {
                **tool_config,
                "deployment_id": platform.deployment_id,
            }
            return jsonify(answer), platform.registration_status

    def openid_configuration(self) -> dict:
        """The platform's openid-configuration (LTI Dynamic Registration 1.0 §3.4.1)."""
        extra = {"authorization_server": self.authorization_server}
        return {
            **{name: value for name, value in extra.items() if value},
            "issuer": self.issuer,
            "authorization_endpoint": self.auth_url,
            "token_endpoint": self.token_url,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "jwks_uri": self.jwks_url,
            "registration_endpoint": self.registration_url,
            "scopes_supported": ["openid", *SUPPORTED_SCOPES],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": self.product_family_code,
                "version": "4.4",
                "messages_supported": [
                    {"type": "LtiResourceLinkRequest"},
                    {"type": "LtiDeepLinkingRequest"},
                ],
            },
        }


# The LMS side of LTI Dynamic Registration 1.0 §3.7: the registration frame posts
# {subject: "org.imsglobal.lti.close"} when it is done; the platform closes it.
REGISTRATION_PAGE = """<!doctype html>
<html><head><title>Test LMS tool registration</title></head>
<body>
<h1>Register a tool</h1>
<p id="status">registering</p>
<iframe id="registration" src="__SRC__" width="800" height="500"></iframe>
<script>
  window.addEventListener("message", function (event) {
    if (event.data && event.data.subject === "org.imsglobal.lti.close") {
      document.getElementById("registration").remove();
      document.getElementById("status").textContent = "closed by " + event.origin;
    }
  });
</script>
</body></html>
"""
