"""Routes that install the tool: ``/lti/register`` (dynamic registration) and
``/lti/config.json`` (Canvas developer key)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from masteryai_lti.extensions import limiter
from masteryai_lti.lti import registration
from masteryai_lti.lti.registration_protocol import (
    RegistrationNotAllowed,
    RegistrationRefused,
    ToolEndpoints,
    canvas_developer_key,
)

registration_bp = Blueprint(
    "lti_registration", __name__, url_prefix="/lti", template_folder="templates"
)


def tool_endpoints() -> ToolEndpoints:
    """This tool's absolute URLs as seen by the platform (honours ProxyFix headers)."""
    launch_url = url_for("lti.launch", _external=True)
    return ToolEndpoints(
        login_url=url_for("lti.login", _external=True),
        launch_url=launch_url,
        jwks_url=url_for("lti.jwks", _external=True),
        # Deep-linking requests land on the launch URL too; the message type decides.
        deep_linking_url=launch_url,
        name=current_app.config.get("LTI_TOOL_NAME", "MasteryAI"),
    )


def _refused(reason: str, status: int):
    response = render_template("lti_registration/refused.html", reason=reason, status=status)
    return response, status, {"Cache-Control": "no-store"}


@registration_bp.get("/register")
# Each call makes this server fetch a URL the caller chose: keep it rare per address.
@limiter.limit(lambda: current_app.config.get("LTI_REGISTRATION_RATE_LIMIT", "30 per hour"))
def register():
    """LTI Dynamic Registration 1.0 §3.3: the platform opens this URL in a window."""
    config_url = request.args.get("openid_configuration", "").strip()
    if not config_url:
        return _refused(
            "This address is for your LMS: paste it into the LMS's LTI Advantage tool "
            'registration ("Register tool by URL"), which adds openid_configuration.',
            400,
        )
    try:
        outcome = registration.register_dynamically(
            config_url,
            request.args.get("registration_token") or None,
            tool_endpoints(),
            requires_approval=bool(current_app.config.get("LTI_REGISTRATION_REQUIRES_APPROVAL")),
            allow_insecure=bool(current_app.config.get("ALLOW_INSECURE_HTTP")),
            allowed_hosts=tuple(current_app.config.get("LTI_REGISTRATION_ALLOWED_HOSTS") or ()),
        )
    except RegistrationNotAllowed as exc:
        current_app.logger.info("dynamic registration not allowed: %s", exc)
        return _refused(str(exc), 403)
    except RegistrationRefused as exc:
        current_app.logger.info("dynamic registration refused: %s", exc)
        return _refused(str(exc), 400)
    except registration.PlatformUnreachable as exc:
        current_app.logger.warning("dynamic registration failed: %s", exc)
        return _refused(str(exc), 502)
    page = render_template("lti_registration/complete.html", outcome=outcome)
    return page, 200, {"Cache-Control": "no-store"}


@registration_bp.get("/config.json")
def canvas_config():
    """The JSON a Canvas admin pastes (or points a developer key "Enter URL" at)."""
    return jsonify(canvas_developer_key(tool_endpoints()))
