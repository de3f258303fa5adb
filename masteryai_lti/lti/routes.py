"""The ``lti`` blueprint: login, launch, JWKS and the deep-linking picker.

Views only parse the request, call :mod:`masteryai_lti.lti.launch` or
:mod:`masteryai_lti.lti.deep_linking`, and render; every refusal is an
``LtiLaunchError`` rendered as a short HTML page with its 4xx status.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_jwt_extended import decode_token
from jwt import InvalidTokenError

from masteryai_lti.core.clock import utcnow
from masteryai_lti.extensions import db
from masteryai_lti.lti import deep_linking, keys, placements, project_placements, quirks
from masteryai_lti.lti.launch import (
    DEEP_LINKING_REQUEST,
    LTI,
    LaunchOutcome,
    LtiLaunchError,
    begin_login,
    complete_launch,
    launch_record,
    open_pending,
    seal_pending,
    validate_launch,
)
from masteryai_lti.lti.models import LtiRegistration
from masteryai_lti.lti.session import (
    configure_app,
    cookies_can_be_secure,
    issue_session_token,
    state_cookie_name,
)

bp = Blueprint("lti", __name__, url_prefix="/lti", template_folder="templates")


@bp.record_once
def _on_register(state) -> None:
    configure_app(state.app)
    if state.app.config.get("LTI_SANDBOX_ENABLED"):
        # Imported here so production never even loads the sandbox.
        from masteryai_lti.lti.sandbox import sandbox_bp

        state.app.register_blueprint(sandbox_bp)


@bp.errorhandler(LtiLaunchError)
def _launch_refused(error: LtiLaunchError):
    current_app.logger.info("LTI launch refused (%s): %s", error.reason, error.detail)
    return render_template("lti/error.html", error=error), error.status


@bp.after_request
def _no_store(response):
    # Launch pages carry a session token: never cache them anywhere.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Third-party initiated login (LTI 1.3 core §5.1.1.1)."""
    result = begin_login(url_for("lti.launch", _external=True))
    if result.storage_frame:
        # Store state and nonce in the platform's frame first (client-side OIDC),
        # then continue to the platform's authorization endpoint.
        response = current_app.make_response(
            render_template(
                "lti/login_storage.html",
                auth_url=result.auth_url,
                state=result.state,
                sid=result.login.sid,
                nonce=result.login.nonce,
                origin=result.login.storage_origin,
                frame=result.storage_frame,
            )
        )
    elif request.headers.get("Sec-Fetch-Dest") == "iframe":
        # In a frame and without platform storage (Moodle): check the browser keeps
        # the login cookie there, else offer the launch in a new window.
        response = current_app.make_response(
            render_template(
                "lti/login_cookie_check.html",
                auth_url=result.auth_url,
                login_url=url_for("lti.login"),
                login_params=request.values.to_dict(),
                secure_cookie=cookies_can_be_secure(),
            )
        )
    else:
        response = redirect(result.auth_url, code=302)
    return result.cookie_service.update_response(response)


@bp.route("/launch", methods=["GET", "POST"])
def launch():
    """The platform's id_token arrives here (LTI 1.3 core §5.1.2)."""
    if request.method == "GET":
        raise LtiLaunchError(
            "format", "Open this tool from your LMS: a launch is a form post, not a link.", 405
        )
    validated, _cookies = validate_launch()
    if validated.state_binding == "platform_storage":
        return render_template(
            "lti/launch_storage.html",
            pending=seal_pending(validated),
            sid=validated.sid,
            nonce=validated.claims.get("nonce"),
            origin=validated.storage_origin,
            frame=quirks.for_family(validated.platform_family).storage_frame(
                validated.storage_target
            ),
        )
    response = current_app.make_response(_landing(complete_launch(validated)))
    response.delete_cookie(state_cookie_name(validated.sid), path="/")
    return response


@bp.post("/launch/confirm")
def launch_confirm():
    """The launch page checked the platform storage; complete the launch."""
    validated = open_pending(request.form.get("pending", ""), request.form.get("state", ""))
    return _landing(complete_launch(validated))


