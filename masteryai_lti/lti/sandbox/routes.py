"""Routes of the development sandbox LMS (see the package docstring)."""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
from flask import Blueprint, abort, current_app, render_template, request, url_for
from jwt.algorithms import RSAAlgorithm

from masteryai_lti.core.clock import utcnow
from masteryai_lti.lti import keys
from masteryai_lti.lti.sandbox import platform

sandbox_bp = Blueprint(
    "lti_sandbox", __name__, url_prefix="/lti/sandbox", template_folder="templates"
)


@sandbox_bp.before_request
def _only_in_development():
    # Belt and braces: the blueprint is not even registered in production.
    if not current_app.config.get("LTI_SANDBOX_ENABLED"):
        abort(404)


def _issuer() -> str:
    return url_for("lti_sandbox.index", _external=True).rstrip("/")


@sandbox_bp.get("/")
def index():
    """The sandbox course page: buttons that launch the tool in a frame."""
    issuer = _issuer()
    platform.ensure_registration(issuer, url_for("lti_sandbox.auth", _external=True))
    launches = {}
    for name, hint in (("teacher", "teacher"), ("student", "student"), ("deep_link", "deep_link")):
        params = {
            "iss": issuer,
            "login_hint": "teacher" if hint == "deep_link" else hint,
            "lti_message_hint": hint,
            "target_link_uri": url_for("lti.launch", _external=True),
            "client_id": platform.CLIENT_ID,
            "lti_deployment_id": platform.DEPLOYMENT_ID,
        }
        launches[name] = url_for("lti.login") + "?" + urlencode(params)
    return render_template(
        "lti_sandbox/index.html", launches=launches, course_title=platform.DEMO_COURSE["title"]
    )


@sandbox_bp.route("/auth", methods=["GET", "POST"])
def auth():
    """The sandbox's OIDC authorization endpoint: sign an id_token and post it back."""
    params = request.values
    if params.get("client_id") != platform.CLIENT_ID:
        abort(400, "unknown client_id")
    launch_url = url_for("lti.launch", _external=True)
    if params.get("redirect_uri") != launch_url:
        abort(400, "redirect_uri is not the tool's launch URL")
    hint = params.get("lti_message_hint", "student")
    person = "teacher" if hint in ("teacher", "deep_link") else "student"
    token = platform.id_token(
        issuer=_issuer(),
        person=person,
        nonce=params.get("nonce", ""),
        launch_url=launch_url,
        deep_link_return=url_for("lti_sandbox.deep_link_return", _external=True),
        deep_link=hint == "deep_link",
        now=int(utcnow().timestamp()),
    )
    return render_template(
        "lti/autopost.html", action=launch_url, fields={"id_token": token, "state": params["state"]}
    )


@sandbox_bp.post("/deep_link_return")
def deep_link_return():
    """Show what the tool sent back, verified against the tool's own JWKS."""
    token = request.form.get("JWT", "")
    kid = jwt.get_unverified_header(token).get("kid")
    match = [k for k in keys.public_jwks()["keys"] if k["kid"] == kid]
    if not match:
        abort(400, "The response is not signed by a published tool key.")
    import json

    claims = jwt.decode(
        token,
        RSAAlgorithm.from_jwk(json.dumps(match[0])),
        algorithms=["RS256"],
        audience=_issuer(),
    )
    items = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", [])
    return render_template("lti_sandbox/deep_link_result.html", items=items, claims=claims)
