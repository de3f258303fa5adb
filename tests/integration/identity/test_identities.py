"""Looking people up by the identifiers other systems know them by (xAPI IFIs, LTI subs)."""

from __future__ import annotations

from masteryai_lti.extensions import db
from masteryai_lti.identity import service as identity
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
