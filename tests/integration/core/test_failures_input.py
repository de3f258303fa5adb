"""Input no handler expects: refused with a problem, never a 500."""

from __future__ import annotations

from tests.factories import bearer, make_institution, make_user

# Deeper than Python's parser can follow: it raises RecursionError, not ValueError.
TOO_DEEP = "[" * 200_000 + "]" * 200_000


def test_json_nested_beyond_the_parser_is_400_malformed_json(client, app_context):
    school = make_institution()
    teacher = make_user(school, role="teacher")
    answers = [
        client.post("/api/v1/auth/login", data=TOO_DEEP, content_type="application/json"),
        client.post(
            "/api/v1/courses",
            data=TOO_DEEP,
            content_type="application/json",
            headers=bearer(teacher),
        ),
    ]
    for answer in answers:
        assert answer.status_code == 400, answer.get_data(as_text=True)
        assert answer.mimetype == "application/problem+json"
        assert answer.json["title"] == "Malformed JSON"
        assert "nested too deeply" in answer.json["detail"]
        assert answer.json["errors"][0]["path"] == "$"


def test_json_nested_beyond_the_parser_is_refused_outside_the_api_too(app):
    from masteryai_lti.core.api_input import ApiRequest

    with app.test_request_context(
        "/lti/anything", method="POST", data=TOO_DEEP, content_type="application/json"
    ) as context:
        request = context.request
        assert isinstance(request, ApiRequest)
        assert request.get_json(silent=True) is None
        try:
            request.get_json()
        except Exception as exc:  # werkzeug's BadRequest: a 400, not a RecursionError
            assert getattr(exc, "code", None) == 400, exc
        else:
            raise AssertionError("deep JSON was accepted")
