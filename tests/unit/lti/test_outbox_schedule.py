"""The outbox's retry schedule."""

from __future__ import annotations

from datetime import timedelta

from masteryai_lti.lti.outbox import (
    FIRST_RETRY_SECONDS,
    MAX_ATTEMPTS,
    MAX_RETRY_SECONDS,
    retry_delay,
)


def test_delay_doubles_from_thirty_seconds():
    delays = [retry_delay(n).total_seconds() for n in range(1, 6)]

    assert delays == [30, 60, 120, 240, 480]
    assert retry_delay(0).total_seconds() == FIRST_RETRY_SECONDS


def test_delay_is_capped_and_jitter_is_bounded_and_deterministic():
    assert retry_delay(40) == timedelta(seconds=MAX_RETRY_SECONDS)
    assert retry_delay(3, entry_id=12) == retry_delay(3, entry_id=12)
    jitters = {retry_delay(3, entry_id=i) - retry_delay(3) for i in range(50)}
    assert max(jitters) < timedelta(seconds=7) and len(jitters) == 7


def test_all_attempts_outlast_a_day_long_lms_outage():
    total = sum((retry_delay(n) for n in range(1, MAX_ATTEMPTS)), timedelta())

    assert timedelta(hours=24) < total < timedelta(hours=30)
