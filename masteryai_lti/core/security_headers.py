"""Response headers for an app that LMSs frame and scripts call with bearer tokens.

* ``X-Content-Type-Options: nosniff`` everywhere: a JSON answer echoing a learner's
  text, or an xAPI attachment, is never run as a script or page by a browser.
* A Content-Security-Policy on every response. HTML pages may load only this origin's
  scripts, styles, images and API; no plugins, no ``<base>``. The pages still carry
  inline scripts (the LTI session bootstrap among them), so ``'unsafe-inline'``
  stays until they move to nonces: the XSS defence is Jinja's autoescaping and
  scripts that build the DOM with ``textContent`` (docs/security.md). Anything that
  is not HTML gets ``default-src 'none'``.
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

from flask import Flask, Response, current_app, request

# Pages that an LMS frames (launch, picker, dashboards, registration window).
FRAMED_PREFIXES = ("/lti/",)
# Paths whose answers are data, whatever media type their writer gave them.
DATA_PREFIXES = ("/xapi/",)

PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'"
)
NOT_A_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'"
STORED_DATA_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"


def _framed(path: str) -> bool:
    return path.startswith(FRAMED_PREFIXES)


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
        headers.setdefault("Content-Security-Policy", f"{PAGE_POLICY}; {ancestors}")
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
