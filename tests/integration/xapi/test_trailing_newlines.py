"""A value that matches a rule but for a trailing line break is not valid (xAPI's formats
have no room for one; a pattern anchored with ``$`` lets it through in Python)."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.xapi.conftest import attachment_of, statement

STATEMENT_ID = "3f1c1c1e-3a33-4bd6-9a0f-5f7c9c8d2b11"

CASES = {
    "id": lambda: statement(id=STATEMENT_ID + "\n"),
    "actor.mbox": lambda: statement(
        actor={"objectType": "Agent", "mbox": "mailto:learner@example.org\n"}
    ),
    "actor.mbox_sha1sum": lambda: statement(
        actor={
            "objectType": "Agent",
            "mbox_sha1sum": hashlib.sha1(b"mailto:a@example.org").hexdigest() + "\n",
        }
    ),
    "verb.id": lambda: statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/answered\n", "display": {"en-US": "x"}}
    ),
    "version": lambda: statement(version="1.0.3\n"),
    "timestamp": lambda: statement(timestamp="2026-12-07T10:00:00Z\n"),
    "result.duration": lambda: statement(result={"duration": "PT1M\n"}),
    "verb.display": lambda: statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US\n": "x"}}
    ),
    "attachments[0].contentType": lambda: statement(
        attachments=[attachment_of(b"x", "text/plain\n", fileUrl="http://example.org/f")]
    ),
    "attachments[0].sha2": lambda: statement(
        attachments=[
            {
                **attachment_of(b"x", fileUrl="http://example.org/f"),
                "sha2": hashlib.sha256(b"x").hexdigest() + "\n",
            }
        ]
    ),
}


@pytest.mark.parametrize("where", sorted(CASES))
def test_a_trailing_line_break_is_refused_where_it_is(lrs, where):
    response = lrs.post(CASES[where]())

    assert response.status_code == 400, response.get_data(as_text=True)
    assert where in response.get_data(as_text=True)


def test_the_same_values_without_it_are_stored(lrs):
    valid = statement(
        id=STATEMENT_ID,
        version="1.0.3",
        attachments=[attachment_of(b"x", "text/plain; charset=utf-8", fileUrl="http://x.org/f")],
    )
    assert lrs.post(valid).status_code == 200
