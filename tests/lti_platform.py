"""A tiny LTI 1.3 platform (an LMS stand-in) served on loopback for integration tests.

It has its own RSA keys and publishes them at ``/jwks``; it answers the OIDC
authorization request at ``/auth`` with an auto-posting form carrying a freshly
signed ``id_token``; it hosts a course page (``/course``) that frames the tool and
answers the LTI client-side postMessage storage calls (``lti.put_data`` /
``lti.get_data``), for browser tests with third-party cookies refused; and it has
``/token`` plus AGS and NRPS stubs that record what the tool sent.

Tests build id_tokens directly too (:meth:`TestPlatform.id_token`) so each launch
failure signs its own fresh JWT; nothing is recorded and replayed.

How to extend (AGS, NRPS, dynamic registration):

* Subclass :class:`TestPlatform` and override :meth:`TestPlatform.register_routes`,
  calling ``super().register_routes(app)`` first, then add routes to ``app``.
  Routes must be added before :meth:`start` (Flask refuses new routes after the
  first request).
* State the platform keeps for assertions lives in plain attributes
  (``self.scores``, ``self.token_requests``, ``self.members``...); add yours the
  same way in ``__init__``.
* :meth:`claims_for` builds the launch claims; pass ``extra_claims`` to
  :meth:`id_token` or override it to add service claims by default.

Use as a context manager or call :meth:`start` / :meth:`stop`::

    with TestPlatform() as platform:
        platform.register_in(app)   # creates the registration rows on the tool
        ...
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, jsonify, request
from jwt.algorithms import RSAAlgorithm
from markupsafe import escape
from werkzeug.serving import make_server

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI_AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/"
LTI_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/"

ROLE_INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
ROLE_LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
ROLE_TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
ROLE_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"


@dataclass
class PlatformKey:
    """One RSA key of the platform, with the kid it publishes."""

    kid: str
    private_key: Any
    published: bool = True

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_jwk(self) -> dict:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return jwk


def new_platform_key(kid: str | None = None) -> PlatformKey:
    """A fresh 2048-bit RSA key (the LTI minimum)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return PlatformKey(kid=kid or "plat-" + uuid.uuid4().hex[:12], private_key=key)


@dataclass
class PlatformUser:
    """A person in the platform's course."""

    sub: str
    roles: list[str]
    name: str = ""
    email: str = ""


