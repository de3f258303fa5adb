"""Request bodies above MAX_REQUEST_BYTES are refused with 413 before they are read."""

from __future__ import annotations

import base64

from tests.factories import bearer, make_course, make_user
from tests.integration.xapi.conftest import statement

LIMIT = 4096


def test_an_oversized_statement_batch_is_413_problem_and_stores_nothing(
    app, make_app, institution, credential
):
    small = make_app(MAX_CONTENT_LENGTH=LIMIT).test_client()
    token = base64.b64encode(f"{credential.key}:{credential.secret}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"}
    batch = [statement(n) for n in range(40)]  # ~10 KB of JSON

    response = small.post("/xapi/statements", json=batch, headers=headers)

    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert response.get_json()["status"] == 413
    assert _stored() == 0
    fits = small.post("/xapi/statements", json=batch[:2], headers=headers)
    assert fits.status_code == 200, fits.get_json()
    assert _stored() == 2


def _stored() -> int:
    from sqlalchemy import func, select

    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiStatement

    return db.session.scalar(select(func.count()).select_from(XapiStatement))


def test_an_oversized_attendance_import_is_413_problem(app, make_app, institution):
    small = make_app(MAX_CONTENT_LENGTH=LIMIT).test_client()
    teacher = make_user(institution, role="teacher")
    course = make_course(institution, teacher)
    body = "user_id,date,status\n" + "1,2026-01-01,present\n" * 400

    response = small.post(
        f"/api/v1/courses/{course.id}/attendance/import",
        data=body,
        content_type="text/csv",
        headers=bearer(teacher),
    )

    assert response.status_code == 413
    assert response.content_type == "application/problem+json"
    assert response.get_json()["title"] == "Request Entity Too Large"
