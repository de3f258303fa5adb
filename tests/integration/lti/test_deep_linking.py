"""Deep Linking 2.0 round trip, verified on the platform side against the tool's JWKS."""

from __future__ import annotations

import html as html_lib
import re

import requests

from tests.integration.lti.conftest import launch
from tests.lti_platform import LTI, LTI_DL

PICKER_ITEMS = ("adaptive-practice", "class-dashboard")


def _picker(client, platform):
    response = launch(client, platform, "teacher", message_type="LtiDeepLinkingRequest")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert 'data-page="deep-link-picker"' in page
    fields = dict(re.findall(r'name="(launch_id|session_token)" value="([^"]+)"', page))
    return page, fields


def _autopost(response) -> tuple[str, dict]:
    page = response.get_data(as_text=True)
    action = html_lib.unescape(re.search(r'action="([^"]+)"', page).group(1))
    fields = {
        name: html_lib.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page)
    }
    return action, fields


def test_picker_offers_the_placeable_things(client, platform):
    page, fields = _picker(client, platform)

    for key in ("adaptive-practice", "student-progress", "class-dashboard"):
        assert f'value="{key}"' in page
    assert "graded" in page
    assert set(fields) == {"launch_id", "session_token"}


def test_round_trip_is_accepted_by_the_platform(app, client, platform, live_tool):
    platform.tool_jwks_url = live_tool + "/lti/jwks"
    _, fields = _picker(client, platform)

    response = client.post("/lti/deep_linking/return", data={**fields, "item": list(PICKER_ITEMS)})
    action, form = _autopost(response)
    delivered = requests.post(action, data=form, timeout=10)

    assert action == platform.deep_link_return_url
    assert delivered.status_code == 200, delivered.text
    claims = platform.deep_link_responses[-1]
    assert claims["iss"] == platform.client_id
    assert claims["aud"] == platform.issuer
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == platform.deployment_id
    assert claims[LTI_DL + "data"].startswith("opaque-platform-data-")
    items = claims[LTI_DL + "content_items"]
    assert [i["title"] for i in items] == ["Adaptive practice", "Class dashboard"]
    graded, dashboard = items
    assert graded["type"] == "ltiResourceLink"
    assert graded["url"] == "http://localhost/lti/launch"
    assert graded["lineItem"]["scoreMaximum"] == 100
    assert graded["lineItem"]["resourceId"] == "adaptive-practice"
    assert graded["custom"] == {
        "masteryai_target": "adaptive_assignment",
        "masteryai_id": "adaptive-practice",
        "due_at": "$ResourceLink.submission.endDateTime",
    }
    assert "lineItem" not in dashboard and "due_at" not in dashboard["custom"]


def test_data_is_echoed_exactly(app, client, platform):
    _, fields = _picker(client, platform)
    import jwt

    response = client.post("/lti/deep_linking/return", data={**fields, "item": "student-progress"})
    _, form = _autopost(response)

    claims = jwt.decode(form["JWT"], options={"verify_signature": False})
    assert claims[LTI_DL + "data"].startswith("opaque-platform-data-")
    header = jwt.get_unverified_header(form["JWT"])
    assert header["alg"] == "RS256" and header["kid"]


def test_return_without_the_launch_session_is_refused(client, platform):
    _, fields = _picker(client, platform)

    response = client.post(
        "/lti/deep_linking/return",
        data={
            "launch_id": fields["launch_id"],
            "session_token": "forged",
            "item": "class-dashboard",
        },
    )

    assert response.status_code == 401


def test_session_of_another_launch_is_refused(client, platform):
    _, first = _picker(client, platform)
    _, second = _picker(client, platform)

    response = client.post(
        "/lti/deep_linking/return",
        data={
            "launch_id": first["launch_id"],
            "session_token": second["session_token"],
            "item": "class-dashboard",
        },
    )

    assert response.status_code == 403


def test_unknown_items_are_refused(client, platform):
    _, fields = _picker(client, platform)

    response = client.post("/lti/deep_linking/return", data={**fields, "item": "nope"})

    assert response.status_code == 400


def test_a_resource_link_launch_cannot_be_used_for_deep_linking(client, platform):
    page = launch(client, platform, "teacher").get_data(as_text=True)
    launch_id = re.search(r'data-launch="([^"]+)"', page).group(1)

    response = client.post(
        "/lti/deep_linking/return", data={"launch_id": launch_id, "item": "class-dashboard"}
    )

    assert response.status_code == 404


def test_registered_providers_extend_the_picker(client, platform):
    from masteryai_lti.lti import deep_linking

    def projects(course_id):
        return [deep_linking.Placeable("project-7", "project", "Bridge project", graded=True)]

    deep_linking.register_placeable_provider(projects)
    try:
        page, _ = _picker(client, platform)
    finally:
        deep_linking._providers.remove(projects)

    assert 'value="project-7"' in page and "Bridge project" in page


def _single_pick_settings(platform) -> dict:
    # Canvas's assignment picker: one item back.
    return {
        LTI_DL + "deep_linking_settings": {
            "deep_link_return_url": platform.deep_link_return_url,
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": False,
            "data": "opaque-platform-data-single",
        }
    }


def test_a_platform_taking_one_item_gets_a_single_choice_picker(client, platform):
    response = launch(
        client,
        platform,
        "teacher",
        message_type="LtiDeepLinkingRequest",
        extra_claims=_single_pick_settings(platform),
    )

    page = response.get_data(as_text=True)
    assert 'data-accepts-multiple="false"' in page
    assert 'type="radio" name="item"' in page and 'type="checkbox"' not in page
    # The usual picker takes several.
    assert 'type="checkbox" name="item"' in _picker(client, platform)[0]


def test_cancel_returns_nothing_to_the_platform(client, platform):
    import jwt

    _, fields = _picker(client, platform)

    response = client.post(
        "/lti/deep_linking/return",
        data={**fields, "item": "class-dashboard", "cancel": "1"},
    )

    _, form = _autopost(response)
    claims = jwt.decode(form["JWT"], options={"verify_signature": False})
    assert claims[LTI_DL + "content_items"] == []


def test_a_return_url_that_is_not_http_is_never_a_form_action(client, platform):
    """The picker posts to the platform's return URL; a ``javascript:`` one would run in
    the tool's origin beside the teacher's session token."""
    settings = platform.claims_for("teacher", message_type="LtiDeepLinkingRequest")[
        LTI_DL + "deep_linking_settings"
    ]
    hostile = {**settings, "deep_link_return_url": "javascript:alert(document.domain)"}
    response = launch(
        client,
        platform,
        "teacher",
        message_type="LtiDeepLinkingRequest",
        extra_claims={LTI_DL + "deep_linking_settings": hostile},
    )
    fields = dict(
        re.findall(r'name="(launch_id|session_token)" value="([^"]+)"', response.get_data(True))
    )

    answer = client.post("/lti/deep_linking/return", data={**fields, "item": "student-progress"})

    assert answer.status_code == 400
    assert "javascript:" not in answer.get_data(as_text=True)
