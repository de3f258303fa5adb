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


def _login_url(person: str, hint: str) -> str:
    """Where a launch starts: the tool's OIDC login, as an LMS sends the browser there."""
    params = {
        "iss": _issuer(),
        "login_hint": person,
        "lti_message_hint": hint,
        "target_link_uri": url_for("lti.launch", _external=True),
        "client_id": platform.CLIENT_ID,
        "lti_deployment_id": platform.DEPLOYMENT_ID,
    }
    return url_for("lti.login") + "?" + urlencode(params)


@sandbox_bp.get("/")
def index():
    """The sandbox course page: buttons that launch the tool in a frame."""
    platform.ensure_registration(_issuer(), url_for("lti_sandbox.auth", _external=True))
    launches = {
        "teacher": _login_url("teacher", "teacher"),
        "student": _login_url("student", "student"),
        "deep_link": _login_url("teacher", "deep_link"),
    }
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
    link = None
    if hint.startswith(platform.LINK_HINT):
        # An activity the tool placed earlier (see deep_link_return), opened as in an LMS.
        opened = platform.read_link_hint(hint)
        if opened is None:
            abort(400, "The activity to open is not one the sandbox made.")
        person, link = opened
    token = platform.id_token(
        issuer=_issuer(),
        person=person,
        nonce=params.get("nonce", ""),
        launch_url=launch_url,
        deep_link_return=url_for("lti_sandbox.deep_link_return", _external=True),
        deep_link=hint == "deep_link",
        now=int(utcnow().timestamp()),
        link=link,
    )
    return render_template(
        "lti/autopost.html", action=launch_url, fields={"id_token": token, "state": params["state"]}
    )


@sandbox_bp.post("/deep_link_return")
def deep_link_return():
    """Show what the tool sent back, verified against the tool's own JWKS, as the
    activities an LMS would now have in the course: each opens as a student or the
    teacher, through a launch of the link an LMS would have made for it."""
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
    added = []
    for item in items:
        if item.get("type") != "ltiResourceLink":
            continue
        link = platform.placed_link(item)
        line_item = item.get("lineItem") or {}
        added.append(
            {
                "id": link["id"],
                "title": link["title"],
                "text": item.get("text", ""),
                "points": line_item.get("scoreMaximum"),
                "as_student": _login_url("student", platform.link_hint("student", link)),
                "as_teacher": _login_url("teacher", platform.link_hint("teacher", link)),
            }
        )
    return render_template(
        "lti_sandbox/deep_link_result.html",
        items=items,
        added=added,
        claims=claims,
        course_title=platform.DEMO_COURSE["title"],
    )
