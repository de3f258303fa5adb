"""MasteryAI-LTI: adaptive mastery and engagement inside the LMS a school already uses."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import Mapping

from flask import Blueprint, Flask
from flask.cli import AppGroup
from flask_smorest import Blueprint as ApiBlueprint
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import Settings, settings_for

# Feature packages, in the order their blueprints and commands are registered.
FEATURES = (
    "identity",
    "courses",
    "lti",
    "xapi",
    "engagement",
    "mastery",
    "pbl",
    "dashboards",
)


def _load_config(app: Flask, config) -> None:
    if config is None or isinstance(config, str):
        settings = settings_for(config)
        app.config.from_mapping(settings.as_mapping())
    elif isinstance(config, Settings):
        app.config.from_mapping(config.as_mapping())
    elif isinstance(config, type) and issubclass(config, Settings):
        app.config.from_mapping(config().as_mapping())
    elif isinstance(config, Mapping):
        app.config.from_mapping(settings_for(config.get("ENV_NAME")).as_mapping())
        app.config.from_mapping(config)
    else:
        raise TypeError(
            f"create_app takes a settings class, instance, name or mapping, not {config!r}"
        )
    from config.settings import normalise_database_url

    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )


def _configure_api_docs(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "MasteryAI-LTI")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "/docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/static/core/vendor/swagger-ui/")
    app.config.setdefault("OPENAPI_REDOC_PATH", "/redoc")
    app.config.setdefault("OPENAPI_REDOC_URL", "/static/core/vendor/redoc/redoc.standalone.js")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": (
                    "REST API of MasteryAI-LTI for standalone use. Authenticate with "
                    "`POST /api/v1/auth/login` and send `Authorization: Bearer <access_token>`. "
                    "Errors are `application/problem+json`."
                )
            },
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
        },
    )


def _configure_jwt(app: Flask) -> None:
    from datetime import timedelta

    from masteryai_lti.core.errors import problem_response
    from masteryai_lti.extensions import jwt

    app.config.setdefault("JWT_SECRET_KEY", app.config["SECRET_KEY"])
    app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(
        minutes=app.config["ACCESS_TOKEN_EXPIRE_MINUTES"]
    )
    app.config.setdefault("JWT_TOKEN_LOCATION", ["headers"])
    jwt.init_app(app)

    def unauthorized(detail: str):
        return problem_response(
            401,
            "Unauthorized",
            detail,
            type_="https://masteryai.example/problems/unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )

    jwt.unauthorized_loader(lambda reason: unauthorized(f"Missing bearer token: {reason}"))
    jwt.invalid_token_loader(lambda reason: unauthorized(f"Invalid token: {reason}"))
    jwt.expired_token_loader(lambda header, payload: unauthorized("The access token has expired."))
    jwt.revoked_token_loader(
        lambda header, payload: unauthorized("The token was revoked: its session was ended.")
    )

    @jwt.token_in_blocklist_loader
    def _session_revoked(_header, payload) -> bool:
        # Logout and refresh-token reuse revoke a session (a refresh-token family);
        # the access tokens issued in it must stop working too, not live out their
        # lifetime. The same query loads the user the request acts for.
        from masteryai_lti.identity import service

        return service.access_token_revoked(payload)


def _register_feature(app: Flask, feature: str) -> None:
    from masteryai_lti.extensions import api

    package_name = f"{__name__}.{feature}"
    package = importlib.import_module(package_name)
    if importlib.util.find_spec(f"{package_name}.models"):
        importlib.import_module(f"{package_name}.models")
    for module_info in pkgutil.iter_modules(package.__path__):
        name = module_info.name
        if name == "api" or name.endswith("_api"):
            module = importlib.import_module(f"{package_name}.{name}")
            for value in vars(module).values():
                if isinstance(value, ApiBlueprint):
                    api.register_blueprint(value)
        elif name == "routes" or name.endswith("_routes"):
            module = importlib.import_module(f"{package_name}.{name}")
            for value in vars(module).values():
                if isinstance(value, Blueprint) and not isinstance(value, ApiBlueprint):
                    app.register_blueprint(value)
        elif name == "cli":
            module = importlib.import_module(f"{package_name}.cli")
            group = getattr(module, "cli", None)
            if isinstance(group, AppGroup):
                app.cli.add_command(group)
    init_app = getattr(package, "init_app", None)
    if callable(init_app):
        init_app(app)


def create_app(config=None) -> Flask:
    """Build the application.

    ``config`` is a settings name ("development", "test", "production"), a
    settings class or instance from ``config.settings``, or a mapping of keys
    that override the environment's settings (tests pass one). ``None`` reads
    ``MASTERYAI_ENV``.
    """
    app = Flask(__name__, instance_relative_config=True)
    _load_config(app, config)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        from pathlib import Path

        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///") :]).parent.mkdir(
            parents=True, exist_ok=True
        )

    proxies = app.config.get("TRUSTED_PROXY_COUNT", 0)
    if proxies:
        # Every forwarded part: the URLs handed to LMSs (launch, JWKS, deep-linking
        # return) must carry the scheme, host, port and path prefix they reach us by.
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=proxies,
            x_proto=proxies,
            x_host=proxies,
            x_port=proxies,
            x_prefix=proxies,
        )

    from masteryai_lti.core import api_input, errors, health, security_headers, static_assets
    from masteryai_lti.extensions import api, cache, cors, db, jobs, limiter, migrate

    db.init_app(app)
    _enable_sqlite_foreign_keys(app)
    security_headers.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    from masteryai_lti.core.cache_generation import DatabaseGeneration

    app.extensions["masteryai_cache_generations"] = DatabaseGeneration(app)
    cache.init_app(app)
    jobs.init_app(app)
    _configure_jwt(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Both timeouts, as the cache's: without a read timeout a Redis that accepts
    # connections but stalls (blocked on a fork, a paused VM, a half-open network path)
    # held every rate-limited request for redis-py's default 5 s per limit checked.
    app.config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    )
    # Registered before the limiter's own hook so it runs after it (Flask runs
    # after_request hooks last-registered first).
    app.after_request(_retry_after_only_when_refused)
    limiter.init_app(app)
    # After the limiter: every request is counted before its body is looked at.
    api_input.init_app(app)
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": app.config.get("ALLOWED_ORIGINS") or []}},
        supports_credentials=False,
        # Scripts in another origin (an LMS page) may read how to page and how long
        # to wait after a 429.
        expose_headers=["X-Pagination", "Retry-After"],
    )
    _configure_api_docs(app)
    api.init_app(app)
    app.register_blueprint(health.blp)
    app.register_blueprint(static_assets.blp)
    for feature in FEATURES:
        _register_feature(app, feature)

    from masteryai_lti import cli

    app.cli.add_command(cli.masteryai)
    # After every extension: ours must override flask-smorest's JSON error bodies.
    errors.register_error_handlers(app)
    return app


def _retry_after_only_when_refused(response):
    """flask-limiter sends Retry-After with every limited response, a successful login
    included; the header means "come back later" (RFC 9110 10.2.3), so it stays only on
    429 and 503."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def _migrations_dir():
    import os
    from pathlib import Path

    # A source checkout keeps migrations beside the package; an installed copy
    # (the Docker image) runs from the project folder.
    beside_package = Path(__file__).resolve().parent.parent / "migrations"
    if "MASTERYAI_MIGRATIONS_DIR" in os.environ:
        return Path(os.environ["MASTERYAI_MIGRATIONS_DIR"])
    return beside_package if beside_package.is_dir() else Path.cwd() / "migrations"


def _enable_sqlite_foreign_keys(app: Flask) -> None:
    """SQLite ignores ON DELETE CASCADE unless each connection turns foreign keys on."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from masteryai_lti.extensions import db

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
