"""A project with a due date is graded work in the engagement index: evidence is the
group's submission, and a group with none has missing work."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.engagement.models import EngagementEvent
from masteryai_lti.extensions import db
from tests.integration.pbl.world import create_group, create_project

DUE = "2026-12-20T17:00:00+00:00"


def _graded(client, world) -> list[dict]:
    url = f"/api/v1/courses/{world.course_id}/engagement/graded-items"
    return client.get(url, headers=world.teacher).get_json()


def test_an_open_project_with_a_due_date_is_graded_work_and_a_draft_is_not(client, world):
    project = create_project(client, world, due_at=DUE)
    assert _graded(client, world) == []
    url = world.url(f"/{project['id']}")
    client.patch(url, json={"status": "open"}, headers=world.teacher)
    (item,) = _graded(client, world)
    assert item["object_id"] == f"pbl-project:{project['id']}"
    assert item["kind"] == "submission" and item["title"] == "Build a bridge"
    assert item["due_at"].startswith("2026-12-20T17:00")
    later = client.patch(url, json={"due_at": "2026-12-22T17:00:00Z"}, headers=world.teacher)
    assert later.status_code == 200
    assert _graded(client, world)[0]["due_at"].startswith("2026-12-22T17:00")
    client.patch(url, json={"due_at": None}, headers=world.teacher)
    assert _graded(client, world) == []
    client.patch(url, json={"due_at": DUE}, headers=world.teacher)
    assert client.delete(url, headers=world.teacher).status_code == 204
    assert _graded(client, world) == []


def test_evidence_is_the_whole_group_s_submission_and_others_miss_the_work(client, world, app):
    ada, bea, cal, dee = world.student_ids
    # Due two days ago: only work already due can be missing.
    due = (utcnow() - timedelta(days=2)).replace(microsecond=0)
    project = create_project(client, world, status="open", due_at=due.isoformat())
    create_group(client, world, project["id"], "Red", [ada, bea])
    create_group(client, world, project["id"], "Blue", [cal, dee])
    note = {"kind": "note", "title": "Plan", "note": "Truss, 12 members."}
    for _ in range(2):  # a second piece of evidence is not a second submission
        response = client.post(
            world.url(f"/{project['id']}/evidence"), json=note, headers=world.students[0]
        )
        assert response.status_code == 201
    with app.app_context():
        handed_in = db.session.execute(
            select(EngagementEvent.user_id, EngagementEvent.due_at).where(
                EngagementEvent.kind == "submission",
                EngagementEvent.object_id == f"pbl-project:{project['id']}",
            )
        ).all()
    assert sorted(u for u, _ in handed_in) == [ada, bea]
    assert [stored for _, stored in handed_in] == [due, due]

    def missing(student_id):
        url = f"/api/v1/courses/{world.course_id}/engagement/students/{student_id}"
        body = client.get(url, headers=world.teacher).get_json()
        return [m["object_id"] for m in body["missing_work"]]

    # Bea handed nothing in herself, but her group did; Cal's group has nothing yet.
    assert missing(bea) == []
    assert missing(cal) == [f"pbl-project:{project['id']}"]
