"""The file-evidence form (multipart) with odd parts: each is a problem+json answer or
stored sensibly, never a 500."""

from __future__ import annotations

import io

import pytest

from tests.integration.pbl.world import PROBLEM, create_group, create_project


@pytest.fixture
def setup(client, world):
    project = create_project(client, world, status="open")
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    return project, red


def _post(client, world, project, header, **fields):
    return client.post(
        world.url(f"/{project['id']}/evidence/files"),
        data={"title": "Sketch", **fields},
        headers=header,
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "declared", ["text/pl\x00ain", "no slash", "a/b/c", "text/<b>", "x" * 300 + "/y"]
)
def test_a_file_part_s_unusable_content_type_is_stored_as_octet_stream(
    client, world, setup, declared
):
    project, _ = setup
    response = _post(
        client, world, project, world.students[0], file=(io.BytesIO(b"abc"), "a.txt", declared)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["content_type"] == "application/octet-stream"
    download = client.get(
        world.url(f"/{project['id']}/evidence/{response.get_json()['id']}/file"),
        headers=world.students[0],
    )
    assert download.status_code == 200 and download.data == b"abc"
    assert download.mimetype == "application/octet-stream"


def test_a_file_part_s_ordinary_content_type_is_kept(client, world, setup):
    project, _ = setup
    response = _post(
        client,
        world,
        project,
        world.students[0],
        file=(io.BytesIO(b"%PDF-1.4"), "a.pdf", "application/vnd.ms-excel.sheet.macroEnabled.12"),
    )
    assert response.status_code == 201
    assert response.get_json()["content_type"] == "application/vnd.ms-excel.sheet.macroenabled.12"


@pytest.mark.parametrize("group_id", [str(10**30), str(-(10**30)), str(2**63)])
def test_a_group_id_beyond_64_bits_is_refused_at_its_field(client, world, setup, group_id):
    project, _ = setup
    response = _post(
        client,
        world,
        project,
        world.teacher,
        group_id=group_id,
        file=(io.BytesIO(b"abc"), "a.txt", "text/plain"),
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["errors"] == [
        {
            "path": "group_id",
            "location": "form",
            "message": "Number out of range (64-bit integers).",
        }
    ]


def test_the_service_s_problems_with_a_form_name_the_form_as_their_location(client, world, setup):
    project, _ = setup
    upload = {"file": (io.BytesIO(b"abc"), "a.txt", "text/plain")}
    no_group = _post(client, world, project, world.teacher, **upload)
    assert no_group.status_code == 422
    assert no_group.get_json()["errors"] == [
        {"path": "group_id", "location": "form", "message": "Required for a teacher."}
    ]
    upload = {"file": (io.BytesIO(b"abc"), "a.txt", "text/plain")}
    unknown = _post(client, world, project, world.students[0], criterion_key="nope", **upload)
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == [
        {
            "path": "criterion_key",
            "location": "form",
            "message": "Not a criterion of this project's rubric.",
        }
    ]
    # The JSON route's problems stay in the body.
    note = client.post(
        world.url(f"/{project['id']}/evidence"),
        json={"kind": "note", "title": "Plan", "note": "Truss.", "criterion_key": "nope"},
        headers=world.students[0],
    )
    assert note.get_json()["errors"][0]["location"] == "json"


def test_a_file_sent_as_a_text_field_is_told_to_attach_it(client, world, setup):
    project, _ = setup
    response = _post(client, world, project, world.students[0], file="sketch.pdf")
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["errors"] == [
        {"path": "file", "location": "form", "message": "Attach the file."}
    ]
