"""json_input: JSON Python parses but no store can keep is refused with its path."""

from __future__ import annotations

import json

import pytest

from masteryai_lti.xapi.json_input import (
    MAX_DEPTH,
    JsonInputError,
    first_unstorable,
    loads,
    too_deep,
)


def _refused(text, root=None) -> JsonInputError:
    with pytest.raises(JsonInputError) as caught:
        loads(text, root=root)
    return caught.value


def test_ordinary_json_passes_untouched_including_surrogate_pairs_and_escapes():
    text = '{"a": "\\ud83d\\ude00", "b": "back\\\\u0000slash", "c": [1.5, -2e10, 10]}'
    assert loads(text.encode()) == {"a": "😀", "b": "back\\u0000slash", "c": [1.5, -2e10, 10]}


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ('[{"a": 1}, {"b": {"c": "x\\u0000"}}]', "statements[1].b.c", "NUL"),
        ('{"a": {"k\\u0000": 1}}', "a.k\\u0000", "key contains the NUL"),
        ('{"a": ["ok", "\\udc00"]}', "a[1]", "surrogate"),
        ('{"a": {"n": NaN}}', "a.n", "finite number"),
        ('{"a": -Infinity}', "a", "finite number"),
        ('{"a": [1e400]}', "a[0]", "finite number"),
    ],
)
def test_unstorable_values_are_named_by_path(text, path, words):
    error = _refused(text)
    assert error.path == path and words in error.message


def test_the_first_problem_in_document_order_is_reported():
    error = _refused('{"a": {"x": NaN}, "b\\u0000": 1}')
    assert error.path == "a.x"


def test_a_named_root_prefixes_paths_and_bad_syntax_names_the_root():
    assert _refused('{"mbox": "mailto:a\\u0000@b.c"}', root="agent").path == "agent.mbox"
    assert _refused("{bad", root="agent").path == "agent"
    assert _refused(b"\xff\xfe").path == "body"


def test_nesting_beyond_the_parsers_stack_is_an_error_not_a_crash():
    error = _refused("[" * 200_000 + "]" * 200_000)
    assert error.path == "body" and "nested" in error.message


def test_depth_checks():
    nested = json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert too_deep(nested, MAX_DEPTH) and not too_deep(nested, MAX_DEPTH + 1)
    path, message = first_unstorable(nested, "x")
    assert path.startswith("x[0]") and "nested" in message
    assert first_unstorable(json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)) is None
