"""Guessing join codes: a code is about 40 bits, which only holds while guesses are few."""

from __future__ import annotations

from tests.factories import bearer, make_course, make_institution, make_user


def test_join_code_guesses_are_throttled_per_address(app, make_app):
    limited = make_app(JOIN_RATE_LIMIT_PER_IP="3 per minute").test_client()
    with app.app_context():
        course = make_course(make_institution())
        headers = bearer(make_user(role="student"))

    answers = [
        limited.post("/api/v1/courses/join", json={"join_code": guess}, headers=headers)
        for guess in ("AAAAAAAA", "AAAAAAAB", "AAAAAAAC", course.join_code)
    ]

    assert [a.status_code for a in answers] == [422, 422, 422, 429]
    assert answers[-1].content_type == "application/problem+json"
    assert "Retry-After" in answers[-1].headers