def _landing(outcome: LaunchOutcome):
    token, lifetime = issue_session_token(
        current_app,
        user_id=outcome.user_id,
        institution_id=outcome.institution_id,
        role=outcome.course_role,
        course_id=outcome.course_id,
        launch_id=outcome.launch_id,
    )
    session = {
        "token": token,
        "expires_in": lifetime,
        "launch_id": outcome.launch_id,
        "course_id": outcome.course_id,
        "user_id": outcome.user_id,
        "role": outcome.course_role,
    }
    if outcome.message_type == DEEP_LINKING_REQUEST:
        return render_template(
            "lti/deep_link_picker.html",
            outcome=outcome,
            session=session,
            items=deep_linking.placeable_items(outcome.course_id),
            accepts_multiple=outcome.accepts_multiple,
        )
    if outcome.landing == "teacher":
        session["activity"] = placements.dated_activity(outcome)
        # A placed project's link opens that project in the teacher's Projects panel.
        session.update(project_placements.teacher_placement(outcome) or {})
        return render_template("lti/teacher.html", outcome=outcome, session=session)
    placement = placements.student_placement(outcome)
    if placement is None:
        placement = project_placements.student_placement(outcome)
    # The page's scripts read what to open from the session.
    for key in ("assignment_id", "project_id"):
        if placement and key in placement:
            session[key] = placement[key]
    return render_template(
        "lti/student.html", outcome=outcome, session=session, placement=placement
    )


@bp.get("/jwks")
def jwks():
    """The tool's public keys: active and retired (Security Framework §6.3)."""
    keys.ensure_key()  # a fresh install publishes its first key on first request
    response = jsonify(keys.public_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.post("/deep_linking/return")
def deep_linking_return():
    """Sign the teacher's picks and post them back to the platform (Deep Linking 2.0 §4)."""
    record = launch_record(request.form.get("launch_id", ""))
    if record is None or record.message_type != DEEP_LINKING_REQUEST:
        raise LtiLaunchError("deep_linking", "No deep-linking launch with this id.", 404)
    try:
        session = decode_token(request.form.get("session_token", ""))
    except (InvalidTokenError, Exception) as exc:  # expired, tampered, missing
        raise LtiLaunchError(
            "deep_linking", "Your session has expired; open the picker again.", 401
        ) from exc
    if session.get("lti_launch") != record.launch_id or session.get("sub") != str(record.user_id):
        raise LtiLaunchError("deep_linking", "This session belongs to another launch.", 403)
    if record.role != "teacher":
        raise LtiLaunchError("deep_linking", "Only teachers can add content.", 403)
    registration = db.session.get(LtiRegistration, record.registration_id)
    quirk = quirks.for_family(registration.platform_family)
    # Cancel returns an empty selection: the LMS closes its picker, nothing added.
    chosen = set() if request.form.get("cancel") else set(request.form.getlist("item"))
    available = {p.key: p for p in deep_linking.placeable_items(record.course_id)}
    unknown = chosen - set(available)
    if unknown:
        raise LtiLaunchError("deep_linking", f"Unknown items: {', '.join(sorted(unknown))}.")
    settings = record.claims.get(deep_linking.SETTINGS_CLAIM) or {}
    action = deep_linking.return_url(
        settings, allow_insecure=bool(current_app.config.get("ALLOW_INSECURE_HTTP"))
    )
    if action is None:
        raise LtiLaunchError(
            "deep_linking", "The LMS gave no web address to return the chosen items to."
        )
    if len(chosen) > 1 and not deep_linking.accepts_multiple(settings):
        raise LtiLaunchError("deep_linking", "This LMS accepts one item at a time.")
    launch_url = url_for("lti.launch", _external=True)
    items = [
        deep_linking.content_item(available[key], launch_url, quirk)
        for key in available
        if key in chosen
    ]
    claims = deep_linking.response_claims(
        issuer=registration.issuer,
        client_id=registration.client_id,
        deployment_id=record.deployment_id,
        settings=settings,
        items=items,
        now=int(utcnow().timestamp()),
    )
    claims["nonce"] = secrets.token_urlsafe(16)
    token = deep_linking.sign_response(claims, keys.signing_key())
    return render_template(
        "lti/autopost.html",
        action=action,
        fields={"JWT": token},
    )


__all__ = ["bp", "LTI"]
