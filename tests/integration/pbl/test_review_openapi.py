"""The OpenAPI document says what the file routes really take and answer."""

from __future__ import annotations

FILES = "/api/v1/courses/{course_id}/projects/{project_id}/evidence/files"
FILE = "/api/v1/courses/{course_id}/projects/{project_id}/evidence/{evidence_id}/file"


def test_the_upload_documents_its_required_form_and_each_refusal(client):
    operation = client.get("/api/openapi.json").get_json()["paths"][FILES]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == ["multipart/form-data"]
    # 403 not in a group, 409 project closed, 413 past the request limit, 415 not a form.
    assert {"403", "409", "413", "415", "422"} <= set(operation["responses"])
    for status in ("403", "409", "413", "415"):
        response = operation["responses"][status]
        if "$ref" not in response:
            assert list(response["content"]) == ["application/problem+json"]


def test_the_download_documents_a_file_body(client):
    operation = client.get("/api/openapi.json").get_json()["paths"][FILE]["get"]
    assert operation["responses"]["200"]["description"]
    content = operation["responses"]["200"]["content"]
    assert content == {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }
    assert "404" in operation["responses"]
