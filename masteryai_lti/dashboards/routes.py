"""The dashboards' static files (scripts and styles), under /static/dashboards/."""

from __future__ import annotations

from flask import Blueprint

dashboards_bp = Blueprint(
    "dashboards",
    __name__,
    static_folder="static",
    static_url_path="/static/dashboards",
    template_folder="templates",
)
