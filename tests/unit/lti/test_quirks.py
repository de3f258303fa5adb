"""Canvas and Moodle differences live in lti/quirks and are picked by family."""

from __future__ import annotations

from masteryai_lti.lti import quirks

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


def test_canvas_is_detected_from_its_shared_issuer():
    assert quirks.detect_family("https://canvas.instructure.com") == "canvas"
    assert quirks.detect_family("https://school.instructure.com") == "canvas"


def test_moodle_is_detected_from_its_openid_configuration():
    metadata = {
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "moodle"
        }
    }

    assert quirks.detect_family("https://moodle.school.example", metadata) == "moodle"
    assert quirks.detect_family("https://moodle.school.example") == "generic"


def test_unknown_family_behaves_like_the_specification():
    assert type(quirks.for_family("blackboard")) is quirks.PlatformQuirks


def test_display_name_falls_back_to_given_and_family_names():
    generic = quirks.for_family("generic")

    assert generic.display_name({"given_name": "Ada", "family_name": "Lovelace"}) == "Ada Lovelace"
    assert generic.display_name({"sub": "abc"}) == "LMS user abc"


def test_moodle_names_a_nameless_user_after_moodle():
    assert quirks.for_family("moodle").display_name({"sub": "42"}) == "Moodle user 42"


def test_moodle_graded_items_get_a_label():
    item = {"title": "Practice", "lineItem": {"scoreMaximum": 10}}

    adjusted = quirks.for_family("moodle").adjust_content_item(item)

    assert adjusted["lineItem"]["label"] == "Practice"
    assert "label" not in item["lineItem"]  # the input is left alone


def test_canvas_storage_frame_and_iframe_size():
    canvas = quirks.for_family("canvas")

    assert canvas.storage_frame("") == "post_message_forwarding"
    assert canvas.storage_frame("post_message_forwarding") == "post_message_forwarding"
    assert canvas.adjust_content_item({"title": "x"})["iframe"]["height"] > 0


def test_storage_origin_is_the_oidc_endpoint_origin():
    generic = quirks.for_family("generic")

    assert (
        generic.storage_origin("https://sso.canvaslms.com/api/lti/authorize_redirect?x=1")
        == "https://sso.canvaslms.com"
    )


def test_context_title_prefers_title_then_label():
    generic = quirks.for_family("generic")

    assert generic.context_title({LTI + "context": {"id": "c", "label": "ALG"}}) == "ALG"
    assert generic.context_code({LTI + "context": {"id": "c", "label": "ALG"}}) == "ALG"
    assert generic.context_title({}) == ""
