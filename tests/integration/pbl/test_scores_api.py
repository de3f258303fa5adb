"""Group and individual scores: peer-moderated, explained, released to students and LMS."""

from __future__ import annotations

import pytest

from masteryai_lti.pbl import service
from tests.integration.pbl.world import PROBLEM, create_group, create_project

GOOD = {"communication": 4, "collaboration": 4, "problem_solving": 4}
WEAK = {"communication": 1, "collaboration": 1, "problem_solving": 1}
FAIR = {"communication": 3, "collaboration": 3, "problem_solving": 3}


def _rate(client, world, project, rater_index, ratee_id, ratings):
    response = client.put(
        world.url(f"/{project['id']}/peer-ratings/{ratee_id}"),
        json={"ratings": ratings},
        headers=world.students[rater_index],
    )
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def rated(client, world):
    """Red: Ada, Bea, Cal; Ada and Bea rate Cal weak, each other good; Cal rates nobody.
    Dee is in no group. The teacher evaluates Red's work at 75."""
    project = create_project(client, world, status="open", non_submission_penalty=0.1)
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    _rate(client, world, project, 0, bea, GOOD)
    _rate(client, world, project, 0, cal, WEAK)
    _rate(client, world, project, 1, ada, GOOD)
    _rate(client, world, project, 1, cal, WEAK)
    response = client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": FAIR, "comment": "Good bridge; label your diagrams."},
        headers=world.teacher,
    )
    assert response.get_json()["score"] == 75.0
    return project


def test_the_teacher_sees_every_member_moderated_by_peers_with_explanations(client, world, rated):
    ada, bea, cal, dee = world.student_ids
    scores = client.get(world.url(f"/{rated['id']}/scores"), headers=world.teacher).get_json()
    assert scores["released"] is False
    assert scores["ungrouped_student_ids"] == [dee]
    (red,) = scores["groups"]
    by_id = {m["student_id"]: m for m in red["members"]}
    assert by_id[cal]["name"] == "Cal"
    # Rated weak by both teammates, Cal's factor is below an equal share; the others above.
    assert by_id[cal]["contribution_factor"] < 1 < by_id[ada]["contribution_factor"]
    assert by_id[ada]["contribution_factor"] == pytest.approx(by_id[bea]["contribution_factor"])
    for member in red["members"]:
        moderated = 75.0 * (0.5 + 0.5 * member["contribution_factor"])
        assert member["moderated_score"] == pytest.approx(moderated, abs=0.01)
        assert member["explanation"]
    # Cal rated nobody: 10% off, and the explanation says why.
    assert by_id[cal]["rated_peers"] is False
    assert by_id[cal]["penalty"] == pytest.approx(0.1 * by_id[cal]["moderated_score"], abs=0.01)
    assert by_id[cal]["score"] < by_id[cal]["moderated_score"]
    assert by_id[ada]["penalty"] == 0 and by_id[ada]["score"] == by_id[ada]["moderated_score"]
    assert by_id[ada]["score"] > 75.0 > by_id[cal]["score"]


def test_students_see_their_own_score_only_and_only_once_released(client, world, rated):
    url = world.url(f"/{rated['id']}/scores")
    before = client.get(url, headers=world.students[0]).get_json()
    assert before == {
        "project_id": rated["id"],
        "released": False,
        "groups": [],
        "ungrouped_student_ids": [],
    }

    early = client.post(url + "/release", headers=world.teacher)
    assert early.status_code == 409 and early.mimetype == PROBLEM
    client.patch(world.url(f"/{rated['id']}"), json={"status": "closed"}, headers=world.teacher)
    assert client.post(url + "/release", headers=world.students[0]).status_code == 403

    sent = []

    def receiver(project_id, **kwargs):
        sent.append((project_id, kwargs["course_id"], kwargs["scores"]))

    service.project_scores_released.connect(receiver)
    try:
        released = client.post(url + "/release", headers=world.teacher)
    finally:
        service.project_scores_released.disconnect(receiver)
    assert released.status_code == 200
    body = released.get_json()
    assert sorted(r["student_id"] for r in body) == sorted(world.student_ids[:3])
    assert len(sent) == 1 and sent[0][0] == rated["id"] and sent[0][1] == world.course_id
    assert {s.student_id: s.score for s in sent[0][2]} == {
        r["student_id"]: r["score"] for r in body
    }

    ada_view = client.get(url, headers=world.students[0]).get_json()
    assert ada_view["released"] is True
    (red,) = ada_view["groups"]
    assert [m["student_id"] for m in red["members"]] == [world.student_ids[0]]
    assert red["group_score"]["score"] == 75.0
    assert red["feedback"] == ["Good bridge; label your diagrams."]
    # Dee, in no group, has nothing to see.
    assert client.get(url, headers=world.students[3]).get_json()["groups"] == []


def test_a_group_not_yet_evaluated_has_no_scores_and_is_not_released(client, world):
    project = create_project(client, world, status="open")
    create_group(client, world, project["id"], "Blue", world.student_ids[2:])
    scores = client.get(world.url(f"/{project['id']}/scores"), headers=world.teacher).get_json()
    members = scores["groups"][0]["members"]
    assert [m["score"] for m in members] == [None, None]
    assert all("teacher" in m["explanation"] for m in members)
    client.patch(world.url(f"/{project['id']}"), json={"status": "closed"}, headers=world.teacher)
    released = client.post(world.url(f"/{project['id']}/scores/release"), headers=world.teacher)
    assert released.status_code == 200 and released.get_json() == []
