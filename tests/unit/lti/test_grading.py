"""AGS wire format: score payloads, timestamps, URLs, line item matching (pure)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masteryai_lti.lti import grading
from masteryai_lti.lti.grading import (
    AgsEndpoint,
    LineItemSpec,
    Score,
    ScoreRejected,
    format_timestamp,
    line_item_payload,
    matching_line_item,
    next_timestamp,
    parse_result,
    results_url,
    score_payload,
    scores_url,
)

NOW = datetime(2026, 11, 24, 19, 0, 0, 123456, tzinfo=UTC)


def _score(**changes) -> Score:
    values = {
        "user_id": "sub-1",
        "score_given": 7.5,
        "score_maximum": 10.0,
        "activity_progress": "Completed",
        "grading_progress": "FullyGraded",
        "timestamp": NOW,
        "comment": None,
    }
    values.update(changes)
    return Score(**values)


def test_score_payload_has_the_spec_fields():
    payload = score_payload(_score(comment="Good"))

    assert payload == {
        "userId": "sub-1",
        "scoreGiven": 7.5,
        "scoreMaximum": 10.0,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2026-11-24T19:00:00.123+00:00",
        "comment": "Good",
    }


def test_progress_only_score_omits_score_given():
    payload = score_payload(
        _score(
            score_given=None,
            score_maximum=None,
            activity_progress="Started",
            grading_progress="NotReady",
        )
    )

    assert "scoreGiven" not in payload and "scoreMaximum" not in payload
    assert payload["activityProgress"] == "Started"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"score_maximum": None}, "scoreMaximum is required"),
        ({"score_given": -1.0}, "must not be negative"),
        ({"score_maximum": 0.0}, "greater than 0"),
        ({"score_given": math.nan}, "finite"),
        ({"score_maximum": math.inf}, "finite"),
        ({"activity_progress": "Done"}, "activityProgress"),
        ({"grading_progress": "Graded"}, "gradingProgress"),
        ({"user_id": ""}, "userId"),
        ({"timestamp": datetime(2026, 1, 1)}, "timezone"),
    ],
)
def test_invalid_scores_are_rejected(changes, message):
    with pytest.raises(ScoreRejected, match=message):
        score_payload(_score(**changes))


def test_score_above_maximum_is_extra_credit_not_an_error():
    assert score_payload(_score(score_given=12.0))["scoreGiven"] == 12.0


def test_timestamp_is_utc_with_milliseconds():
    moment = datetime(2026, 11, 24, 21, 0, 0, 5000, tzinfo=timezone(timedelta(hours=2)))

    assert format_timestamp(moment) == "2026-11-24T19:00:00.005+00:00"


def test_next_timestamp_is_now_when_later_than_previous():
    assert next_timestamp(NOW, NOW - timedelta(seconds=1)) == NOW
    assert next_timestamp(NOW, None) == NOW


def test_next_timestamp_moves_past_an_equal_or_later_previous():
    assert next_timestamp(NOW, NOW) == NOW + timedelta(milliseconds=1)
    later = NOW + timedelta(seconds=5)
    assert next_timestamp(NOW, later) == later + timedelta(milliseconds=1)


@given(st.lists(st.integers(min_value=-5000, max_value=5000), min_size=1, max_size=30))
def test_successive_timestamps_strictly_increase_in_milliseconds(offsets_ms):
    previous = None
    stamps = []
    for offset in offsets_ms:
        previous = next_timestamp(NOW + timedelta(milliseconds=offset), previous)
        stamps.append(format_timestamp(previous))
    # Compared as the platform sees them: the formatted millisecond strings.
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


@pytest.mark.parametrize(
    "lineitem, expected",
    [
        ("https://lms.example/li/7", "https://lms.example/li/7/scores"),
        ("https://lms.example/li/7/", "https://lms.example/li/7/scores"),
        (
            "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=3",
            "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem/scores?type_id=3",
        ),
    ],
)
def test_scores_url_goes_before_the_query(lineitem, expected):
    assert scores_url(lineitem) == expected
    assert results_url(lineitem) == expected.replace("/scores", "/results")


def test_line_item_payload():
    spec = LineItemSpec(label="Fractions", score_maximum=20, resource_link_id="rl-9", tag="m")

    assert line_item_payload(spec) == {
        "label": "Fractions",
        "scoreMaximum": 20.0,
        "resourceLinkId": "rl-9",
        "tag": "m",
    }
    with pytest.raises(ScoreRejected):
        line_item_payload(LineItemSpec(label=" ", score_maximum=10))
    with pytest.raises(ScoreRejected):
        line_item_payload(LineItemSpec(label="x", score_maximum=0))


def test_matching_line_item_checks_fields_the_platform_may_not_filter():
    spec = LineItemSpec(label="x", score_maximum=1, resource_link_id="rl-2", tag="masteryai")
    items = [
        {"id": "u1", "resourceLinkId": "rl-1", "tag": "masteryai"},
        {"id": "u2", "resourceLinkId": "rl-2", "tag": "other"},
        {"resourceLinkId": "rl-2", "tag": "masteryai"},  # no id: unusable
        {"id": "u4", "resourceLinkId": "rl-2", "tag": "masteryai"},
    ]

    assert matching_line_item(items, spec) == "u4"
    assert matching_line_item(items[:3], spec) is None


def test_ags_endpoint_claim_and_scope_implication():
    endpoint = AgsEndpoint.from_claim(
        {"scope": [grading.SCOPE_LINEITEM, grading.SCOPE_SCORE], "lineitems": "https://l/li"}
    )

    assert endpoint.lineitem_url is None and endpoint.lineitems_url == "https://l/li"
    assert endpoint.grants(grading.SCOPE_LINEITEM_READONLY)
    assert not endpoint.grants(grading.SCOPE_RESULT_READONLY)
    assert AgsEndpoint.from_claim(None) is None


def test_parse_result_tolerates_missing_and_odd_values():
    result = parse_result({"userId": "s", "resultScore": "8", "resultMaximum": None})

    assert (result.user_id, result.result_score, result.result_maximum) == ("s", 8.0, None)
    assert parse_result({"userId": 5, "resultScore": "n/a"}).result_score is None
