"""With Redis unreachable the tool still launches, and replays are still refused (DESIGN.md §7)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.integration.lti.conftest import counts


def test_launch_and_replay_refusal_without_redis(make_app, platform):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    login = client.get("/lti/login", query_string=platform.login_params("student"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
    token = platform.id_token(nonce=query["nonce"])
    cookie = next(c for c in client._cookies.values() if c.key.startswith("lti1p3-state-"))

    first = client.post("/lti/launch", data={"id_token": token, "state": query["state"]})
    client.set_cookie(cookie.key, cookie.value)
    replay = client.post("/lti/launch", data={"id_token": token, "state": query["state"]})

    assert first.status_code == 200
    assert 'data-page="student"' in first.get_data(as_text=True)
    assert replay.status_code == 400
    assert 'data-reason="replay"' in replay.get_data(as_text=True)
    assert counts(app).launches == 1
