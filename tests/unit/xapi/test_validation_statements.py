"""Bad statements -> the field path named and a 400 problem; good variants -> no problem.

Each row is (case, changes to the valid base statement, expected problem path). The rows
follow the xAPI 1.0.3 Data sections and the IEEE 9274.1.1 (2.0) additions.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masteryai_lti.xapi.validation import (
    Problem,
    StatementValidationError,
    ensure_valid_statements,
    validate_statement,
    validate_statements,
)
from tests.unit.xapi.statements import (
    ACTIVITY,
    ACTOR,
    DELETE,
    STATEMENT_ID,
    VERB,
    base_statement,
    statement_with,
)

MBOX2 = "mailto:bob@example.com"
SHA1 = "cd9b00a5611f94eaa7b1661edab976068e364975"
ACCOUNT = {"homePage": "http://lms.example.com", "name": "ann"}
ANON_GROUP = {"objectType": "Group", "member": [ACTOR]}
SUB = {"objectType": "SubStatement", "actor": ACTOR, "verb": VERB, "object": ACTIVITY}
REF = {"objectType": "StatementRef", "id": STATEMENT_ID}
SHA256 = "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634"
ATTACHMENT = {
    "usageType": "http://adlnet.gov/expapi/attachments/signature",
    "display": {"en-US": "Signature"},
    "contentType": "application/octet-stream",
    "length": 4235,
    "sha2": SHA256,
}

# (case, changes, expected path) -- rejected under both versions.
BAD = [
    # Data 2.4: required properties, unknown properties, nulls, LRS-owned formats
    ("actor missing", [("actor", DELETE)], "actor"),
    ("verb missing", [("verb", DELETE)], "verb"),
    ("object missing", [("object", DELETE)], "object"),
    ("unknown top-level property", [("color", "red")], "color"),
    ("actor null", [("actor", None)], "actor"),
    ("context null", [("context", None)], "context"),
    ("verb display null", [("verb.display", None)], "verb.display"),
    ("result success null", [("result.success", None)], "result.success"),
    ("statement not an object", [], None),
    ("id not a UUID", [("id", "not-a-uuid")], "id"),
    ("id too many digits", [("id", "AA97B177-9383-4934-8543-0F91A7A028368")], "id"),
    ("id non-hex letter", [("id", "MA97B177-9383-4934-8543-0F91A7A02836")], "id"),
    ("id numeric", [("id", 12345)], "id"),
    ("stored not a timestamp", [("stored", "yesterday")], "stored"),
    ("version 0.9.9", [("version", "0.9.9")], "version"),
    ("version 1.1.0", [("version", "1.1.0")], "version"),
    ("version not a string", [("version", 1.0)], "version"),
    ("version 1.0.", [("version", "1.0.")], "version"),
    ("version 1.01", [("version", "1.01")], "version"),
    ("version empty", [("version", "")], "version"),
    # Data 2.4.2 actors and IFIs
    ("agent without IFI", [("actor", {"objectType": "Agent", "name": "x"})], "actor"),
    ("agent with two IFIs", [("actor.mbox_sha1sum", SHA1)], "actor"),
    ("agent objectType lowercase", [("actor.objectType", "agent")], "actor.objectType"),
    ("agent objectType numeric", [("actor.objectType", 123)], "actor.objectType"),
    ("agent name numeric", [("actor.name", 123)], "actor.name"),
    ("agent unknown property", [("actor.age", 12)], "actor.age"),
    ("mbox without mailto", [("actor.mbox", "ann@example.com")], "actor.mbox"),
    ("mbox not a string", [("actor.mbox", ["mailto:a@b.c"])], "actor.mbox"),
    ("mbox_sha1sum not hex", [("actor", {"mbox_sha1sum": "xyz"})], "actor.mbox_sha1sum"),
    ("openid without scheme", [("actor", {"openid": "openid.example.org/1"})], "actor.openid"),
    ("account without homePage", [("actor", {"account": {"name": "a"}})], "actor.account.homePage"),
    (
        "account without name",
        [("actor", {"account": {"homePage": "http://x.org"}})],
        "actor.account.name",
    ),
    (
        "account homePage without scheme",
        [("actor", {"account": {"homePage": "x.org", "name": "a"}})],
        "actor.account.homePage",
    ),
    ("account extra property", [("actor", {"account": {**ACCOUNT, "id": 1}})], "actor.account.id"),
    ("anonymous group without member", [("actor", {"objectType": "Group"})], "actor.member"),
    (
        "anonymous group empty member",
        [("actor", {"objectType": "Group", "member": []})],
        "actor.member",
    ),
    (
        "group member is a group",
        [("actor", {"objectType": "Group", "member": [ANON_GROUP]})],
        "actor.member[0]",
    ),
    (
        "group member without IFI",
        [("actor", {"objectType": "Group", "member": [{"name": "x"}]})],
        "actor.member[0]",
    ),
    (
        "group member not an array",
        [("actor", {"objectType": "Group", "member": ACTOR})],
        "actor.member",
    ),
    (
        "identified group with two IFIs",
        [("actor", {"objectType": "Group", "mbox": MBOX2, "openid": "http://id.org/g"})],
        "actor",
    ),
    (
        "group objectType wrong case",
        [("context.team", {"objectType": "group", "mbox": MBOX2})],
        "context.team.objectType",
    ),
    # Data 2.4.3 verb
    ("verb id missing", [("verb", {"display": {"en-US": "x"}})], "verb.id"),
    ("verb id without scheme", [("verb.id", "adlnet.gov/expapi/verbs/attempted")], "verb.id"),
    ("verb display bad tag", [("verb.display", {"a12345": "x"})], "verb.display.a12345"),
    ("verb display value numeric", [("verb.display", {"en-US": 1})], "verb.display.en-US"),
    ("verb display not an object", [("verb.display", "attempted")], "verb.display"),
    ("verb unknown property", [("verb.name", "x")], "verb.name"),
    # Data 2.4.4 objects
    ("object objectType unknown", [("object.objectType", "Thing")], "object.objectType"),
    ("activity id missing", [("object.id", DELETE)], "object.id"),
    ("activity id without scheme", [("object.id", "example.com/a")], "object.id"),
    ("activity unknown property", [("object.name", "x")], "object.name"),
    (
        "definition type without scheme",
        [("object.definition.type", "assessment")],
        "object.definition.type",
    ),
    (
        "definition moreInfo without scheme",
        [("object.definition.moreInfo", "x.org/i")],
        "object.definition.moreInfo",
    ),
    (
        "definition name bad tag",
        [("object.definition.name", {"english!": "x"})],
        "object.definition.name.english!",
    ),
    (
        "definition unknown property",
        [("object.definition.colour", "x")],
        "object.definition.colour",
    ),
    (
        "definition extension key not IRI",
        [("object.definition.extensions", {"k": 1})],
        "object.definition.extensions.k",
    ),
    (
        "interactionType unknown",
        [("object.definition.interactionType", "essay")],
        "object.definition.interactionType",
    ),
    (
        "correctResponsesPattern without interactionType",
        [("object.definition.correctResponsesPattern", ["a"])],
        "object.definition.correctResponsesPattern",
    ),
    (
        "correctResponsesPattern not an array",
        [
            ("object.definition.interactionType", "choice"),
            ("object.definition.correctResponsesPattern", "a"),
        ],
        "object.definition.correctResponsesPattern",
    ),
    (
        "choices on a likert interaction",
        [
            ("object.definition.interactionType", "likert"),
            ("object.definition.choices", [{"id": "a"}]),
        ],
        "object.definition.choices",
    ),
    (
        "repeated component id",
        [
            ("object.definition.interactionType", "choice"),
            ("object.definition.choices", [{"id": "a"}, {"id": "a"}]),
        ],
        "object.definition.choices[1].id",
    ),
    (
        "component without id",
        [
            ("object.definition.interactionType", "choice"),
            ("object.definition.choices", [{"description": {"en": "A"}}]),
        ],
        "object.definition.choices[0].id",
    ),
    ("agent object without objectType", [("object", {"mbox": MBOX2})], "object.id"),
    ("group object without objectType", [("object", {"member": [ACTOR]})], "object.id"),
    ("statementref without id", [("object", {"objectType": "StatementRef"})], "object.id"),
    ("statementref bad id", [("object", {**REF, "id": "12345"})], "object.id"),
    ("statementref extra property", [("object", {**REF, "definition": {}})], "object.definition"),
    ("substatement with id", [("object", {**SUB, "id": STATEMENT_ID})], "object.id"),
    (
        "substatement with stored",
        [("object", {**SUB, "stored": "2024-01-01T00:00:00Z"})],
        "object.stored",
    ),
    ("substatement with version", [("object", {**SUB, "version": "1.0.0"})], "object.version"),
    ("substatement with authority", [("object", {**SUB, "authority": ACTOR})], "object.authority"),
    ("nested substatement", [("object", {**SUB, "object": SUB})], "object.object.objectType"),
    (
        "substatement without verb",
        [("object", {k: v for k, v in SUB.items() if k != "verb"})],
        "object.verb",
    ),
    (
        "substatement bad timestamp",
        [("object", {**SUB, "timestamp": "2008-09-15T15:53:00.601-00:00"})],
        "object.timestamp",
    ),
    (
        "voiding statement with activity object",
        [("verb.id", "http://adlnet.gov/expapi/verbs/voided")],
        "object",
    ),
    # Data 2.4.5 result
    ("scaled above 1", [("result.score.scaled", 1.5)], "result.score.scaled"),
    ("scaled below -1", [("result.score.scaled", -1.01)], "result.score.scaled"),
    ("raw above max", [("result.score.raw", 11)], "result.score.raw"),
    ("raw below min", [("result.score.raw", -1)], "result.score.raw"),
    ("min not below max", [("result.score.min", 10)], "result.score.max"),
    ("raw a string", [("result.score.raw", "5")], "result.score.raw"),
    ("scaled a boolean", [("result.score.scaled", True)], "result.score.scaled"),
    ("score unknown property", [("result.score.percent", 50)], "result.score.percent"),
    ("success a string", [("result.success", "true")], "result.success"),
    ("completion a number", [("result.completion", 1)], "result.completion"),
    ("response a number", [("result.response", 42)], "result.response"),
    ("duration not ISO 8601", [("result.duration", "PA1H0M0S")], "result.duration"),
    ("duration weeks mixed", [("result.duration", "P4W1D")], "result.duration"),
    ("duration numeric", [("result.duration", 90)], "result.duration"),
    ("duration fraction not last", [("result.duration", "PT1.5H30M")], "result.duration"),
    (
        "result extension key not IRI",
        [("result.extensions", {"points": 1})],
        "result.extensions.points",
    ),
    ("result unknown property", [("result.grade", "A")], "result.grade"),
    # Data 2.4.6 context
    ("registration not UUID", [("context.registration", "abc")], "context.registration"),
    ("instructor without IFI", [("context.instructor", {"name": "T"})], "context.instructor"),
    ("instructor a string", [("context.instructor", "Ms T")], "context.instructor"),
    ("team is an agent", [("context.team", ACTOR)], "context.team"),
    (
        "contextActivities unknown key",
        [("context.contextActivities.sibling", [ACTIVITY])],
        "context.contextActivities.sibling",
    ),
    (
        "context activity without id",
        [("context.contextActivities.parent", [{"objectType": "Activity"}])],
        "context.contextActivities.parent[0].id",
    ),
    (
        "context activity is an agent",
        [("context.contextActivities.other", ACTOR)],
        "context.contextActivities.other.objectType",
    ),
    (
        "revision with agent object",
        [("object", {**ACTOR, "objectType": "Agent"})],
        "context.revision",
    ),
    (
        "platform with statementref object",
        [("object", REF), ("context.revision", DELETE)],
        "context.platform",
    ),
    ("revision a number", [("context.revision", 2)], "context.revision"),
    ("language bad tag", [("context.language", "english language")], "context.language"),
    (
        "context statement not a ref",
        [("context.statement", {"id": STATEMENT_ID})],
        "context.statement.objectType",
    ),
    (
        "context extension key not IRI",
        [("context.extensions", {"cohort": 1})],
        "context.extensions.cohort",
    ),
    ("context unknown property", [("context.course", "x")], "context.course"),
    # Data 2.4.7 / 4.5 timestamps
    ("timestamp words", [("timestamp", "should fail")], "timestamp"),
    ("timestamp US date", [("timestamp", "01/011/2015")], "timestamp"),
    ("timestamp -00", [("timestamp", "2008-09-15T15:53:00.601-00")], "timestamp"),
    ("timestamp -0000", [("timestamp", "2008-09-15T15:53:00.601-0000")], "timestamp"),
    ("timestamp -00:00", [("timestamp", "2008-09-15T15:53:00.601-00:00")], "timestamp"),
    ("timestamp impossible date", [("timestamp", "2015-02-30T10:00:00Z")], "timestamp"),
    ("timestamp numeric", [("timestamp", 1714824000)], "timestamp"),
    # Data 2.4.9 authority
    ("authority without IFI", [("authority", {"name": "LRS"})], "authority"),
    (
        "authority group of three",
        [("authority", {"objectType": "Group", "member": [ACTOR, ACTOR, ACTOR]})],
        "authority.member",
    ),
    # Data 2.4.11 attachments
    ("attachments not an array", [("attachments", ATTACHMENT)], "attachments"),
    (
        "attachment without usageType",
        [("attachments", [{k: v for k, v in ATTACHMENT.items() if k != "usageType"}])],
        "attachments[0].usageType",
    ),
    (
        "attachment without display",
        [("attachments", [{k: v for k, v in ATTACHMENT.items() if k != "display"}])],
        "attachments[0].display",
    ),
    (
        "attachment without sha2",
        [("attachments", [{k: v for k, v in ATTACHMENT.items() if k != "sha2"}])],
        "attachments[0].sha2",
    ),
    (
        "attachment usageType without scheme",
        [("attachments", [{**ATTACHMENT, "usageType": "signature"}])],
        "attachments[0].usageType",
    ),
    (
        "attachment fileUrl without scheme",
        [("attachments", [{**ATTACHMENT, "fileUrl": "x.org/f"}])],
        "attachments[0].fileUrl",
    ),
    (
        "attachment length negative",
        [("attachments", [{**ATTACHMENT, "length": -1}])],
        "attachments[0].length",
    ),
    (
        "attachment length a string",
        [("attachments", [{**ATTACHMENT, "length": "10"}])],
        "attachments[0].length",
    ),
    (
        "attachment contentType not a media type",
        [("attachments", [{**ATTACHMENT, "contentType": "pdf"}])],
        "attachments[0].contentType",
    ),
    (
        "attachment sha2 not hex",
        [("attachments", [{**ATTACHMENT, "sha2": "abc"}])],
        "attachments[0].sha2",
    ),
    (
        "attachment unknown property",
        [("attachments", [{**ATTACHMENT, "data": "..."}])],
        "attachments[0].data",
    ),
]


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
@pytest.mark.parametrize(("case", "changes", "path"), BAD, ids=[row[0] for row in BAD])
def test_bad_statement_names_the_path(case, changes, path, version):
    statement = "not a statement" if path is None else statement_with(*changes)
    problems = validate_statement(statement, version)
    assert problems, f"{case}: accepted"
    assert all(isinstance(p, Problem) and p.status == 400 and p.rule for p in problems)
    assert (path or "") in [p.path for p in problems], [p.as_dict() for p in problems]


GOOD = [
    ("base statement", []),
    (
        "no optional parts",
        [("result", DELETE), ("context", DELETE), ("timestamp", DELETE), ("id", DELETE)],
    ),
    ("actor without objectType", [("actor.objectType", DELETE)]),
    ("actor by sha1", [("actor", {"mbox_sha1sum": SHA1})]),
    ("actor by openid", [("actor", {"openid": "http://openid.example.org/12345"})]),
    ("actor by account", [("actor", {"account": ACCOUNT})]),
    ("anonymous group", [("actor", ANON_GROUP)]),
    ("identified group without members", [("actor", {"objectType": "Group", "mbox": MBOX2})]),
    (
        "identified group with members",
        [("actor", {"objectType": "Group", "account": ACCOUNT, "member": [ACTOR]})],
    ),
    ("object without objectType", [("object.objectType", DELETE)]),
    (
        "agent object",
        [
            ("object", {"objectType": "Agent", "mbox": MBOX2}),
            ("context.revision", DELETE),
            ("context.platform", DELETE),
        ],
    ),
    ("statementref object", [("object", REF), ("context", DELETE)]),
    (
        "substatement object",
        [
            (
                "object",
                {**SUB, "result": {"success": True}, "timestamp": "2024-01-01T00:00:00+02:00"},
            ),
            ("context", DELETE),
        ],
    ),
    (
        "voiding statement",
        [
            ("verb.id", "http://adlnet.gov/expapi/verbs/voided"),
            ("object", REF),
            ("context", DELETE),
            ("result", DELETE),
        ],
    ),
    (
        "single context activity",
        [("context.contextActivities.grouping", {"id": "http://example.com/g"})],
    ),
    ("team group", [("context.team", {"objectType": "Group", "member": [ACTOR]})]),
    ("context statement ref", [("context.statement", REF)]),
    (
        "extension values null, empty, object",
        [
            (
                "context.extensions",
                {"http://e.org/a": None, "http://e.org/b": "", "http://e.org/c": {}},
            )
        ],
    ),
    ("empty extensions", [("result.extensions", {})]),
    ("timestamp with offset", [("timestamp", "2008-09-15T15:53:00.601+00:00")]),
    ("timestamp without offset", [("timestamp", "2008-09-15T15:53:00")]),
    ("timestamp basic format", [("timestamp", "20080915T155300Z")]),
    ("timestamp many digits", [("timestamp", "2008-09-15T15:53:00.123456789Z")]),
    ("duration seconds only", [("result.duration", "PT16559.14S")]),
    ("duration weeks", [("result.duration", "P4W")]),
    ("duration long precision", [("result.duration", "P1DT12H36M0.12567S")]),
    ("score without scaled", [("result.score", {"raw": 3})]),
    ("score negative range", [("result.score", {"scaled": -1, "raw": -5, "min": -5, "max": 5})]),
    ("version 1.0", [("version", "1.0")]),
    ("version 1.0.9", [("version", "1.0.9")]),
    ("version with pre-release", [("version", "1.0.3-rc.1")]),
    ("stored and authority given", [("stored", "2024-01-01T00:00:00Z"), ("authority", ACTOR)]),
    (
        "oauth authority group",
        [("authority", {"objectType": "Group", "member": [ACTOR, {"account": ACCOUNT}]})],
    ),
    (
        "attachment",
        [
            (
                "attachments",
                [
                    ATTACHMENT,
                    {**ATTACHMENT, "fileUrl": "http://x.org/f", "description": {"en": "d"}},
                ],
            )
        ],
    ),
    (
        "interaction activity",
        [
            ("object.definition.interactionType", "matching"),
            ("object.definition.correctResponsesPattern", ["a[.]b"]),
            ("object.definition.source", [{"id": "a", "description": {"en-US": "A"}}]),
            ("object.definition.target", [{"id": "b"}]),
        ],
    ),
    (
        "language tags of every shape",
        [
            (
                "verb.display",
                {
                    "zh-Hant-TW": "x",
                    "x-klingon": "x",
                    "en-GB-oed": "x",
                    "de-CH-1901": "x",
                    "und": "x",
                },
            )
        ],
    ),
]


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
@pytest.mark.parametrize(("case", "changes"), GOOD, ids=[row[0] for row in GOOD])
def test_good_statement_passes(case, changes, version):
    assert validate_statement(statement_with(*changes), version) == []


CONTEXT_AGENT = {
    "objectType": "contextAgent",
    "agent": ACTOR,
    "relevantTypes": ["http://example.com/types/coach"],
}
CONTEXT_GROUP = {
    "objectType": "contextGroup",
    "group": {"objectType": "Group", "mbox": MBOX2},
    "relevantTypes": ["http://example.com/types/team"],
}

BAD_2_0 = [
    (
        "contextAgent wrong objectType",
        [("context.contextAgents", [{**CONTEXT_AGENT, "objectType": "Agent"}])],
        "context.contextAgents[0].objectType",
    ),
    (
        "contextAgent invalid agent",
        [("context.contextAgents", [{**CONTEXT_AGENT, "agent": {"key": "x"}}])],
        "context.contextAgents[0].agent.key",
    ),
    (
        "contextAgent empty relevantTypes",
        [("context.contextAgents", [{**CONTEXT_AGENT, "relevantTypes": []}])],
        "context.contextAgents[0].relevantTypes",
    ),
    (
        "contextAgent relevantType not IRI",
        [("context.contextAgents", [{**CONTEXT_AGENT, "relevantTypes": ["abc"]}])],
        "context.contextAgents[0].relevantTypes[0]",
    ),
    (
        "contextAgents not an array",
        [("context.contextAgents", CONTEXT_AGENT)],
        "context.contextAgents",
    ),
    (
        "contextGroup wrong objectType",
        [("context.contextGroups", [{**CONTEXT_GROUP, "objectType": "Group"}])],
        "context.contextGroups[0].objectType",
    ),
    (
        "contextGroup invalid group",
        [("context.contextGroups", [{**CONTEXT_GROUP, "group": {"key": "x"}}])],
        "context.contextGroups[0].group.key",
    ),
    (
        "contextGroup missing group",
        [("context.contextGroups", [{"objectType": "contextGroup"}])],
        "context.contextGroups[0].group",
    ),
    ("version 3.0.0", [("version", "3.0.0")], "version"),
]


@pytest.mark.parametrize(("case", "changes", "path"), BAD_2_0, ids=[row[0] for row in BAD_2_0])
def test_bad_2_0_statement(case, changes, path):
    problems = validate_statement(statement_with(*changes), "2.0.0")
    assert path in [p.path for p in problems], [p.as_dict() for p in problems]


def test_2_0_properties_are_unknown_under_1_0_3():
    statement = statement_with(
        ("context.contextAgents", [CONTEXT_AGENT]), ("context.contextGroups", [CONTEXT_GROUP])
    )
    assert validate_statement(statement, "2.0.0") == []
    paths = [p.path for p in validate_statement(statement, "1.0.3")]
    assert paths == ["context.contextAgents", "context.contextGroups"]


def test_version_2_0_accepted_only_under_2_0():
    statement = statement_with(("version", "2.0.0"))
    assert validate_statement(statement, "2.0.0") == []
    assert [p.path for p in validate_statement(statement, "1.0.3")] == ["version"]


def test_batch_paths_are_indexed_and_duplicate_ids_rejected():
    good = base_statement()
    bad = statement_with(("actor.mbox", "nope"), ("id", "0c4f2ab3-5a3a-4cc4-9c55-39a8e0f2f9a1"))
    twin = base_statement()
    problems = validate_statements([good, bad, twin], "1.0.3")
    assert [p.path for p in problems] == ["statements[1].actor.mbox", "statements[2].id"]
    assert "statements[0]" in problems[1].rule


def test_batch_duplicate_ids_differ_only_in_case():
    upper = statement_with(("id", STATEMENT_ID.upper()))
    problems = validate_statements([base_statement(), upper])
    assert [p.path for p in problems] == ["statements[1].id"]


def test_batch_member_not_an_object():
    assert [p.path for p in validate_statements([base_statement(), 7])] == ["statements[1]"]


def test_single_statement_paths_have_no_prefix():
    problems = validate_statements(statement_with(("verb.id", "nope")), "2.0.0")
    assert [p.path for p in problems] == ["verb.id"]


def test_every_problem_is_reported_not_just_the_first():
    statement = statement_with(("actor.mbox", "x"), ("verb.id", "y"), ("result.score.scaled", 9))
    paths = {p.path for p in validate_statement(statement)}
    assert {"actor.mbox", "verb.id", "result.score.scaled"} <= paths


def test_ensure_valid_raises_with_problems():
    with pytest.raises(StatementValidationError) as raised:
        ensure_valid_statements([statement_with(("id", "x"))])
    assert [p.as_dict() for p in raised.value.problems] == [
        {"path": "statements[0].id", "message": raised.value.problems[0].rule}
    ]
    assert "statements[0].id" in str(raised.value)
    ensure_valid_statements(base_statement())  # valid: no exception


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "actor",
                    "verb",
                    "object",
                    "objectType",
                    "mbox",
                    "member",
                    "definition",
                    "context",
                    "result",
                    "score",
                    "extensions",
                    "display",
                    "timestamp",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(payload=json_values, version=st.sampled_from(["1.0.3", "2.0.0"]))
def test_validator_never_raises_on_any_json(payload, version):
    problems = validate_statements(payload, version)
    assert all(isinstance(p, Problem) for p in problems)


@settings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(
        [
            "actor",
            "actor.mbox",
            "verb",
            "verb.id",
            "object",
            "object.definition",
            "result.score",
            "result.score.raw",
            "context",
            "context.contextActivities",
            "timestamp",
            "id",
        ]
    ),
    value=json_values,
)
def test_any_replacement_in_a_valid_statement_is_handled(path, value):
    problems = validate_statement(statement_with((path, value)), "2.0.0")
    assert all(p.path for p in problems)


EXTENSION = "http://example.com/ext/attempt"


def _with_extension(value) -> dict:
    statement = base_statement()
    statement["result"]["extensions"][EXTENSION] = value
    return statement


@pytest.mark.parametrize(
    ("statement", "path", "words"),
    [
        (statement_with(("result.score.raw", float("nan"))), "result.score.raw", "finite"),
        (statement_with(("result.score.max", float("inf"))), "result.score.max", "finite"),
        (_with_extension(float("-inf")), f"result.extensions.{EXTENSION}", "finite number"),
        (_with_extension(["a\x00"]), f"result.extensions.{EXTENSION}[0]", "NUL"),
        (_with_extension({"k": "\ud800"}), f"result.extensions.{EXTENSION}.k", "surrogate"),
    ],
)
def test_values_no_store_can_keep_are_problems_even_without_the_http_reader(statement, path, words):
    # Python callers (the file import) hand the validator objects json.loads accepted.
    problems = validate_statement(statement)
    assert problems and problems[0].path == path, problems
    assert words in problems[0].rule


def test_extension_values_nest_a_bounded_depth():
    from masteryai_lti.xapi.validation import EXTENSION_MAX_DEPTH

    def nested(levels):
        value: object = 1
        for _ in range(levels):
            value = [value]
        return value

    assert validate_statement(_with_extension(nested(EXTENSION_MAX_DEPTH))) == []
    (problem,) = validate_statement(_with_extension(nested(EXTENSION_MAX_DEPTH + 1)))
    assert problem.path == f"result.extensions.{EXTENSION}" and "nested" in problem.rule
