"""xAPI: a Statement API (LRS-compatible), storage, credentials and projection."""


def init_app(app) -> None:
    """Hook the projection into the identity service once the app is built."""
    from masteryai_lti.identity import service as identities
    from masteryai_lti.xapi import projection

    identities.on_user_seen(projection.on_user_seen)
    app.teardown_request(projection.drain_after_request)
