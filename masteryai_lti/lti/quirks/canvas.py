"""Canvas LMS differences (Instructure's LTI 1.3 implementation notes)."""

from __future__ import annotations

from urllib.parse import urlsplit

from masteryai_lti.lti.quirks.base import PlatformQuirks

# Hosted Canvas signs every institution's launches with these issuers and tells
# institutions apart by client_id (one developer key per institution).
CANVAS_ISSUERS = (
    "https://canvas.instructure.com",
    "https://canvas.beta.instructure.com",
    "https://canvas.test.instructure.com",
)


class CanvasQuirks(PlatformQuirks):
    """Canvas: shared issuers, a storage forwarding frame, and course-name claims."""

    family = "canvas"

    def owns_issuer(self, issuer: str) -> bool:
        return issuer.rstrip("/") in CANVAS_ISSUERS or urlsplit(issuer).netloc.endswith(
            ".instructure.com"
        )

    def storage_frame(self, lti_storage_target: str) -> str:
        # Canvas names its storage frame "post_message_forwarding" and expects the
        # tool to address it through window.parent.frames, never window.parent.
        return lti_storage_target or "post_message_forwarding"

    def token_audience(self, token_url: str, authorization_server: str | None) -> str:
        # Canvas publishes a bare host as authorization_server but accepts only its
        # token URL as the assertion's aud ("the 'aud' is invalid" otherwise).
        return token_url

    def adjust_content_item(self, item: dict) -> dict:
        # Canvas opens iframe items in the course frame only when told the window
        # size; without it assignments open at a tiny default height.
        adjusted = dict(item)
        adjusted.setdefault("iframe", {"width": 1000, "height": 800})
        return adjusted
