"""Settings classes read from the environment (see config/settings.py)."""

from config.settings import (
    DevelopmentSettings,
    ProductionSettings,
    Settings,
    TestSettings,
    settings_for,
)

__all__ = ["DevelopmentSettings", "ProductionSettings", "Settings", "TestSettings", "settings_for"]
