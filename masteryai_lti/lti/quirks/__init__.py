"""What differs between LMSs, in one place (STYLE.md rule 6).

Each platform family is a :class:`PlatformQuirks` subclass; code elsewhere asks
``quirks.for_family(registration.platform_family)`` and calls its hooks instead
of branching on the platform's name.
"""

from __future__ import annotations

from masteryai_lti.lti.quirks.base import PlatformQuirks
from masteryai_lti.lti.quirks.canvas import CanvasQuirks
from masteryai_lti.lti.quirks.moodle import MoodleQuirks

_FAMILIES: dict[str, PlatformQuirks] = {
    "generic": PlatformQuirks(),
    "canvas": CanvasQuirks(),
    "moodle": MoodleQuirks(),
}


def for_family(family: str | None) -> PlatformQuirks:
    """The quirks of ``family``; unknown families behave like the LTI specification."""
    return _FAMILIES.get(family or "generic", _FAMILIES["generic"])


def detect_family(issuer: str, platform_metadata: dict | None = None) -> str:
    """Guess the platform family from its issuer or its openid-configuration."""
    metadata = platform_metadata or {}
    product = (
        metadata.get("https://purl.imsglobal.org/spec/lti-platform-configuration", {})
        .get("product_family_code", "")
        .lower()
    )
    for family, handler in _FAMILIES.items():
        if family != "generic" and (product == family or handler.owns_issuer(issuer)):
            return family
    return "generic"


__all__ = ["PlatformQuirks", "detect_family", "for_family"]
