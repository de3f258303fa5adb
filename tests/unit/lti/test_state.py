"""The signed OIDC state: issued by login, checked by launch."""

from __future__ import annotations

import pytest

from masteryai_lti.lti.session import StateError, issue_state, read_state, state_cookie_name

SECRET = "unit-test-secret"


def test_state_round_trips_what_the_login_bound():
    state, login = issue_state(
        SECRET, nonce="n-1", registration_id=7, storage_target="_parent", storage_origin="https://p"
    )

    read = read_state(SECRET, state)

    assert read == login
    assert (read.nonce, read.registration_id, read.storage_target) == ("n-1", 7, "_parent")


def test_each_login_gets_its_own_sid_and_cookie():
    _, first = issue_state(SECRET, nonce="n", registration_id=1)
    _, second = issue_state(SECRET, nonce="n", registration_id=1)

    assert first.sid != second.sid
    assert state_cookie_name(first.sid) != state_cookie_name(second.sid)


@pytest.mark.parametrize("bad", [None, "", "garbage", "a.b.c"])
def test_missing_or_garbage_state_is_refused(bad):
    with pytest.raises(StateError):
        read_state(SECRET, bad)


def test_state_signed_with_another_secret_is_refused():
    state, _ = issue_state("another-secret", nonce="n", registration_id=1)

    with pytest.raises(StateError, match="not issued by this tool"):
        read_state(SECRET, state)


def test_tampered_state_is_refused():
    state, _ = issue_state(SECRET, nonce="n", registration_id=1)
    payload, _, signature = state.partition(".")

    with pytest.raises(StateError):
        read_state(SECRET, payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature)


def test_old_state_is_refused():
    state, _ = issue_state(SECRET, nonce="n", registration_id=1)

    with pytest.raises(StateError, match="too long"):
        read_state(SECRET, state, max_age=-1)
