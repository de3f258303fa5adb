"""Response headers for an app that LMSs frame and scripts call with bearer tokens.

* ``X-Content-Type-Options: nosniff`` everywhere: a JSON answer echoing a learner's
  text, or an xAPI attachment, is never run as a script or page by a browser.
* A Content-Security-Policy on every response. HTML pages may load only this origin's
  scripts, styles, images and API; no plugins, no ``<base>``. An inline script runs
  only with the page's nonce (``{{ csp_nonce() }}`` in the template, new for every
  answer), so markup slipped into a page past Jinja's autoescaping (an LMS-given
  name, say) runs nothing. Inline styles stay allowed (``style=`` attributes; CSS
  runs no code). The API docs are flask-smorest's own templates, whose inline
  scripts carry no nonce: those two pages (not framed, no user data) keep
  ``'unsafe-inline'``. Anything that is not HTML gets ``default-src 'none'``.
* Whatever ``/xapi/*`` answers is data, never a page, even when an LRS stored a State
  or Profile document as ``text/html``: it is served with ``sandbox`` and
  ``default-src 'none'``, so a document opened in a browser runs nothing in this
  origin.
* Framing: ``/lti/*`` pages are what an LMS shows in its iframe, and the tool serves
  any LMS an operator registers (Canvas frames from each school's own host), so
  those pages may be framed by any https origin (any origin in development); a
  launched page only exists after a platform-signed launch, which a site that
  merely frames the tool cannot produce.
  Every other page (API docs, JSON) may not be framed at all.
* ``Strict-Transport-Security`` on answers served over https (directly or, with
  ``TRUSTED_PROXY_COUNT``, behind a proxy): the browser then never tries plain http for
  this host, where the ``Secure`` launch cookies would not travel. No
  ``includeSubDomains``: the operator's other hosts are not ours to decide for.
* ``Cache-Control: no-store`` on every answer to a request that carried credentials
  (a bearer token or xAPI Basic auth) unless the view chose its own: a shared cache
  or the browser's disk must not keep a class's grades.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request

# Pages that an LMS frames (launch, picker, dashboards, registration window).
FRAMED_PREFIXES = ("/lti/",)
# Paths whose answers are data, whatever media type their writer gave them.
DATA_PREFIXES = ("/xapi/",)

# {scripts}: the script-src sources of the page.
PAGE_POLICY = (
    "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'"
)
NOT_A_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'"
STORED_DATA_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"


def _framed(path: str) -> bool:
    return path.startswith(FRAMED_PREFIXES)


def csp_nonce() -> str:
    """This answer's script nonce (a template global: ``<script nonce="{{ csp_nonce() }}">``)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _script_sources(path: str) -> str:
    config = current_app.config
    prefix = config.get("OPENAPI_URL_PREFIX") or ""
    docs = {
        prefix + (config.get("OPENAPI_SWAGGER_UI_PATH") or ""),
        prefix + (config.get("OPENAPI_REDOC_PATH") or ""),
    }
    if path in docs:
        return "'self' 'unsafe-inline'"
    if "csp_nonce" in g:
        return f"'self' 'nonce-{g.csp_nonce}'"
    return "'self'"


def add_security_headers(response: Response) -> Response:
    """The headers described in the module's docstring (an ``after_request`` hook)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.path.startswith(DATA_PREFIXES):
        headers.setdefault("Content-Security-Policy", STORED_DATA_POLICY)
    elif response.mimetype == "text/html":
        if _framed(request.path):
            # Development LMSs run on plain http (ALLOW_INSECURE_HTTP); production on https.
            insecure = current_app.config.get("ALLOW_INSECURE_HTTP")
            ancestors = "frame-ancestors *" if insecure else "frame-ancestors 'self' https:"
        else:
            ancestors = "frame-ancestors 'none'"
            headers.setdefault("X-Frame-Options", "DENY")
        policy = PAGE_POLICY.format(scripts=_script_sources(request.path))
        headers.setdefault("Content-Security-Policy", f"{policy}; {ancestors}")
    else:
        headers.setdefault("Content-Security-Policy", NOT_A_PAGE_POLICY)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.headers.get("Authorization") and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the hook (first, so it runs after every other ``after_request``)."""
    app.after_request_funcs.setdefault(None, []).insert(0, add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
