"""Settings read from the environment.

Each class is a plain object whose upper-case attributes become Flask config keys.
Values come from the environment when the class is instantiated, so tests and
`create_app` can build a fresh one after changing `os.environ`.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"

# A placeholder that marks "no real secret given": accepted in development and
# tests, refused in production.
DEVELOPMENT_SECRET = "dev-only-insecure-secret-change-me"


class MissingSetting(RuntimeError):
    """A production setting that must come from the environment is absent."""


def instance_dir() -> Path:
    """Where the embedded default keeps its SQLite file (MASTERYAI_INSTANCE_DIR overrides)."""
    override = os.environ.get("MASTERYAI_INSTANCE_DIR")
    return Path(override) if override else DEFAULT_INSTANCE_DIR


def normalise_database_url(url: str) -> str:
    """Map the URL forms users write to the driver this project installs.

    Heroku-style ``postgres://`` and plain ``postgresql://`` both become
    ``postgresql+psycopg2://``: SQLAlchemy 2.1 would otherwise pick psycopg 3,
    which we do not install.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise MissingSetting(f"{name} must be an integer, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _optional(name: str, parse):
    """``name`` from the environment parsed, or None when unset: for tuning settings
    whose defaults live with the code that reads them."""
    raw = os.environ.get(name)
    if raw in (None, ""):
        return None
    try:
        return parse(raw.strip())
    except ValueError as exc:
        raise MissingSetting(f"{name} must be a {parse.__name__}, got {raw!r}") from exc


# Tuning an operator may set; unset, the code's own default applies (docs/operations.md).
_OPTIONAL_SETTINGS = (
    ("LOG_LEVEL", str),  # INFO
    ("LTI_SESSION_TOKEN_MINUTES", int),  # the launched page's API token: 20
    ("LTI_REGISTRATION_CACHE_SECONDS", float),  # per-process registration cache: 30
    ("XAPI_AUTHORITY_HOMEPAGE", str),  # the authority account's homePage: this host
    ("XAPI_PROJECTION", str),  # "job", or "off" to keep statements unprojected
    ("XAPI_PROJECTION_COALESCE_S", float),  # how long a queued projection waits: 0.5
)


class Settings:
    """Base settings shared by every environment."""

    ENV_NAME = "base"

    def __init__(self) -> None:
        database_url = os.environ.get("DATABASE_URL", "")
        self.DATABASE_URL = database_url
        self.SQLALCHEMY_DATABASE_URI = (
            normalise_database_url(database_url)
            if database_url
            else f"sqlite:///{instance_dir() / 'masteryai.sqlite3'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.SECRET_KEY = os.environ.get("SECRET_KEY", "")
        self.ALLOWED_ORIGINS = _list("ALLOWED_ORIGINS", [])
        # Unset (None): the xAPI endpoint uses ALLOWED_ORIGINS.
        self.XAPI_ALLOWED_ORIGINS = _list("XAPI_ALLOWED_ORIGINS", []) or None
        self.ACCESS_TOKEN_EXPIRE_MINUTES = _int("ACCESS_TOKEN_EXPIRE_MINUTES", 30)
        self.REFRESH_TOKEN_EXPIRE_DAYS = _int("REFRESH_TOKEN_EXPIRE_DAYS", 7)
        self.ENGAGEMENT_CALCULATION_PERIOD_DAYS = _int("ENGAGEMENT_CALCULATION_PERIOD_DAYS", 30)
        self.MASTERY_THRESHOLD = _int("MASTERY_THRESHOLD", 70)
        self.LOGIN_RATE_LIMIT_PER_IP = os.environ.get("LOGIN_RATE_LIMIT_PER_IP", "20 per minute")
        self.LOGIN_RATE_LIMIT_PER_ACCOUNT = os.environ.get(
            "LOGIN_RATE_LIMIT_PER_ACCOUNT", "10 per minute"
        )
        # Registration answers 409 for an address that has an account (a clear sign-up
        # error), which tells whether an address is registered: throttled per client
        # address so it is no fast way to probe addresses. A school behind one NAT
        # address that signs up a whole class at once may need more.
        self.REGISTER_RATE_LIMIT_PER_IP = os.environ.get(
            "REGISTER_RATE_LIMIT_PER_IP", "10 per minute; 100 per day"
        )
        # Joining a course by code, per client address: a whole class (or two) behind one
        # school NAT address joins at once, while guessing a code (about 40 bits, 600
        # guesses an hour) stays hopeless.
        self.JOIN_RATE_LIMIT_PER_IP = os.environ.get(
            "JOIN_RATE_LIMIT_PER_IP", "60 per minute; 600 per hour"
        )
        # The password hashing cost; tests lower it to keep the suite quick.
        self.BCRYPT_ROUNDS = _int("BCRYPT_ROUNDS", 12)
        # Plain http is allowed on loopback in development and tests only.
        self.ALLOW_INSECURE_HTTP = _bool("ALLOW_INSECURE_HTTP", False)
        self.PREFERRED_URL_SCHEME = "https"
        self.LTI_REFUSE_UNKNOWN_DEPLOYMENTS = _bool("LTI_REFUSE_UNKNOWN_DEPLOYMENTS", False)
        self.LTI_REGISTRATION_REQUIRES_APPROVAL = _bool("LTI_REGISTRATION_REQUIRES_APPROVAL", False)
        # The LMS hosts dynamic registration may come from and call (empty: any); a
        # "*.domain" entry admits its subdomains. Keeps a hosted tool's server from
        # fetching whatever address a stranger hands /lti/register.
        self.LTI_REGISTRATION_ALLOWED_HOSTS = _list("LTI_REGISTRATION_ALLOWED_HOSTS", [])
        self.LTI_SANDBOX_ENABLED = _bool("LTI_SANDBOX_ENABLED", False)
        # Calls to URLs a platform chose (key sets, tokens, AGS/NRPS, dynamic
        # registration) reach public addresses only unless this is on: an LMS on the
        # operator's private network needs it (core/outbound_http.py).
        self.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = _bool("OUTBOUND_ALLOW_PRIVATE_ADDRESSES", False)
        # A teacher's launch refreshes the course roster by NRPS (at most hourly).
        self.LTI_SYNC_ROSTER_ON_LAUNCH = _bool("LTI_SYNC_ROSTER_ON_LAUNCH", True)
        # The name LMS admins see for the tool in dynamic registration.
        self.LTI_TOOL_NAME = os.environ.get("LTI_TOOL_NAME", "MasteryAI")
        # Dynamic registration is unauthenticated until the platform's token is
        # checked, so it is throttled per client address.
        self.LTI_REGISTRATION_RATE_LIMIT = os.environ.get(
            "LTI_REGISTRATION_RATE_LIMIT", "30 per hour"
        )
        # The largest request body read (Flask answers 413 above it, as problem+json):
        # an upload is read into memory, so an unbounded one could exhaust it. 64 MiB
        # holds an xAPI batch with attachments or a year of a school's attendance.
        self.MAX_CONTENT_LENGTH = _int("MAX_REQUEST_BYTES", 64 * 1024 * 1024)
        # The largest file a group may upload as project evidence: a phone photo or a
        # short report; video belongs on a video service, shared as a link.
        self.PBL_EVIDENCE_MAX_BYTES = _int("PBL_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
        # Number of reverse proxies in front of the app (for ProxyFix).
        self.TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)
        # Jobs run on RQ when Redis is configured, unless forced inline.
        self.JOBS_INLINE = _bool("JOBS_INLINE", not self.REDIS_URL)
        for name, parse in _OPTIONAL_SETTINGS:
            value = _optional(name, parse)
            if value is not None:
                setattr(self, name, value)

    def as_mapping(self) -> dict:
        """The upper-case attributes, as Flask expects them."""
        return {key: value for key, value in vars(self).items() if key.isupper()}


class DevelopmentSettings(Settings):
    """Local development: embedded defaults, plain http on loopback, the LTI sandbox."""

    ENV_NAME = "development"

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = self.SECRET_KEY or DEVELOPMENT_SECRET
        self.ALLOW_INSECURE_HTTP = _bool("ALLOW_INSECURE_HTTP", True)
        self.PREFERRED_URL_SCHEME = "http"
        self.LTI_SANDBOX_ENABLED = _bool("LTI_SANDBOX_ENABLED", True)
        # The sandbox and the test platforms run on loopback.
        self.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = _bool("OUTBOUND_ALLOW_PRIVATE_ADDRESSES", True)


class TestSettings(DevelopmentSettings):
    """Test runs: fast hashing, a test database chosen by tests/conftest.py."""

    ENV_NAME = "test"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.BCRYPT_ROUNDS = 4
        # The suite signs up hundreds of accounts from 127.0.0.1; tests of the limit set
        # their own.
        self.REGISTER_RATE_LIMIT_PER_IP = os.environ.get(
            "REGISTER_RATE_LIMIT_PER_IP", "1000 per minute"
        )


class ProductionSettings(Settings):
    """Production: refuses to start without a real secret and a real database."""

    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        missing = []
        if not self.SECRET_KEY or self.SECRET_KEY == DEVELOPMENT_SECRET:
            missing.append("SECRET_KEY")
        if not self.DATABASE_URL:
            missing.append("DATABASE_URL")
        if missing:
            raise MissingSetting(
                "Production settings need these environment variables: " + ", ".join(missing)
            )
        if len(self.SECRET_KEY) < 32:
            raise MissingSetting("SECRET_KEY must be at least 32 characters in production")
        self.LTI_SANDBOX_ENABLED = False


_BY_NAME = {
    "development": DevelopmentSettings,
    "test": TestSettings,
    "testing": TestSettings,
    "production": ProductionSettings,
}


def settings_for(name: str | None = None) -> Settings:
    """Build the settings named by ``name`` or by ``MASTERYAI_ENV`` (default development)."""
    name = (name or os.environ.get("MASTERYAI_ENV") or "development").lower()
    try:
        return _BY_NAME[name]()
    except KeyError:
        raise MissingSetting(
            f"Unknown MASTERYAI_ENV {name!r}; use development, test or production"
        ) from None