@dataclass
class TestPlatform:
    """An LTI 1.3 platform on ``http://127.0.0.1:<port>``; see the module docstring."""

    __test__ = False  # not a pytest test class

    client_id: str = "tool-client-1"
    deployment_id: str = "deployment-1"
    context_id: str = "course-ctx-1"
    context_title: str = "Algebra I"
    resource_link_id: str = "rl-1"
    host: str = "127.0.0.1"
    # Filled in by start().
    port: int = 0
    keys: list[PlatformKey] = field(default_factory=list)
    users: dict[str, PlatformUser] = field(default_factory=dict)
    # Everything the tool sent, for assertions.
    auth_requests: list[dict] = field(default_factory=list)
    jwks_requests: int = 0
    token_requests: list[dict] = field(default_factory=list)
    deep_link_responses: list[dict] = field(default_factory=list)
    scores: list[dict] = field(default_factory=list)
    members: list[dict] = field(default_factory=list)
    # The tool's URLs, set by register_in / by the test.
    tool_login_url: str = ""
    tool_launch_url: str = ""
    tool_jwks_url: str = ""

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys.append(new_platform_key())
        if not self.users:
            self.users = {
                "teacher": PlatformUser("teacher-sub-1", [ROLE_INSTRUCTOR], "Tess Teacher"),
                "student": PlatformUser("student-sub-1", [ROLE_LEARNER], "Sam Student"),
            }
        self._server = None
        self._thread = None
        self.app = Flask(f"lti-test-platform-{id(self)}")
        self.register_routes(self.app)

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> TestPlatform:
        """Serve on a free loopback port in a daemon thread."""
        self._server = make_server(self.host, self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> TestPlatform:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def auth_url(self) -> str:
        return self.base_url + "/auth"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/jwks"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def deep_link_return_url(self) -> str:
        return self.base_url + "/deep_link_return"

    # -- keys ----------------------------------------------------------------------

    @property
    def signing_key(self) -> PlatformKey:
        return self.keys[-1]

    def rotate_key(self, drop_old: bool = True) -> PlatformKey:
        """Start signing with a new key; by default the old one leaves the JWKS at once."""
        if drop_old:
            for key in self.keys:
                key.published = False
        key = new_platform_key()
        self.keys.append(key)
        return key

    def jwks(self) -> dict:
        return {"keys": [k.public_jwk for k in self.keys if k.published]}

    # -- tokens --------------------------------------------------------------------

    def claims_for(
        self,
        user: str | PlatformUser = "student",
        *,
        nonce: str | None = None,
        message_type: str = "LtiResourceLinkRequest",
        target_link_uri: str | None = None,
    ) -> dict:
        """The claims of a resource-link (or deep-linking) launch for ``user``."""
        person = self.users[user] if isinstance(user, str) else user
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": person.sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce or uuid.uuid4().hex,
            "name": person.name,
            "email": person.email,
            LTI + "message_type": message_type,
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": target_link_uri or self.tool_launch_url,
            LTI + "roles": list(person.roles),
            LTI + "context": {
                "id": self.context_id,
                "label": "ALG1",
                "title": self.context_title,
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
            },
            LTI + "tool_platform": {"guid": f"platform-{self.port}", "name": "Test LMS"},
        }
        if message_type == "LtiResourceLinkRequest":
            claims[LTI + "resource_link"] = {"id": self.resource_link_id, "title": "Practice"}
            claims[LTI_AGS + "endpoint"] = {
                "scope": [
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                ],
                "lineitems": self.base_url + f"/ags/{self.context_id}/lineitems",
                "lineitem": self.base_url + f"/ags/{self.context_id}/lineitems/1",
            }
            claims[LTI_NRPS + "namesroleservice"] = {
                "context_memberships_url": self.base_url + f"/nrps/{self.context_id}",
                "service_versions": ["2.0"],
            }
        elif message_type == "LtiDeepLinkingRequest":
            claims[LTI_DL + "deep_linking_settings"] = {
                "deep_link_return_url": self.deep_link_return_url,
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": True,
                "data": "opaque-platform-data-" + uuid.uuid4().hex[:8],
            }
        return claims

    def sign(self, claims: dict, key: PlatformKey | None = None, kid: str | None = None) -> str:
        """Sign ``claims`` with ``key`` (default: the current key), header kid ``kid``."""
        key = key or self.signing_key
        return jwt.encode(
            claims,
            key.private_key,  # the key object: re-parsing a PEM costs ~10-90 ms
            algorithm="RS256",
            headers={"kid": kid if kid is not None else key.kid},
        )

    def id_token(
        self,
        user: str | PlatformUser = "student",
        *,
        nonce: str | None = None,
        message_type: str = "LtiResourceLinkRequest",
        extra_claims: dict | None = None,
        drop_claims: tuple[str, ...] = (),
        key: PlatformKey | None = None,
        kid: str | None = None,
    ) -> str:
        """A freshly signed id_token; ``extra_claims`` override, ``drop_claims`` remove."""
        claims = self.claims_for(user, nonce=nonce, message_type=message_type)
        claims.update(extra_claims or {})
        for name in drop_claims:
            claims.pop(name, None)
        return self.sign(claims, key=key, kid=kid)

    def login_params(self, user: str = "student", **extra: str) -> dict:
        """The third-party-initiated login parameters the platform sends the tool."""
        params = {
            "iss": self.issuer,
            "login_hint": self.users[user].sub,
            "target_link_uri": self.tool_launch_url,
            "lti_message_hint": user,
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }
        params.update(extra)
        return params

    def authorize(
        self,
        auth_request_url: str,
        user: str | None = None,
        *,
        message_type: str = "LtiResourceLinkRequest",
        extra_claims: dict | None = None,
        drop_claims: tuple[str, ...] = (),
    ) -> tuple[str, dict]:
        """Answer the tool's OIDC auth redirect like the platform would, without HTTP.

        Returns ``(redirect_uri, form)`` where ``form`` holds ``id_token`` and ``state``
        for the test to POST to the tool's launch URL.
        """
        query = {k: v[0] for k, v in parse_qs(urlsplit(auth_request_url).query).items()}
        user = user or query.get("lti_message_hint") or "student"
        token = self.id_token(
            user,
            nonce=query["nonce"],
            message_type=message_type,
            extra_claims=extra_claims,
            drop_claims=drop_claims,
        )
        return query["redirect_uri"], {"id_token": token, "state": query["state"]}

    # -- HTTP routes -----------------------------------------------------------------

    def register_routes(self, app: Flask) -> None:
        """Install the platform's endpoints on ``app``; subclasses add theirs after."""
        platform = self

        @app.get("/jwks")
        def jwks():
            platform.jwks_requests += 1
            return jsonify(platform.jwks())

        @app.route("/auth", methods=["GET", "POST"])
        def auth():
            # OIDC authentication request (LTI 1.3 core §5.1.1.2): the platform checks
            # client_id and redirect_uri, then form-posts the id_token to redirect_uri.
            params = request.values.to_dict()
            platform.auth_requests.append(params)
            if params.get("client_id") != platform.client_id:
                return Response("unknown client_id", status=400)
            if params.get("redirect_uri") != platform.tool_launch_url:
                return Response("redirect_uri not registered", status=400)
            message_type = (
                "LtiDeepLinkingRequest"
                if params.get("lti_message_hint") == "deep_link"
                else "LtiResourceLinkRequest"
            )
            user = "teacher" if message_type == "LtiDeepLinkingRequest" else None
            user = user or params.get("lti_message_hint") or "student"
            if user not in platform.users:
                user = "student"
            token = platform.id_token(user, nonce=params["nonce"], message_type=message_type)
            return autopost_form(
                params["redirect_uri"], {"id_token": token, "state": params["state"]}
            )

        @app.post("/deep_link_return")
        def deep_link_return():
            # Verified here, on the platform side, against the tool's published JWKS.
            token = request.form["JWT"]
            header = jwt.get_unverified_header(token)
            import requests as http

            jwks = http.get(platform.tool_jwks_url, timeout=5).json()
            match = [k for k in jwks["keys"] if k["kid"] == header.get("kid")]
            if not match:
                return Response("unknown tool kid", status=400)
            key = RSAAlgorithm.from_jwk(json.dumps(match[0]))
            try:
                claims = jwt.decode(token, key, algorithms=["RS256"], audience=platform.issuer)
            except jwt.InvalidTokenError as exc:
                return Response(f"bad deep linking JWT: {exc}", status=400)
            platform.deep_link_responses.append(claims)
            return Response("deep link received", status=200)

        @app.get("/course")
        def course_page():
            # An LMS course page framing the tool, the way Moodle and Canvas do, plus
            # the platform side of LTI client-side postMessage storage.
            user = request.args.get("user", "student")
            # ?storage=none: an LMS without platform storage (Moodle 4.x).
            storage = (
                {} if request.args.get("storage") == "none" else {"lti_storage_target": "_parent"}
            )
            params = platform.login_params(user, **storage)
            src = platform.tool_login_url + "?" + urlencode(params)
            return Response(COURSE_PAGE.replace("__SRC__", str(escape(src))))

        @app.post("/token")
        def token():
            platform.token_requests.append(request.form.to_dict())
            return jsonify(
                {
                    "access_token": "at-" + uuid.uuid4().hex,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": request.form.get("scope", ""),
                }
            )

    # -- tool side -----------------------------------------------------------------

    def register_in(self, app, institution_slug: str | None = None, **kwargs) -> Any:
        """Create this platform's registration and deployment in the tool's database.

        Also points the platform at the tool's loopback URLs (``tool_base_url`` kwarg,
        default ``http://localhost``, which is what Flask's test client uses).
        """
        from masteryai_lti.lti import registry

        tool_base = kwargs.pop("tool_base_url", "http://localhost")
        self.tool_login_url = tool_base + "/lti/login"
        self.tool_launch_url = tool_base + "/lti/launch"
        self.tool_jwks_url = tool_base + "/lti/jwks"
        with app.app_context():
            return registry.register_platform(
                issuer=self.issuer,
                client_id=self.client_id,
                auth_login_url=self.auth_url,
                auth_token_url=self.token_url,
                key_set_url=self.jwks_url,
                deployment_ids=[self.deployment_id],
                institution_slug=institution_slug or f"platform-{self.port}-{self.client_id}",
                institution_name=f"Test LMS {self.port}",
                **kwargs,
            ).id


