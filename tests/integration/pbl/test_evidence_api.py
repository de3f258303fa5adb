"""Evidence: links, notes and files a group shows for its work."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from masteryai_lti.extensions import db
from masteryai_lti.pbl.models import Evidence, EvidenceFile
from tests.integration.pbl.world import PROBLEM, create_group, create_project


@pytest.fixture
def setup(client, world):
    project = create_project(client, world, status="open")
    ada, bea, cal, dee = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea])
    blue = create_group(client, world, project["id"], "Blue", [cal, dee])
    return project, red, blue


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _upload(client, world, project, header, content=b"%PDF-1.4 bridge", name="sketch.pdf"):
    data = {"title": "Design sketch", "file": (io.BytesIO(content), name, "application/pdf")}
    return client.post(
        world.url(f"/{project['id']}/evidence/files"),
        data=data,
        headers=header,
        content_type="multipart/form-data",
    )


def test_a_student_adds_a_link_and_a_note_to_their_group(client, world, setup):
    project, red, _ = setup
    url = world.url(f"/{project['id']}/evidence")
    link = client.post(
        url,
        json={
            "kind": "link",
            "title": "Video",
            "url": "https://video.example/bridge",
            "criterion_key": "communication",
        },
        headers=world.students[0],
    )
    assert link.status_code == 201, link.get_json()
    assert link.get_json()["group_id"] == red["id"]
    note = client.post(
        url,
        json={"kind": "note", "title": "Log", "note": "Day 1: glued."},
        headers=world.students[1],
    )
    assert note.status_code == 201
    mine = client.get(url, headers=world.students[0]).get_json()
    assert [e["title"] for e in mine] == ["Log", "Video"]
    # The other group sees none of it.
    assert client.get(url, headers=world.students[2]).get_json() == []
    assert len(client.get(url, headers=world.teacher).get_json()) == 2


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"kind": "link", "title": "x", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "link", "title": "x"}, "url"),
        ({"kind": "note", "title": "x", "note": "   "}, "note"),
        ({"kind": "note", "title": "x", "note": "ok", "criterion_key": "style"}, "criterion_key"),
        ({"kind": "file", "title": "x"}, "kind"),
        ({"kind": "link", "title": "", "url": "https://a.example"}, "title"),
    ],
)
def test_incomplete_evidence_is_refused_by_field(client, world, setup, app, body, path):
    project, _, _ = setup
    response = client.post(
        world.url(f"/{project['id']}/evidence"), json=body, headers=world.students[0]
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert path in [e["path"] for e in response.get_json()["errors"]]
    assert _count(app, Evidence) == 0


def test_a_file_is_kept_and_downloaded_as_an_attachment_by_its_group_and_teachers(
    client, world, setup
):
    project, _, _ = setup
    content = b"%PDF-1.4 " + bytes(range(256)) * 40
    uploaded = _upload(client, world, project, world.students[0], content, name="Pont d'Ada é.pdf")
    assert uploaded.status_code == 201, uploaded.get_json()
    body = uploaded.get_json()
    assert body["size_bytes"] == len(content) and body["filename"] == "Pont d'Ada é.pdf"
    file_url = world.url(f"/{project['id']}/evidence/{body['id']}/file")
    for header in (world.students[1], world.teacher):
        got = client.get(file_url, headers=header)
        assert got.status_code == 200
        assert got.data == content
        assert got.headers["Content-Disposition"].startswith("attachment")
        assert "sandbox" in got.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in got.headers["Content-Security-Policy"]
        # A group's work is not kept by a shared cache or the browser's disk.
        assert got.headers["Cache-Control"] == "no-store"
    assert client.get(file_url, headers=world.students[2]).status_code == 404
    assert client.get(file_url, headers=world.outsider).status_code == 404


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(
    client, world, setup, app, monkeypatch
):
    project, _, _ = setup
    monkeypatch.setitem(app.config, "PBL_EVIDENCE_MAX_BYTES", 1000)
    response = _upload(client, world, project, world.students[0], b"x" * 1001)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["errors"][0]["path"] == "file"
    assert _count(app, Evidence) == 0 and _count(app, EvidenceFile) == 0
    assert _upload(client, world, project, world.students[0], b"x" * 1000).status_code == 201


def test_a_form_without_file_or_title_says_which(client, world, setup):
    project, _, _ = setup
    response = client.post(
        world.url(f"/{project['id']}/evidence/files"),
        data={"title": "No file"},
        headers=world.students[0],
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["path"] == "file"
    no_title = client.post(
        world.url(f"/{project['id']}/evidence/files"),
        data={"file": (io.BytesIO(b"abc"), "a.txt")},
        headers=world.students[0],
        content_type="multipart/form-data",
    )
    assert no_title.status_code == 422
    assert no_title.get_json()["errors"][0]["path"] == "title"


def test_a_closed_project_takes_no_more_student_evidence_but_the_teacher_may_add(
    client, world, setup
):
    project, red, _ = setup
    client.patch(world.url(f"/{project['id']}"), json={"status": "closed"}, headers=world.teacher)
    url = world.url(f"/{project['id']}/evidence")
    note = {"kind": "note", "title": "Late", "note": "Forgot this"}
    assert client.post(url, json=note, headers=world.students[0]).status_code == 409
    assert client.post(url, json=note, headers=world.teacher).status_code == 422
    added = client.post(url, json={**note, "group_id": red["id"]}, headers=world.teacher)
    assert added.status_code == 201 and added.get_json()["group_id"] == red["id"]


def test_evidence_is_removed_by_its_author_or_a_teacher(client, world, setup):
    project, _, _ = setup
    url = world.url(f"/{project['id']}/evidence")
    made = client.post(
        url, json={"kind": "note", "title": "Log", "note": "Day 1"}, headers=world.students[0]
    ).get_json()
    one = world.url(f"/{project['id']}/evidence/{made['id']}")
    assert client.delete(one, headers=world.students[1]).status_code == 403
    assert client.delete(one, headers=world.students[2]).status_code == 404
    assert client.delete(one, headers=world.students[0]).status_code == 204
    again = client.post(
        url, json={"kind": "note", "title": "Log", "note": "Day 2"}, headers=world.students[0]
    ).get_json()
    assert (
        client.delete(
            world.url(f"/{project['id']}/evidence/{again['id']}"), headers=world.teacher
        ).status_code
        == 204
    )
    assert client.get(url, headers=world.teacher).get_json() == []


def test_a_student_outside_any_group_is_told_to_ask_the_teacher(client, world):
    project = create_project(client, world, status="open")
    response = client.post(
        world.url(f"/{project['id']}/evidence"),
        json={"kind": "note", "title": "x", "note": "y"},
        headers=world.students[0],
    )
    assert response.status_code == 403 and "teacher" in response.get_json()["detail"]


def test_a_file_sent_as_json_is_told_to_use_a_form(client, world, setup, app):
    project, _, _ = setup
    response = client.post(
        world.url(f"/{project['id']}/evidence/files"),
        json={"title": "x", "file": "aGVsbG8="},
        headers=world.students[0],
    )
    assert response.status_code == 415 and response.mimetype == PROBLEM
    assert "multipart/form-data" in response.get_json()["detail"]
    assert _count(app, Evidence) == 0
