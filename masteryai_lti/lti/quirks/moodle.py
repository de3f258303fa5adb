"""Moodle differences (Moodle 3.10+ LTI 1.3 "External tool" implementation)."""

from __future__ import annotations

from masteryai_lti.lti.quirks.base import PlatformQuirks


class MoodleQuirks(PlatformQuirks):
    """Moodle: the site URL is the issuer; names may be withheld by privacy settings."""

    family = "moodle"

    def owns_issuer(self, issuer: str) -> bool:
        # Moodle's issuer is its wwwroot, which says nothing about the product;
        # detection relies on the openid-configuration's product_family_code.
        return False

    def display_name(self, claims: dict) -> str:
        # "Share launcher's name with tool" off: Moodle sends no name at all, and
        # the sub is a bare numeric user id, so say where it came from.
        name = super().display_name(claims)
        if name.startswith("LMS user "):
            return f"Moodle user {claims.get('sub', '')}"
        return name

    def context_title(self, claims: dict) -> str:
        # Moodle puts the course full name in title and the short name in label.
        return super().context_title(claims)

    def adjust_content_item(self, item: dict) -> dict:
        # Moodle creates the grade item only from the deep-link lineItem and
        # ignores one without a label, so give graded items their title as label.
        adjusted = dict(item)
        line_item = adjusted.get("lineItem")
        if line_item is not None and not line_item.get("label"):
            adjusted["lineItem"] = {**line_item, "label": adjusted.get("title", "")}
        return adjusted
