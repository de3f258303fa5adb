"""ISO 8601 timestamps and durations (Data 4.5, 4.6) and RFC 5646 tags (Data 4.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masteryai_lti.xapi.language import canonical_language_tag, is_language_tag
from masteryai_lti.xapi.timestamps import (
    TimestampError,
    format_utc,
    is_duration,
    is_timestamp,
    parse_timestamp,
    timestamp_instant,
    to_utc_timestamp,
    truncate_duration,
)

TIMESTAMPS = [
    ("2008-09-15T15:53:00.601Z", True),
    ("2008-09-15T15:53:00.601+00:00", True),
    ("2008-09-15t15:53:00z", True),
    ("2008-09-15T15:53Z", True),
    ("2008-09-15T15:53:00", True),
    ("2008-09-15T15:53:00+05", True),
    ("20080915T155300.601Z", True),
    ("20080915T155300+0530", True),
    ("2008-09-15T15:53:00,5Z", True),
    ("2008-09-15T15:53:00.601-00", False),
    ("2008-09-15T15:53:00.601-0000", False),
    ("2008-09-15T15:53:00.601-00:00", False),
    ("2008-09-15T15:53:00+0530", False),
    ("20080915T155300-0000", False),
    ("2008-09-15 15:53:00Z", False),
    ("2008-09-15", False),
    ("01/011/2015", False),
    ("2015-02-29T00:00:00Z", False),
    ("2008-09-15T24:00:00Z", False),
    ("2008-09-15T10:00:00+24:00", False),
    ("should fail", False),
    (20080915, False),
    (None, False),
]


@pytest.mark.parametrize(("text", "valid"), TIMESTAMPS)
def test_timestamp_forms(text, valid):
    assert is_timestamp(text) is valid


def test_parse_error_says_why():
    with pytest.raises(TimestampError, match="unknown local offset"):
        parse_timestamp("2008-09-15T15:53:00.601-00:00")
    with pytest.raises(TimestampError, match="calendar"):
        parse_timestamp("2015-02-29T00:00:00Z")


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2023-05-04T12:00:00-05:00", "2023-05-04T17:00:00.000Z"),
        ("2023-05-04T12:00:00.5+01:30", "2023-05-04T10:30:00.500Z"),
        ("2023-05-04T12:00:00.123456789+02:00", "2023-05-04T10:00:00.123456789Z"),
        ("2023-01-01T00:30:00+01:00", "2022-12-31T23:30:00.000Z"),
        ("2023-05-04T12:00:00", "2023-05-04T12:00:00.000Z"),
        ("20230504T120000Z", "2023-05-04T12:00:00.000Z"),
    ],
)
def test_to_utc_keeps_instant_and_digits(text, utc):
    assert to_utc_timestamp(text) == utc
    assert timestamp_instant(text) == timestamp_instant(utc)


def test_instant_truncates_to_milliseconds():
    assert timestamp_instant("2020-01-01T00:00:00.1239Z") == datetime(
        2020, 1, 1, 0, 0, 0, 123000, tzinfo=UTC
    )


def test_format_utc_keeps_at_least_milliseconds():
    moment = datetime(2020, 1, 1, 12, 0, 0, 120000, tzinfo=UTC)
    assert format_utc(moment) == "2020-01-01T12:00:00.120Z"
    assert format_utc(moment.replace(microsecond=123456)) == "2020-01-01T12:00:00.123456Z"


DURATIONS = [
    ("PT1H0M0.1S", True),
    ("PT4H35M59.14S", True),
    ("PT16559.14S", True),
    ("P3Y1M29DT4H35M59.14S", True),
    ("P3Y", True),
    ("P4W", True),
    ("PT0S", True),
    ("P1DT12H36M0.12567S", True),
    ("PT0.5H", True),
    ("P4W1D", False),
    ("PA1H0M0S", False),
    ("P", False),
    ("PT", False),
    ("P1DT", False),
    ("PT1.5H30M", False),
    ("1H", False),
    ("PT1H30M ", False),
    ("P0003-01-29T04:35:59", False),
    (12345, False),
]


@pytest.mark.parametrize(("text", "valid"), DURATIONS)
def test_duration_forms(text, valid):
    assert is_duration(text) is valid


@pytest.mark.parametrize(
    ("text", "truncated"),
    [
        ("P1DT12H36M0.12567S", "P1DT12H36M0.12S"),
        ("PT0.999S", "PT0.99S"),
        ("PT1.5S", "PT1.5S"),
        ("PT1M", "PT1M"),
        ("P4W", "P4W"),
    ],
)
def test_truncate_duration_truncates_never_rounds(text, truncated):
    assert truncate_duration(text) == truncated


TAGS = [
    ("en", True),
    ("en-US", True),
    ("EN-us", True),
    ("zh-Hant-TW", True),
    ("sr-Latn-RS", True),
    ("es-419", True),
    ("de-CH-1901", True),
    ("sl-rozaj-biske", True),
    ("en-a-bbb-x-a-ccc", True),
    ("x-klingon", True),
    ("i-klingon", True),
    ("zh-min-nan", True),
    ("und", True),
    ("zh-yue-HK", True),
    ("a12345", False),
    ("en-", False),
    ("english language", False),
    ("en_US", False),
    ("e", False),
    ("toolonglanguage", False),
    ("en-x", False),
    ("", False),
    (12, False),
]


@pytest.mark.parametrize(("tag", "valid"), TAGS)
def test_language_tags(tag, valid):
    assert is_language_tag(tag) is valid


def test_language_tags_compare_case_insensitively():
    assert canonical_language_tag("en-US") == canonical_language_tag("EN-us")


instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).filter(bool)


def _with_offset(instant: datetime, minutes: int) -> str:
    local = instant + timedelta(minutes=minutes)
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return local.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{sign}{hours:02d}:{mins:02d}"


@settings(max_examples=200, deadline=None)
@given(instant=instants, minutes=offsets)
def test_any_offset_names_the_same_instant_after_utc_conversion(instant, minutes):
    text = _with_offset(instant, minutes)
    assert parse_timestamp(text)[0] == instant
    utc = to_utc_timestamp(text)
    assert utc.endswith("Z") and parse_timestamp(utc)[0] == instant
    assert timestamp_instant(text) == timestamp_instant(utc)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=6),
    seconds=st.decimals(min_value=0, max_value=10_000, places=5),
)
def test_generated_durations_validate_and_truncate(parts, seconds):
    units = ["Y", "M", "D", "H", "M"]
    date = "".join(f"{n}{u}" for n, u in zip(parts[:3], units[:3], strict=False))
    time = "".join(f"{n}{u}" for n, u in zip(parts[3:], units[3:], strict=False))
    text = f"P{date}T{time}{seconds:f}S"
    assert is_duration(text)
    truncated = truncate_duration(text)
    assert is_duration(truncated)
    if "." in truncated:
        assert len(truncated[:-1].rpartition(".")[2]) <= 2
    assert truncated[: truncated.rfind("T")] == text[: text.rfind("T")]


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+05:00",
        "0001-01-01T04:59:59.999+05:00",
        "9999-12-31T23:59:59-05:00",
        "99991231T190000-0500",
    ],
)
def test_offsets_that_leave_the_calendar_in_utc_are_errors_not_crashes(text):
    with pytest.raises(TimestampError, match="out of range"):
        parse_timestamp(text)
    assert not is_timestamp(text)


def test_the_first_and_last_utc_instants_render_as_iso_8601():
    assert to_utc_timestamp("0001-01-01T05:00:00+05:00") == "0001-01-01T00:00:00.000Z"
    assert to_utc_timestamp("0099-06-01T00:00:00Z") == "0099-06-01T00:00:00.000Z"
    assert to_utc_timestamp("9999-12-31T18:59:59.999-05:00") == "9999-12-31T23:59:59.999Z"
    assert is_timestamp(format_utc(datetime(1, 1, 1, tzinfo=UTC)))
