"""``format=canonical`` (Communication 2.1.3): Activities carry the definition the LRS
holds for them, learned from every readable statement (what GET /xapi/activities
returns), then filtered to the reader's language."""

from __future__ import annotations

from masteryai_lti.xapi.credentials import issue_credential
from tests.integration.xapi.conftest import Lrs, statement
from tests.sql_statements import SqlStatements

ACTIVITY = "http://example.org/activity/fractions"
COURSE = "http://example.org/course/maths"
PART = "http://example.org/activity/part-2"
TYPE = "http://adlnet.gov/expapi/activities/assessment"


def _about(activity: str, definition: dict, n: int = 0) -> dict:
    return statement(n, object={"id": activity, "definition": definition})


def test_canonical_fills_in_what_other_statements_defined(lrs):
    first = lrs.post(_about(ACTIVITY, {"type": TYPE, "name": {"en-US": "Fractions"}})).json[0]
    lrs.post(
        _about(
            ACTIVITY,
            {
                "name": {"fr-FR": "Les fractions"},
                "description": {"en-US": "Adding fractions", "fr-FR": "Additionner"},
            },
        )
    )
    french = lrs.get(
        statementId=first, format="canonical", headers={"Accept-Language": "fr-FR"}
    ).json
    assert french["object"]["definition"] == {
        "type": TYPE,
        "name": {"fr-FR": "Les fractions"},
        "description": {"fr-FR": "Additionner"},
    }
    english = lrs.get(
        statementId=first, format="canonical", headers={"Accept-Language": "en-US"}
    ).json
    assert english["object"]["definition"]["name"] == {"en-US": "Fractions"}
    assert english["object"]["definition"]["description"] == {"en-US": "Adding fractions"}
    # exact still returns the statement as it was sent.
    exact = lrs.get(statementId=first).json
    assert exact["object"]["definition"] == {"type": TYPE, "name": {"en-US": "Fractions"}}


def test_canonical_is_the_activities_resource_definition_filtered(lrs):
    lrs.post(_about(ACTIVITY, {"type": TYPE, "name": {"en-US": "Fractions"}}))
    sid = lrs.post(_about(ACTIVITY, {"name": {"de-DE": "Brüche"}, "moreInfo": "http://x.org/"}))
    resource = lrs.get("/xapi/activities", activityId=ACTIVITY).json["definition"]
    got = lrs.get(
        statementId=sid.json[0], format="canonical", headers={"Accept-Language": "de"}
    ).json
    assert got["object"]["definition"] == {**resource, "name": {"de-DE": "Brüche"}}


def test_context_and_sub_statement_activities_get_their_definitions(lrs):
    lrs.post(_about(COURSE, {"name": {"en-US": "Maths", "fr-FR": "Maths FR"}}))
    lrs.post(_about(PART, {"name": {"en-US": "Part two"}, "type": TYPE}))
    sid = lrs.post(
        statement(
            object={
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:peer@example.org"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
                "object": {"id": PART},
                "context": {"contextActivities": {"grouping": [{"id": COURSE}]}},
            },
            context={
                "contextActivities": {
                    "parent": [{"id": COURSE}],
                    # Defined only here: the statement's own definition is kept.
                    "other": [{"id": "http://example.org/only-here", "definition": {"type": TYPE}}],
                }
            },
        )
    ).json[0]
    got = lrs.get(statementId=sid, format="canonical", headers={"Accept-Language": "fr"}).json
    activities = got["context"]["contextActivities"]
    assert activities["parent"] == [{"id": COURSE, "definition": {"name": {"fr-FR": "Maths FR"}}}]
    assert activities["other"][0]["definition"] == {"type": TYPE}
    sub = got["object"]
    assert sub["object"]["definition"] == {"name": {"en-US": "Part two"}, "type": TYPE}
    grouping = sub["context"]["contextActivities"]["grouping"]
    assert grouping[0]["definition"] == {"name": {"fr-FR": "Maths FR"}}


def test_canonical_pages_use_the_lrs_definitions(lrs):
    lrs.post(_about(ACTIVITY, {"name": {"en-US": "Fractions"}}))
    lrs.post(_about(ACTIVITY, {"name": {"fr-FR": "Les fractions"}}))
    page = lrs.get(format="canonical", limit=1, headers={"Accept-Language": "en-US"}).json
    assert page["statements"][0]["object"]["definition"]["name"] == {"en-US": "Fractions"}
    more = lrs.get(page["more"], headers={"Accept-Language": "fr-FR"}).json
    assert more["statements"][0]["object"]["definition"]["name"] == {"fr-FR": "Les fractions"}


def test_read_mine_learns_definitions_only_from_its_own_statements(client, institution, lrs):
    lrs.post(_about(ACTIVITY, {"name": {"fr-FR": "Secret du transmetteur"}}))
    issued = issue_credential(institution.id, "content", ["write", "read-mine"])
    content = Lrs(client, issued.key, issued.secret)
    sid = content.post(_about(ACTIVITY, {"name": {"en-US": "Mine"}})).json[0]
    got = content.get(statementId=sid, format="canonical", headers={"Accept-Language": "fr-FR"})
    assert got.json["object"]["definition"] == {"name": {"en-US": "Mine"}}


def test_canonical_costs_one_query_per_page_whatever_the_activities(app, lrs):
    lrs.post(
        [
            statement(
                n,
                object={"id": f"{ACTIVITY}/{n}", "definition": {"name": {"en-US": f"A{n}"}}},
                context={"contextActivities": {"parent": [{"id": f"{COURSE}/{n}"}]}},
            )
            for n in range(30)
        ]
    )
    lrs.get(limit=30)  # warm the credential and consistency caches
    with SqlStatements(app) as exact:
        assert len(lrs.get(limit=30).json["statements"]) == 30
    with SqlStatements(app) as canonical:
        page = lrs.get(limit=30, format="canonical").json["statements"]
    assert canonical.count == exact.count + 1, canonical.texts
    assert {s["object"]["definition"]["name"]["en-US"] for s in page} == {
        f"A{n}" for n in range(30)
    }
