"""Settings read from the environment; production refuses unsafe defaults."""

from __future__ import annotations

import pytest

from config.settings import (
    DevelopmentSettings,
    MissingSetting,
    ProductionSettings,
    normalise_database_url,
)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg2://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+psycopg2://u@db/app"),
        ("postgresql+psycopg2://u@db/app", "postgresql+psycopg2://u@db/app"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_is_mapped_to_installed_driver(written, expected):
    assert normalise_database_url(written) == expected


def test_defaults(monkeypatch):
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        "MASTERY_THRESHOLD",
        "MAX_REQUEST_BYTES",
        "REGISTER_RATE_LIMIT_PER_IP",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = DevelopmentSettings()
    assert settings.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert settings.SQLALCHEMY_DATABASE_URI.endswith("instance/masteryai.sqlite3")
    assert settings.ACCESS_TOKEN_EXPIRE_MINUTES == 30
    assert settings.REFRESH_TOKEN_EXPIRE_DAYS == 7
    assert settings.ENGAGEMENT_CALCULATION_PERIOD_DAYS == 30
    assert settings.MASTERY_THRESHOLD == 70
    assert settings.JOBS_INLINE is True
    assert settings.MAX_CONTENT_LENGTH == 64 * 1024 * 1024  # request bodies are bounded
    assert settings.REGISTER_RATE_LIMIT_PER_IP == "10 per minute; 100 per day"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/app")
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("MASTERY_THRESHOLD", "80")
    monkeypatch.setenv("MAX_REQUEST_BYTES", "1048576")
    settings = DevelopmentSettings()
    assert settings.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg2://u@db/app"
    assert settings.ALLOWED_ORIGINS == ["https://a.example", "https://b.example"]
    assert settings.MASTERY_THRESHOLD == 80
    assert settings.MAX_CONTENT_LENGTH == 1048576


def test_production_names_each_missing_setting(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(MissingSetting, match="SECRET_KEY, DATABASE_URL"):
        ProductionSettings()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(MissingSetting, match="DATABASE_URL") as raised:
        ProductionSettings()
    assert "SECRET_KEY" not in str(raised.value)


def test_production_refuses_short_secret(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/app")
    with pytest.raises(MissingSetting, match="at least 32"):
        ProductionSettings()


def test_bad_integer_is_named(monkeypatch):
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "thirty")
    with pytest.raises(MissingSetting, match="ACCESS_TOKEN_EXPIRE_MINUTES"):
        DevelopmentSettings()


def test_tuning_settings_come_from_the_environment_when_given(monkeypatch):
    monkeypatch.setenv("LTI_SESSION_TOKEN_MINUTES", "45")
    monkeypatch.setenv("XAPI_PROJECTION", "off")
    monkeypatch.setenv("XAPI_PROJECTION_COALESCE_S", "0.25")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.delenv("LTI_REGISTRATION_CACHE_SECONDS", raising=False)

    settings = DevelopmentSettings().as_mapping()

    assert settings["LTI_SESSION_TOKEN_MINUTES"] == 45
    assert settings["XAPI_PROJECTION"] == "off"
    assert settings["XAPI_PROJECTION_COALESCE_S"] == 0.25
    assert settings["LOG_LEVEL"] == "WARNING"
    # Unset: absent, so the code reading it applies its own default.
    assert "LTI_REGISTRATION_CACHE_SECONDS" not in settings


def test_a_tuning_setting_that_is_no_number_is_refused(monkeypatch):
    monkeypatch.setenv("LTI_SESSION_TOKEN_MINUTES", "twenty")

    with pytest.raises(MissingSetting, match="LTI_SESSION_TOKEN_MINUTES"):
        DevelopmentSettings()
