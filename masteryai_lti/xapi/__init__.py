"""xAPI: a Statement API (LRS-compatible), storage, credentials and projection."""

# What browser content calling /xapi from its own origin sends and reads (xAPI 1.0.3
# Communication 3.3; 2.0 adds Last-Modified, and the document resources use the ETags).
XAPI_REQUEST_HEADERS = [
    "Authorization",
    "X-Experience-API-Version",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Accept-Language",
]
XAPI_EXPOSED_HEADERS = [
    "X-Experience-API-Consistent-Through",
    "X-Experience-API-Version",
    "ETag",
    "Last-Modified",
]


def init_app(app) -> None:
    """Hook the projection into the identity service once the app is built, and let
    browser content in the configured origins call /xapi."""
    from masteryai_lti.extensions import cors
    from masteryai_lti.identity import service as identities
    from masteryai_lti.xapi import projection

    identities.on_users_seen(projection.on_users_seen)
    app.teardown_request(projection.drain_after_request)
    # Content (H5P, cmi5 packages, a course's own JavaScript) posts statements from the
    # page's origin. XAPI_ALLOWED_ORIGINS names those origins; unset, the REST API's
    # ALLOWED_ORIGINS apply. Credentials are Basic in a header the script sets, so no
    # cookies: supports_credentials stays off.
    origins = app.config.get("XAPI_ALLOWED_ORIGINS")
    if origins is None:
        origins = app.config.get("ALLOWED_ORIGINS")
    cors.init_app(
        app,
        resources={r"/xapi/*": {"origins": origins or []}},
        allow_headers=XAPI_REQUEST_HEADERS,
        expose_headers=XAPI_EXPOSED_HEADERS,
        methods=["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
        supports_credentials=False,
        max_age=600,
    )
