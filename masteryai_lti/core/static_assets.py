"""Static files shared by every feature (vendored API docs assets, base styles)."""

from __future__ import annotations

from flask import Blueprint

blp = Blueprint(
    "core_static",
    __name__,
    static_folder="static",
    static_url_path="/static/core",
)
