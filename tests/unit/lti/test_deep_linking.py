"""Deep-linking content items and response claims (pure parts)."""

from __future__ import annotations

import jwt
from jwt.algorithms import RSAAlgorithm

from masteryai_lti.lti import quirks
from masteryai_lti.lti.deep_linking import (
    BUILT_IN,
    LTI_DL,
    Placeable,
    content_item,
    response_claims,
    sign_response,
)
from masteryai_lti.lti.keys import SigningKey, generate_key_material

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
GENERIC = quirks.for_family("generic")


def test_graded_item_carries_a_line_item():
    item = content_item(
        Placeable("p1", "adaptive_assignment", "Practice", graded=True, score_maximum=20),
        "https://tool/lti/launch",
        GENERIC,
    )

    assert item["type"] == "ltiResourceLink"
    assert item["url"] == "https://tool/lti/launch"
    assert item["lineItem"] == {
        "scoreMaximum": 20,
        "label": "Practice",
        "resourceId": "p1",
        "tag": "adaptive_assignment",
    }
    assert item["custom"] == {
        "masteryai_target": "adaptive_assignment",
        "masteryai_id": "p1",
        # The gradebook column's due date, substituted by the platform at each launch.
        "due_at": "$ResourceLink.submission.endDateTime",
    }


def test_ungraded_item_has_no_line_item():
    item = content_item(Placeable("d", "dashboard", "Dash"), "https://tool/lti/launch", GENERIC)

    assert "lineItem" not in item
    assert "due_at" not in item["custom"]


def test_built_ins_include_a_graded_adaptive_assignment_and_dashboards():
    kinds = {(p.kind, p.graded) for p in BUILT_IN}

    assert ("adaptive_assignment", True) in kinds and ("dashboard", False) in kinds


def _claims(settings):
    return response_claims(
        issuer="https://lms.example",
        client_id="client-9",
        deployment_id="dep-1",
        settings=settings,
        items=[{"type": "ltiResourceLink", "title": "x"}],
        now=1_700_000_000,
    )


def test_response_claims_address_the_platform_and_echo_data():
    claims = _claims({"deep_link_return_url": "https://lms/return", "data": {"opaque": [1, 2]}})

    assert claims["iss"] == "client-9"
    assert claims["aud"] == "https://lms.example"
    assert claims["iat"] == 1_700_000_000 and claims["exp"] == 1_700_000_600
    assert claims[LTI + "deployment_id"] == "dep-1"
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI_DL + "data"] == {"opaque": [1, 2]}
    assert claims[LTI_DL + "content_items"] == [{"type": "ltiResourceLink", "title": "x"}]


def test_absent_data_is_not_invented():
    assert LTI_DL + "data" not in _claims({"deep_link_return_url": "https://lms/return"})


def test_signed_response_verifies_with_the_published_jwk():
    kid, pem, jwk = generate_key_material("kid-1")
    claims = _claims({"deep_link_return_url": "https://lms/return"})

    token = sign_response(claims, SigningKey(kid, pem))

    assert jwt.get_unverified_header(token)["kid"] == "kid-1"
    decoded = jwt.decode(
        token,
        RSAAlgorithm.from_jwk(jwk),
        algorithms=["RS256"],
        audience="https://lms.example",
        options={"verify_exp": False},
    )
    assert decoded == claims
