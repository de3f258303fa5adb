"""The 1.0.3 alternate request syntax (Communication 1.3), refused under 2.0."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from tests.integration.xapi.conftest import statement

FORM = "application/x-www-form-urlencoded"


def _alt(lrs, method: str, form: dict, version: str | None = None, query: str = ""):
    headers = {"Authorization": lrs.auth, "Content-Type": FORM}
    if version:
        headers["X-Experience-API-Version"] = version
    return lrs.client.post(
        f"/xapi/statements?method={method}{query}", data=urlencode(form), headers=headers
    )


def test_put_and_get_through_post_under_1_0_3(lrs):
    sid = str(uuid.uuid4())
    put = _alt(
        lrs,
        "PUT",
        {
            "statementId": sid,
            "content": json.dumps(statement()),
            "X-Experience-API-Version": "1.0.3",
        },
    )
    assert put.status_code == 204
    got = _alt(lrs, "GET", {"statementId": sid}, version="1.0.3")
    assert got.status_code == 200
    assert got.json["id"] == sid


def test_extra_query_parameters_or_missing_content_are_400(lrs):
    sid = str(uuid.uuid4())
    extra = _alt(
        lrs,
        "PUT",
        {"statementId": sid, "content": json.dumps(statement())},
        version="1.0.3",
        query=f"&statementId={sid}",
    )
    assert extra.status_code == 400
    missing = _alt(lrs, "PUT", {"statementId": sid}, version="1.0.3")
    assert missing.status_code == 400
    assert missing.json["errors"][0]["path"] == "content"


def test_alternate_syntax_must_be_a_post(lrs):
    response = lrs.client.put(
        "/xapi/statements?method=POST",
        data=urlencode({"content": json.dumps(statement())}),
        headers={**lrs.headers(), "Content-Type": FORM},
    )
    assert response.status_code == 400


def test_alternate_syntax_is_refused_under_2_0(lrs2):
    response = _alt(lrs2, "GET", {"limit": "1"}, version="2.0.0")
    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "method"
