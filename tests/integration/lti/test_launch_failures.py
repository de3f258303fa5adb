"""Each refused launch: a clear 4xx page, and no user, enrollment, course or launch created.

Every case signs a fresh JWT with the test platform's key (or a stranger's);
nothing is recorded and replayed.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.lti.conftest import Counts, counts, launch, login
from tests.lti_platform import LTI, new_platform_key


def _assert_refused(app, response, status: int, reason: str, words: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert response.mimetype == "text/html"
    assert f'data-reason="{reason}"' in html
    assert words.lower() in html.lower()
    assert counts(app) == Counts(0, 0, 0, 0)
    # No session token was handed out either.
    assert "masteryai-session" not in html


def _auth_query(auth_url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}


def _state_cookie(client) -> tuple[str, str]:
    cookie = next(c for c in client._cookies.values() if c.key.startswith("lti1p3-state-"))
    return cookie.key, cookie.value


def test_bad_signature_is_refused(app, client, platform):
    stranger = new_platform_key(kid=platform.signing_key.kid)  # right kid, wrong key
    auth = _auth_query(login(client, platform))
    token = platform.sign(platform.claims_for(nonce=auth["nonce"]), key=stranger)

    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})

    _assert_refused(app, response, 401, "signature", "signature is invalid")


def test_unknown_kid_is_refused_after_exactly_one_refetch(app, client, platform):
    auth = _auth_query(login(client, platform))
    unpublished = new_platform_key()
    token = platform.sign(platform.claims_for(nonce=auth["nonce"]), key=unpublished)

    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})

    _assert_refused(app, response, 401, "signature", "even after fetching it again")
    # Fetched once to fill the cache, then refetched once for the unknown kid.
    assert platform.jwks_requests == 2


def test_wrong_audience_is_refused(app, client, platform):
    response = launch(client, platform, extra_claims={"aud": "some-other-tool"})

    _assert_refused(app, response, 401, "audience", "not addressed to this tool")


def test_several_audiences_without_our_azp_are_refused(app, client, platform):
    response = launch(
        client,
        platform,
        extra_claims={"aud": [platform.client_id, "other-tool"], "azp": "other-tool"},
    )

    _assert_refused(app, response, 401, "audience", "azp")


def test_expired_token_is_refused(app, client, platform):
    past = int(time.time()) - 3600
    response = launch(client, platform, extra_claims={"iat": past - 300, "exp": past})

    _assert_refused(app, response, 401, "expired", "expired")


def test_replayed_id_token_is_refused(app, client, platform):
    auth = _auth_query(login(client, platform))
    token = platform.id_token(nonce=auth["nonce"])
    cookie = _state_cookie(client)
    first = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert first.status_code == 200
    before = counts(app)
    # The attacker replays from the same browser, state cookie and all.
    client.set_cookie(*cookie)

    replay = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})

    html = replay.get_data(as_text=True)
    assert replay.status_code == 400
    assert 'data-reason="replay"' in html and "already used" in html
    assert "masteryai-session" not in html
    assert counts(app) == before


def test_replay_from_another_process_is_refused_by_the_database(app, client, platform):
    """With Redis forgetting the nonce (another process, Redis flushed), the table still knows."""
    from masteryai_lti.extensions import cache

    auth = _auth_query(login(client, platform))
    token = platform.id_token(nonce=auth["nonce"])
    cookie = _state_cookie(client)
    first = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert first.status_code == 200
    with app.app_context():
        cache.clear()
    client.set_cookie(*cookie)

    replay = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})

    assert replay.status_code == 400
    assert 'data-reason="replay"' in replay.get_data(as_text=True)


def test_tampered_state_is_refused(app, client, platform):
    auth = _auth_query(login(client, platform))
    token = platform.id_token(nonce=auth["nonce"])
    tampered = auth["state"][:-2] + ("AA" if not auth["state"].endswith("AA") else "BB")

    response = client.post("/lti/launch", data={"id_token": token, "state": tampered})

    _assert_refused(app, response, 400, "state", "not issued by this tool")


def test_missing_state_is_refused(app, client, platform):
    auth = _auth_query(login(client, platform))
    token = platform.id_token(nonce=auth["nonce"])

    response = client.post("/lti/launch", data={"id_token": token})

    _assert_refused(app, response, 400, "state", "no state")


def test_state_without_its_cookie_and_without_platform_storage_is_refused(app, client, platform):
    auth = _auth_query(login(client, platform))
    token = platform.id_token(nonce=auth["nonce"])
    stranger_browser = app.test_client()

    response = stranger_browser.post(
        "/lti/launch", data={"id_token": token, "state": auth["state"]}
    )

    _assert_refused(app, response, 400, "state", "login cookie")


def test_nonce_of_another_login_is_refused(app, client, platform):
    auth = _auth_query(login(client, platform))
    token = platform.id_token(nonce="not-the-nonce-of-this-login")

    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})

    _assert_refused(app, response, 400, "nonce", "nonce")


def test_unknown_deployment_is_refused_under_the_refusing_policy(make_app, platform):
    app = make_app(LTI_REFUSE_UNKNOWN_DEPLOYMENTS=True)
    client = app.test_client()

    response = launch(client, platform, extra_claims={LTI + "deployment_id": "never-seen"})

    _assert_refused(app, response, 403, "deployment", "never-seen")


def test_known_deployment_still_passes_under_the_refusing_policy(make_app, platform):
    app = make_app(LTI_REFUSE_UNKNOWN_DEPLOYMENTS=True)

    response = launch(app.test_client(), platform)

    assert response.status_code == 200


def test_login_from_an_unknown_issuer_is_refused(app, client, platform):
    params = platform.login_params("student", iss="https://unknown-lms.example")

    response = client.get("/lti/login", query_string=params)

    _assert_refused(app, response, 403, "issuer", "not registered")


def test_id_token_from_an_unknown_issuer_is_refused(app, client, platform):
    response = launch(client, platform, extra_claims={"iss": "https://unknown-lms.example"})

    _assert_refused(app, response, 403, "issuer", "unknown issuer")


def test_wrong_message_type_is_refused(app, client, platform):
    response = launch(client, platform, extra_claims={LTI + "message_type": "LtiStartProctoring"})

    _assert_refused(app, response, 400, "message", "does not handle LtiStartProctoring")


def test_missing_version_claim_is_refused(app, client, platform):
    response = launch(client, platform, drop_claims=(LTI + "version",))

    _assert_refused(app, response, 400, "version", "1.3.0")


def test_missing_resource_link_is_refused(app, client, platform):
    response = launch(client, platform, drop_claims=(LTI + "resource_link",))

    _assert_refused(app, response, 400, "message", "resource link")


def test_alg_none_token_is_refused(app, client, platform):
    import jwt as pyjwt

    auth = _auth_query(login(client, platform))
    token = pyjwt.encode(
        platform.claims_for(nonce=auth["nonce"]),
        key=None,
        algorithm="none",
        headers={"kid": platform.signing_key.kid},
    )

    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})

    _assert_refused(app, response, 401, "signature", "algorithm")


def test_learner_cannot_open_the_deep_linking_picker(app, client, platform):
    response = launch(client, platform, "student", message_type="LtiDeepLinkingRequest")

    _assert_refused(app, response, 403, "role", "only teachers")


def test_get_on_launch_explains_itself(app, client):
    response = client.get("/lti/launch")

    assert response.status_code == 405
    assert "Open this tool from your LMS" in response.get_data(as_text=True)


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", ""])
def test_malformed_id_token_is_refused(app, client, platform, garbage):
    auth = _auth_query(login(client, platform))

    response = client.post("/lti/launch", data={"id_token": garbage, "state": auth["state"]})

    assert response.status_code == 400
    assert counts(app) == Counts(0, 0, 0, 0)


def test_platform_error_response_is_shown_clearly(app, client, platform):
    auth = _auth_query(login(client, platform))

    response = client.post(
        "/lti/launch",
        data={
            "error": "login_required",
            "error_description": "Your LMS session has ended",
            "state": auth["state"],
        },
    )

    _assert_refused(app, response, 400, "platform", "Your LMS session has ended")
