"""Looking people up by the identifiers other systems know them by (xAPI IFIs, LTI subs)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from masteryai_lti.core.errors import Conflict
from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
from masteryai_lti.identity.models import UserIdentity
from tests.factories import make_institution, make_user


def test_users_by_identities_finds_each_linked_pair_in_one_institution(app_context):
    school, other = make_institution(), make_institution()
    ada, grace = make_user(school), make_user(school)
    stranger = make_user(other)
    identity.link_identity(school.id, ada.id, "mbox", "mailto:ada@example.org")
    identity.link_identity(school.id, grace.id, "account", "https://lms.example|grace")
    identity.link_identity(other.id, stranger.id, "mbox", "mailto:nobody@example.org")
    db.session.commit()

    found = identity.users_by_identities(
        school.id,
        [
            ("mbox", "mailto:ada@example.org"),
            ("account", "https://lms.example|grace"),
            # Same value under another kind is another identity.
            ("openid", "mailto:ada@example.org"),
            # Linked, but in the other institution.
            ("mbox", "mailto:nobody@example.org"),
            ("mbox", "mailto:unknown@example.org"),
        ],
    )

    assert found == {
        ("mbox", "mailto:ada@example.org"): ada.id,
        ("account", "https://lms.example|grace"): grace.id,
    }
    assert identity.users_by_identities(school.id, []) == {}


@pytest.mark.parametrize("winner", ["the same user", "another user"])
def test_a_link_made_meanwhile_by_another_writer_is_taken_as_found(app_context, winner):
    """A roster sync and a launch link one e-mail at the same moment: the second writer
    sees the first's row, not a database error (a launch answered 500 here)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers are checked on PostgreSQL")
    school = make_institution()
    ada, grace = make_user(school), make_user(school)
    db.session.commit()
    holder = ada.id if winner == "the same user" else grace.id
    mailbox = "mailto:ada@example.org"
    row = {"institution_id": school.id, "user_id": holder, "kind": "mbox", "value": mailbox}

    wrote = []

    def the_other_writer_first(conn, cursor, statement, *args):
        insert = statement.lstrip().upper().startswith("INSERT INTO USER_IDENTITIES")
        if insert and not wrote and conn is not other_writer:
            wrote.append(True)
            with other_writer.begin():
                other_writer.execute(sa.insert(UserIdentity), [row])

    other_writer = db.engine.connect()

    sa.event.listen(db.engine, "before_cursor_execute", the_other_writer_first)
    try:
        if winner == "the same user":
            assert identity.link_identity(school.id, ada.id, "mbox", mailbox) is False
        else:
            with pytest.raises(Conflict):
                identity.link_identity(school.id, ada.id, "mbox", mailbox)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", the_other_writer_first)
        other_writer.close()
    assert wrote, "the other writer came in between the read and the insert"
    db.session.commit()
    assert identity.users_by_identities(school.id, [("mbox", mailbox)]) == {
        ("mbox", mailbox): holder
    }
