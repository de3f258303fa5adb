"""Behind TRUSTED_PROXY_COUNT reverse proxies the app builds its absolute URLs from the
forwarded scheme, host, port and prefix: the URLs the LMS is given must be the ones it
can reach."""

from __future__ import annotations


def test_the_forwarded_port_and_prefix_reach_the_urls_given_to_the_lms(make_app):
    app = make_app(TRUSTED_PROXY_COUNT=1)
    client = app.test_client()

    config = client.get(
        "/lti/config.json",
        headers={
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "tool.school.example",
            "X-Forwarded-Port": "8443",
            "X-Forwarded-Prefix": "/masteryai",
        },
    )

    assert config.status_code == 200
    assert config.get_json()["target_link_uri"] == (
        "https://tool.school.example:8443/masteryai/lti/launch"
    )


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(make_app):
    app = make_app(TRUSTED_PROXY_COUNT=0)
    client = app.test_client()

    config = client.get(
        "/lti/config.json",
        headers={"X-Forwarded-Host": "attacker.example", "X-Forwarded-Port": "8443"},
    )

    assert "attacker.example" not in config.get_data(as_text=True)
