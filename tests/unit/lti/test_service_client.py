"""Link header parsing, paging and error classification of the service client."""

from __future__ import annotations

import pytest
import requests

from masteryai_lti.lti.service_client import (
    PlatformServiceClient,
    PlatformServiceError,
    append_path,
    link_targets,
    next_page_url,
)


def test_next_link_among_several_relations():
    header = (
        '<https://lms.example/m?page=1>; rel="first", '
        '<https://lms.example/CaseSensitive/m?page=3&limit=2>; rel="next", '
        '<https://lms.example/m?page=9>; rel="last"'
    )

    assert next_page_url(header) == "https://lms.example/CaseSensitive/m?page=3&limit=2"


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("", None),
        ('<https://a/x>; rel="prev"', None),
        ("<https://a/x>; rel=next", "https://a/x"),
        ('<https://a/x>;rel="NEXT"', "https://a/x"),
        ('<https://a/x?a=1,2>; rel="differences next"', "https://a/x?a=1,2"),
        ('<https://a/d>; rel="differences"', None),
    ],
)
def test_next_link_variants(header, expected):
    assert next_page_url(header) == expected


def test_link_targets_for_other_relations():
    header = '<https://a/d>; rel="differences", <https://a/n>; rel="next"'

    assert link_targets(header, "differences") == ["https://a/d"]


def test_append_path_keeps_query_and_fragment():
    assert append_path("https://a/li/1?x=1#f", "scores") == "https://a/li/1/scores?x=1#f"


class _Response:
    def __init__(self, status, body=b"", headers=None):
        self.status_code = status
        self.content = body
        self.text = body.decode()
        self.headers = headers or {}
        self.reason = "R"

    @property
    def ok(self):
        return self.status_code < 400

    def json(self):
        import json

        return json.loads(self.content)


class _ScriptedHttp:
    """A requests-like session answering from a script, recording the calls."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _client(http, tokens=None, forgotten=None):
    tokens = tokens or iter(["t1", "t2", "t3"])
    forgotten = forgotten if forgotten is not None else []
    return PlatformServiceClient(
        http, lambda scopes: next(tokens), lambda scopes: forgotten.append(scopes)
    )


@pytest.mark.parametrize(
    "status, retryable", [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
def test_errors_say_whether_a_retry_may_help(status, retryable):
    client = _client(_ScriptedHttp([_Response(status, b"nope")]))

    with pytest.raises(PlatformServiceError) as failure:
        client.get("https://a/x", ["s"], "application/json")

    assert failure.value.status == status
    assert failure.value.retryable is retryable
    assert f"HTTP {status}" in failure.value.reason and "nope" in failure.value.reason


def test_connection_errors_are_retryable():
    client = _client(_ScriptedHttp([requests.ConnectionError("refused")]))

    with pytest.raises(PlatformServiceError) as failure:
        client.post("https://a/x", ["s"], {}, "application/json")

    assert failure.value.retryable and failure.value.status is None


def test_a_401_drops_the_token_and_retries_once():
    forgotten: list = []
    http = _ScriptedHttp([_Response(401), _Response(200, b'{"ok": true}')])
    client = _client(http, forgotten=forgotten)

    response = client.get("https://a/x", ["scope-a"], "application/json")

    assert response.body == {"ok": True}
    assert forgotten == [["scope-a"]]
    assert [c[2]["headers"]["Authorization"] for c in http.calls] == ["Bearer t1", "Bearer t2"]


def test_a_second_401_is_not_retried_again():
    client = _client(_ScriptedHttp([_Response(401), _Response(401)]))

    with pytest.raises(PlatformServiceError) as failure:
        client.get("https://a/x", ["s"], "application/json")

    assert failure.value.status == 401 and not failure.value.retryable


def test_pages_follow_next_and_send_params_only_first():
    http = _ScriptedHttp(
        [
            _Response(200, b"[1]", {"Link": '<https://a/x?page=2>; rel="next"'}),
            _Response(200, b"[2]", {"Link": '<https://a/x?page=3>; rel="next"'}),
            _Response(200, b"[3]"),
        ]
    )

    bodies = [p.body for p in _client(http).pages("https://a/x", ["s"], "m", {"limit": "1"})]

    assert bodies == [[1], [2], [3]]
    assert [c[2]["params"] for c in http.calls] == [{"limit": "1"}, None, None]
    assert all(c[2]["headers"]["Accept"] == "m" for c in http.calls)


def test_pages_stop_a_platform_that_links_a_page_to_itself():
    loop = _Response(200, b"[]", {"Link": '<https://a/x>; rel="next"'})
    client = _client(_ScriptedHttp([loop, loop]))

    with pytest.raises(PlatformServiceError, match="paging did not end"):
        list(client.pages("https://a/x", ["s"], "m"))


def test_non_json_success_body_is_an_error():
    client = _client(_ScriptedHttp([_Response(200, b"<html>")]))

    with pytest.raises(PlatformServiceError, match="not JSON"):
        client.get("https://a/x", ["s"], "m")
