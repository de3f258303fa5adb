"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from masteryai_lti.extensions import cache, db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up (no dependency is checked)."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """Ready when the database answers; the cache is reported but never blocks readiness.

    Redis is only a cache and queue broker (DESIGN.md section 7), so a Redis
    outage degrades the app without making it unready.
    """
    checks: dict[str, dict] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"status": "up", "backend": db.engine.dialect.name}
    except Exception as exc:  # any driver error means "not ready"
        db.session.rollback()
        checks["database"] = {"status": "down", "error": exc.__class__.__name__}
    checks["cache"] = {
        "status": "up" if cache.available else "down",
        "backend": cache.backend,
    }
    ready = checks["database"]["status"] == "up"
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return jsonify(body), 200 if ready else 503
