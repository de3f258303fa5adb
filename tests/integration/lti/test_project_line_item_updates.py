"""A placed project's gradebook column follows the project: a changed title or due date
is PUT to the line item of every graded placement, through the outbox's retries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.lti import outbox, project_placements
from masteryai_lti.lti.outbox_models import LineItemUpdate
from tests.concurrency import first_held_then_second
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import auth_for, launched_course, lti_user
from tests.lti_platform import LTI, LTI_AGS
from tests.lti_platform_services import SCOPE_SCORE

DUE = datetime(2026, 12, 20, 17, 0, tzinfo=UTC)
LATER = datetime(2027, 1, 10, 9, 30, tzinfo=UTC)
LAST = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


def _course(app, client, platform) -> tuple[int, dict]:
    course_id, _ = launched_course(app, client, platform, "teacher", "student")
    return course_id, auth_for(app, lti_user(app, platform, "teacher"))


def _project(client, course_id: int, teacher: dict, **fields) -> dict:
    body = {"title": "Bridge", "status": "open", "due_at": DUE.isoformat(), **fields}
    response = client.post(f"/api/v1/courses/{course_id}/projects", json=body, headers=teacher)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _place(platform, client, project_id: int, *, link_id: str, lineitem: int | None, scopes=None):
    """A teacher's launch of the link a deep-linked project became; the platform made
    line item ``lineitem`` for it from the content item's ``lineItem`` (None: ungraded)."""
    claims = {
        LTI + "custom": {"masteryai_target": "project", "masteryai_id": str(project_id)},
        LTI + "resource_link": {"id": link_id, "title": "Bridge"},
    }
    drop: tuple = ()
    if lineitem is None:
        drop = (LTI_AGS + "endpoint",)
    else:
        platform.line_items[lineitem] = {
            "label": "Bridge",
            "scoreMaximum": 100.0,
            "resourceLinkId": link_id,
            "resourceId": f"project-{project_id}",
            "tag": "project",
            "endDateTime": DUE.isoformat(),
        }
        endpoint = platform.ags_claim(with_lineitem=False, scopes=scopes)
        endpoint["lineitem"] = platform.lineitem_url(lineitem)
        claims[LTI_AGS + "endpoint"] = endpoint
    response = launch(client, platform, "teacher", extra_claims=claims, drop_claims=drop)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def _change(client, course_id: int, project_id: int, teacher: dict, **changes):
    response = client.patch(
        f"/api/v1/courses/{course_id}/projects/{project_id}", json=changes, headers=teacher
    )
    assert response.status_code == 200, response.get_json()
    return response


def _end(item: dict) -> datetime | None:
    return datetime.fromisoformat(item["endDateTime"]) if "endDateTime" in item else None


