"""Projects: a teacher creates and edits them with a rubric; students see them once open."""

from __future__ import annotations

import pytest

from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project


def test_a_new_project_gets_the_default_rubric_and_stays_hidden_while_a_draft(client, world):
    project = create_project(client, world, description="Span 1 m with paper.")
    keys = [c["key"] for c in project["rubric"]["criteria"]]
    assert keys == ["communication", "collaboration", "problem_solving"]
    assert project["status"] == "draft" and project["peer_weight"] == 0.5
    student = world.students[0]
    assert client.get(world.url(), headers=student).get_json() == []
    assert client.get(world.url(f"/{project['id']}"), headers=student).status_code == 404

    opened = client.patch(
        world.url(f"/{project['id']}"), json={"status": "open"}, headers=world.teacher
    )
    assert opened.status_code == 200 and opened.get_json()["status"] == "open"
    listed = client.get(world.url(), headers=student).get_json()
    assert [p["id"] for p in listed] == [project["id"]]


def test_an_invalid_rubric_is_refused_with_every_problem_and_nothing_is_stored(client, world):
    rubric = {
        "criteria": [
            {"key": "Bad Key", "name": "x", "levels": [{"points": 1, "label": "one"}]},
            {
                "key": "ok",
                "name": "Fine",
                "weight": -1,
                "levels": [{"points": 0, "label": "a"}, {"points": 0, "label": "b"}],
            },
        ]
    }
    response = client.post(
        world.url(), json={"title": "P", "rubric": rubric}, headers=world.teacher
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    paths = {e["path"] for e in response.get_json()["errors"]}
    assert "rubric.criteria[0].key" in paths
    assert "rubric.criteria[0].levels" in paths
    assert "rubric.criteria[1].weight" in paths
    assert any(p.startswith("rubric.criteria[1].levels") for p in paths)
    assert client.get(world.url(), headers=world.teacher).get_json() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("peer_weight", 1.5), ("peer_weight", -0.1), ("non_submission_penalty", 2.0)],
)
def test_moderation_settings_out_of_range_are_refused_by_field(client, world, field, value):
    response = client.post(world.url(), json={"title": "P", field: value}, headers=world.teacher)
    assert response.status_code == 422
    assert [e["path"] for e in response.get_json()["errors"]] == [field]


def test_a_blank_title_or_unknown_status_is_refused(client, world):
    blank = client.post(world.url(), json={"title": "   "}, headers=world.teacher)
    assert blank.status_code == 422 and blank.get_json()["errors"][0]["path"] == "title"
    status = client.post(world.url(), json={"title": "P", "status": "done"}, headers=world.teacher)
    assert status.status_code == 422 and status.get_json()["errors"][0]["path"] == "status"


def test_who_may_create_projects(client, world):
    body = {"title": "P"}
    assert client.post(world.url(), json=body, headers=world.students[0]).status_code == 403
    assert client.post(world.url(), json=body, headers=world.other_teacher).status_code == 404
    assert client.post(world.url(), json=body, headers=world.outsider).status_code == 404
    assert client.post(world.url(), json=body, headers=world.co_teacher).status_code == 201
    assert client.post(world.url(), json=body, headers=world.admin).status_code == 201
    assert client.post(world.url(), json=body).status_code == 401


def test_the_rubric_changes_freely_until_someone_evaluates_against_it(client, world):
    project = create_project(client, world)
    url = world.url(f"/{project['id']}")
    two_levels = {
        "criteria": [
            {
                "key": "design",
                "name": "Design",
                "levels": [{"points": 0, "label": "No"}, {"points": 2, "label": "Yes"}],
            }
        ]
    }
    changed = client.patch(url, json={"rubric": two_levels}, headers=world.teacher)
    assert changed.status_code == 200
    assert [c["key"] for c in changed.get_json()["rubric"]["criteria"]] == ["design"]

    group = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    evaluated = client.put(
        world.url(f"/{project['id']}/groups/{group['id']}/evaluation"),
        json={"ratings": {"design": 2}},
        headers=world.teacher,
    )
    assert evaluated.status_code == 200, evaluated.get_json()
    refused = client.patch(url, json={"rubric": {"criteria": []}}, headers=world.teacher)
    # An invalid rubric is still a 422 first; a valid new one is the conflict.
    assert refused.status_code == 422
    back = client.patch(url, json={"rubric": None}, headers=world.teacher)
    assert back.status_code == 409 and back.mimetype == PROBLEM
    assert back.get_json()["errors"][0]["path"] == "rubric"
    # The same rubric again is no change.
    same = client.patch(url, json={"rubric": two_levels, "title": "Bridge"}, headers=world.teacher)
    assert same.status_code == 200 and same.get_json()["title"] == "Bridge"


def test_deleting_a_project_deletes_its_groups_and_evaluations(client, world, app):
    from sqlalchemy import func, select

    from masteryai_lti.extensions import db
    from masteryai_lti.pbl.models import GroupEvaluation, GroupMember, ProjectGroup

    project = create_project(client, world)
    group = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    client.put(
        world.url(f"/{project['id']}/groups/{group['id']}/evaluation"),
        json={"ratings": TOP},
        headers=world.teacher,
    )
    assert (
        client.delete(world.url(f"/{project['id']}"), headers=world.students[0]).status_code == 403
    )
    assert client.delete(world.url(f"/{project['id']}"), headers=world.teacher).status_code == 204
    assert client.get(world.url(f"/{project['id']}"), headers=world.teacher).status_code == 404
    with app.app_context():
        for model in (ProjectGroup, GroupMember, GroupEvaluation):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0