def autopost_form(action: str, fields: dict[str, str]) -> Response:
    """An HTML page that POSTs ``fields`` to ``action`` as soon as it loads."""
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    html = (
        f'<!doctype html><form id="f" method="post" action="{escape(action)}">{inputs}</form>'
        '<script>document.getElementById("f").submit()</script>'
    )
    return Response(html, mimetype="text/html")


# The platform's half of the LTI client-side postMessage storage (1EdTech "LTI
# Client Side postMessages" and "OIDC Login with LTI Client Side postMessages").
COURSE_PAGE = """<!doctype html>
<html><head><title>Test LMS course</title></head>
<body>
<h1>Test LMS course</h1>
<script>
  var store = {};
  window.addEventListener("message", function (event) {
    var m = event.data || {};
    var reply = null;
    if (m.subject === "lti.capabilities") {
      reply = {subject: "lti.capabilities.response", message_id: m.message_id,
               supported_messages: [{subject: "lti.put_data"}, {subject: "lti.get_data"}]};
    } else if (m.subject === "lti.put_data") {
      store[event.origin + "|" + m.key] = m.value;
      reply = {subject: "lti.put_data.response", message_id: m.message_id,
               key: m.key, value: m.value};
    } else if (m.subject === "lti.get_data") {
      reply = {subject: "lti.get_data.response", message_id: m.message_id,
               key: m.key, value: store[event.origin + "|" + m.key]};
    }
    if (m.subject === "lti.frameResize") {  // as Canvas does: the frame takes the height
      window.frameResized = m.height;
      document.getElementById("tool").style.height = m.height + "px";
    }
    if (reply) { event.source.postMessage(reply, event.origin); }
  });
</script>
<iframe id="tool" name="tool" src="__SRC__" width="900" height="600"
        allow="clipboard-write"></iframe>
</body></html>
"""
