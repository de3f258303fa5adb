"""``versions.shape_for_version``: what a 1.0.x or a 2.0 reader is given."""

from __future__ import annotations

import copy

from masteryai_lti.xapi.versions import shape_for_version

STORED = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {"mbox": "mailto:a@example.org"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
    "object": {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:b@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": "http://example.org/a"},
        "context": {"contextGroups": [], "language": "en"},
        "timestamp": "2020-01-01T12:00:00+01:00",
    },
    "context": {"contextAgents": [], "registration": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
    "timestamp": "2020-01-01T12:00:00.5-01:30",
    "stored": "2020-01-01T12:00:00.000Z",
    "version": "2.0.0",
}


def test_shaping_never_alters_the_stored_statement():
    before = copy.deepcopy(STORED)
    old = shape_for_version(STORED, "1.0.3")
    new = shape_for_version(STORED, "2.0.0")
    assert STORED == before
    assert old["context"] == {"registration": STORED["context"]["registration"]}
    assert old["object"]["context"] == {"language": "en"}
    assert old["version"] == "1.0.0"
    assert new["timestamp"] == "2020-01-01T13:30:00.500Z"
    assert new["object"]["timestamp"] == "2020-01-01T11:00:00.000Z"
    assert new["context"] == STORED["context"]


def test_a_statement_needing_no_change_is_returned_as_is():
    plain = {**STORED, "object": {"id": "http://example.org/a"}, "context": {}}
    plain["version"] = "1.0.0"
    plain["timestamp"] = "2020-01-01T12:00:00.123Z"
    assert shape_for_version(plain, "1.0.3") is plain
    assert shape_for_version(plain, "2.0.0") is plain
