"""A development-only LMS sandbox: launch the local tool as a teacher or a student.

It acts as a tiny LTI 1.3 platform living in the same app: its own RSA key
(stored like the tool's keys, purpose ``sandbox_platform``), an OIDC
authorization endpoint that signs id_tokens, and a deep-linking return page.
It is registered only when ``LTI_SANDBOX_ENABLED`` is on (development default;
production settings force it off), so production has none of these routes.
"""

from masteryai_lti.lti.sandbox.routes import sandbox_bp

__all__ = ["sandbox_bp"]
