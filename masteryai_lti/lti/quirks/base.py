"""The behaviour the LTI 1.3 specifications describe; platform families override it."""

from __future__ import annotations

from urllib.parse import urlsplit

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


class PlatformQuirks:
    """Hooks where LMSs differ. The defaults follow the specifications."""

    family = "generic"

    def owns_issuer(self, issuer: str) -> bool:
        """Whether an issuer URL belongs to this family (used to pick the quirks)."""
        return False

    def display_name(self, claims: dict) -> str:
        """The person's name from the OIDC claims (LTI 1.3 core §5.3.6)."""
        name = (claims.get("name") or "").strip()
        if name:
            return name
        parts = [claims.get("given_name") or "", claims.get("family_name") or ""]
        joined = " ".join(p.strip() for p in parts if p and p.strip())
        return joined or f"LMS user {claims.get('sub', '')[:40]}"

    def context_title(self, claims: dict) -> str:
        """The course title from the context claim (LTI 1.3 core §5.4.1)."""
        context = claims.get(LTI + "context") or {}
        return context.get("title") or context.get("label") or context.get("id") or ""

    def context_code(self, claims: dict) -> str | None:
        """A short course code, when the platform sends one."""
        context = claims.get(LTI + "context") or {}
        label = context.get("label")
        return label[:64] if label else None

    def storage_origin(self, auth_login_url: str) -> str:
        """The postMessage target origin for platform storage.

        The client-side OIDC postMessage spec has the platform serve its storage
        frame from the origin of its OIDC authorization endpoint.
        """
        parts = urlsplit(auth_login_url)
        return f"{parts.scheme}://{parts.netloc}"

    def storage_frame(self, lti_storage_target: str) -> str:
        """The frame name to post storage messages to ("_parent" means window.parent)."""
        return lti_storage_target

    def login_client_id(self, params: dict) -> str | None:
        """The client_id of a login request (optional in LTI 1.3 core §5.1.1)."""
        return params.get("client_id") or None

    def email(self, claims: dict) -> str | None:
        """The person's e-mail, when the platform's privacy settings release it."""
        email = (claims.get("email") or "").strip().lower()
        return email or None

    def token_audience(self, token_url: str, authorization_server: str | None) -> str:
        """The ``aud`` of the client assertion sent to the token endpoint.

        LTI Dynamic Registration 1.0 §3.4.1: the platform's ``authorization_server``
        when it declared one, else the token endpoint URL.
        """
        return authorization_server or token_url

    def adjust_content_item(self, item: dict) -> dict:
        """A deep-linking content item as this platform wants it (default unchanged)."""
        return item