def _updates(app) -> list[LineItemUpdate]:
    with app.app_context():
        rows = db.session.scalars(select(LineItemUpdate).order_by(LineItemUpdate.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


@pytest.fixture
def placed(app, client, services_platform):
    """A course with the open project "Bridge" due DUE, placed once (line item 2)."""
    platform = services_platform
    course_id, teacher = _course(app, client, platform)
    project = _project(client, course_id, teacher)
    _place(platform, client, project["id"], link_id="rl-bridge", lineitem=2)
    return platform, course_id, project["id"], teacher


def test_a_changed_due_date_and_title_reach_the_line_item_and_nothing_else_changes(client, placed):
    platform, course_id, project_id, teacher = placed
    before = dict(platform.line_items[2])
    practice = dict(platform.line_items[1])

    _change(client, course_id, project_id, teacher, due_at=LATER.isoformat(), title="Canal")

    item = platform.line_items[2]
    assert _end(item) == LATER and item["label"] == "Canal"
    # What the platform owns stays as it was: points, link, resource, tag.
    for field in ("scoreMaximum", "resourceLinkId", "resourceId", "tag"):
        assert item[field] == before[field], field
    assert platform.line_items[1] == practice, "the course's other column is not the project's"
    [put] = platform.line_item_puts
    assert put["lineitem"] == 2
    [request] = [r for r in platform.service_requests if r["method"] == "PUT"]
    assert request["headers"]["Content-Type"] == "application/vnd.ims.lis.v2.lineitem+json"


def test_a_removed_due_date_leaves_the_column_without_an_end(client, placed):
    platform, course_id, project_id, teacher = placed

    _change(client, course_id, project_id, teacher, due_at=None)

    assert "endDateTime" not in platform.line_items[2]
    assert platform.line_items[2]["label"] == "Bridge"


def test_a_title_change_leaves_the_date_the_platform_has(client, placed):
    platform, course_id, project_id, teacher = placed
    # The teacher moved the column's date in the LMS itself.
    platform.line_items[2]["endDateTime"] = LAST.isoformat()

    _change(client, course_id, project_id, teacher, title="Canal")

    assert platform.line_items[2]["label"] == "Canal"
    assert _end(platform.line_items[2]) == LAST


def test_other_changes_send_nothing(client, placed):
    platform, course_id, project_id, teacher = placed

    _change(client, course_id, project_id, teacher, description="Now with a river.")
    _change(client, course_id, project_id, teacher, due_at=DUE.isoformat(), title="Bridge")

    assert platform.line_item_puts == []


def test_while_the_lms_is_down_the_change_waits_and_is_delivered_later(app, client, placed):
    platform, course_id, project_id, teacher = placed
    platform.down = True

    response = _change(client, course_id, project_id, teacher, due_at=LATER.isoformat())

    assert response.get_json()["title"] == "Bridge", "the teacher's change is saved"
    assert platform.line_item_puts == []
    [row] = _updates(app)
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 503)
    assert row.next_attempt_at > datetime.now(UTC)

    platform.down = False
    with app.app_context():
        # Not due yet: a drain before the retry time leaves it waiting.
        outbox.drain_outbox(now=datetime.now(UTC))
    assert platform.line_item_puts == []
    with app.app_context():
        # The cron command's drain delivers it once the retry is due.
        outbox.drain_outbox(now=datetime.now(UTC) + timedelta(hours=1))

    assert _end(platform.line_items[2]) == LATER
    [row] = _updates(app)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_of_two_edits_while_the_lms_is_down_only_the_last_is_sent(app, client, placed):
    platform, course_id, project_id, teacher = placed
    platform.down = True

    _change(client, course_id, project_id, teacher, due_at=LATER.isoformat())
    _change(client, course_id, project_id, teacher, due_at=LAST.isoformat(), title="Canal")
    platform.down = False
    with app.app_context():
        report = outbox.drain_line_item_updates(now=datetime.now(UTC) + timedelta(hours=1))

    assert report == {"sent": 1, "retrying": 0, "failed": 0}
    [put] = platform.line_item_puts
    assert _end(put) == LAST and put["label"] == "Canal"


def test_a_change_made_while_the_previous_one_is_sent_follows_it(app, client, placed):
    """The teacher edits again while the LMS is taking the first change: the newer
    values go right after it, never the older ones after the newer."""
    platform, course_id, project_id, teacher = placed
    put_line_item = platform.app.view_functions["update_lineitem"]
    edited = []

    def edit_while_the_first_put_arrives(*args, **kwargs):
        if not edited:
            edited.append(True)
            _change(app.test_client(), course_id, project_id, teacher, due_at=LAST.isoformat())
        return put_line_item(*args, **kwargs)

    platform.app.view_functions["update_lineitem"] = edit_while_the_first_put_arrives

    _change(client, course_id, project_id, teacher, due_at=LATER.isoformat())

    assert [_end(put) for put in platform.line_item_puts] == [LATER, LAST]
    assert _end(platform.line_items[2]) == LAST
    [row] = _updates(app)
    assert (row.status, row.revision) == ("sent", 2)


def test_two_edits_at_once_end_with_the_later_one_in_the_lms(app, client, monkeypatch, placed):
    """The first edit's listener is held after reading the project; the second edit
    commits and runs its listener meanwhile. The line item must end with the second."""
    platform, course_id, project_id, teacher = placed
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    url = f"/api/v1/courses/{course_id}/projects/{project_id}"

    first, second = first_held_then_second(
        app,
        monkeypatch,
        project_placements,
        "_line_item_changes",
        lambda c: c.patch(url, json={"due_at": LATER.isoformat()}, headers=teacher),
        lambda c: c.patch(url, json={"due_at": LAST.isoformat()}, headers=teacher),
    )

    assert first.status_code == second.status_code == 200
    assert _end(platform.line_items[2]) == LAST
    assert _end(platform.line_item_puts[-1]) == LAST


def test_every_graded_placement_is_updated_and_an_ungraded_one_is_left_alone(app, client, placed):
    platform, course_id, project_id, teacher = placed
    _place(platform, client, project_id, link_id="rl-bridge-2", lineitem=3)
    _place(platform, client, project_id, link_id="rl-bridge-3", lineitem=None)
    requests_before = len(platform.service_requests)

    _change(client, course_id, project_id, teacher, due_at=LATER.isoformat())

    assert sorted(put["lineitem"] for put in platform.line_item_puts) == [2, 3]
    assert len(_updates(app)) == 2, "the ungraded placement queues nothing"
    # Token, GET and PUT for each graded column; nothing for the ungraded one.
    methods = [r["method"] for r in platform.service_requests[requests_before:]]
    assert methods.count("PUT") == 2 and methods.count("GET") == 2


def test_a_platform_without_the_lineitem_scope_is_skipped_not_an_error(
    app, client, services_platform, caplog
):
    platform = services_platform
    course_id, teacher = _course(app, client, platform)
    project = _project(client, course_id, teacher)
    _place(platform, client, project["id"], link_id="rl-bridge", lineitem=2, scopes=(SCOPE_SCORE,))

    with caplog.at_level(logging.INFO, logger=outbox.__name__):
        _change(client, course_id, project["id"], teacher, due_at=LATER.isoformat())

    assert platform.line_item_puts == [] and _end(platform.line_items[2]) == DUE
    assert _updates(app) == []
    assert any("did not grant the lineitem scope" in r.getMessage() for r in caplog.records)


def test_a_deleted_line_item_fails_the_update_without_retrying(app, client, placed):
    platform, course_id, project_id, teacher = placed
    del platform.line_items[2]

    _change(client, course_id, project_id, teacher, title="Canal")

    [row] = _updates(app)
    assert row.status == "failed" and row.last_status_code == 404
    # A later change tries again (the teacher may have restored the column).
    platform.line_items[2] = {"label": "Bridge", "scoreMaximum": 100.0}
    _change(client, course_id, project_id, teacher, due_at=LATER.isoformat())
    item = platform.line_items[2]
    assert item["label"] == "Canal" and _end(item) == LATER
    assert [r.status for r in _updates(app)] == ["sent"]


def test_the_put_keeps_the_platform_fields_and_changes_only_the_owned_ones():
    from masteryai_lti.lti import grading

    current = {
        "id": "https://lms/li/2",
        "label": "Bridge",
        "scoreMaximum": 100,
        "resourceLinkId": "rl",
        "tag": "project",
        "endDateTime": DUE.isoformat(),
        "https://lms.example/extension": {"kept": True},
    }

    changed = grading.updated_line_item(current, {"endDateTime": None, "label": " Canal "})

    assert changed == {
        **{k: v for k, v in current.items() if k != "endDateTime"},
        "label": "Canal",
    }
    assert current["endDateTime"] == DUE.isoformat(), "the platform's copy is not changed"
    with pytest.raises(grading.ScoreRejected):
        grading.updated_line_item(current, {"label": "  "})
    with pytest.raises(ValueError):
        grading.updated_line_item(current, {"scoreMaximum": 50})
