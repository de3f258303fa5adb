"""A student withdraws a peer rating they gave, while the project is open.

Only the student who gave a rating withdraws it: a teacher cannot, nor can the
teammate rated. Once the project is closed the ratings behind its scores stay put.
"""

from __future__ import annotations

import pytest

from masteryai_lti.pbl import service
from masteryai_lti.pbl.service import access
from tests.concurrency import first_held_then_second
from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project

WEAK = {"communication": 1, "collaboration": 1, "problem_solving": 1}
FAIR = {"communication": 3, "collaboration": 3, "problem_solving": 3}
DESIGN = {
    "criteria": [
        {
            "key": "design",
            "name": "Design",
            "levels": [{"points": 0, "label": "No"}, {"points": 2, "label": "Yes"}],
        }
    ]
}


def _rate(client, world, project, rater_index, ratee_id, ratings=TOP):
    response = client.put(
        world.url(f"/{project['id']}/peer-ratings/{ratee_id}"),
        json={"ratings": ratings},
        headers=world.students[rater_index],
    )
    assert response.status_code == 200, response.get_json()


def _withdraw(client, world, project, ratee_id, headers):
    return client.delete(world.url(f"/{project['id']}/peer-ratings/{ratee_id}"), headers=headers)


def _all_ratings(client, world, project) -> set[tuple[int, int]]:
    body = client.get(world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher)
    return {(r["rater_id"], r["ratee_id"]) for r in body.get_json()}


@pytest.fixture
def rated(client, world):
    """Red: Ada, Bea, Cal; Ada rates Bea top and Cal weak, Bea rates Ada top."""
    project = create_project(client, world, status="open")
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    _rate(client, world, project, 0, bea)
    _rate(client, world, project, 0, cal, WEAK)
    _rate(client, world, project, 1, ada)
    return project, red


def test_a_student_withdraws_their_rating_and_it_no_longer_counts(client, world, rated):
    project, red = rated
    ada, bea, cal, _ = world.student_ids
    client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": FAIR},
        headers=world.teacher,
    )
    url = world.url(f"/{project['id']}/scores")
    before = {
        m["student_id"]: m
        for m in client.get(url, headers=world.teacher).get_json()["groups"][0]["members"]
    }
    assert before[cal]["peer_raters"] == 1 and before[cal]["contribution_factor"] < 1

    response = _withdraw(client, world, project, cal, world.students[0])
    assert response.status_code == 204 and response.get_data() == b""

    mine = client.get(world.url(f"/{project['id']}/peer-ratings"), headers=world.students[0])
    assert [r["ratee_id"] for r in mine.get_json()] == [bea]
    assert _all_ratings(client, world, project) == {(ada, bea), (bea, ada)}
    after = {
        m["student_id"]: m
        for m in client.get(url, headers=world.teacher).get_json()["groups"][0]["members"]
    }
    assert after[cal]["peer_raters"] == 0 and after[cal]["contribution_factor"] == 1.0
    # Withdrawn once, there is nothing left to withdraw.
    again = _withdraw(client, world, project, cal, world.students[0])
    assert again.status_code == 404 and again.mimetype == PROBLEM
    assert "not rated" in again.get_json()["detail"]


def test_nothing_to_withdraw_is_a_404(client, world, rated):
    project, _ = rated
    ada, bea, cal, dee = world.student_ids
    # Cal rated nobody; Bea never rated Cal; Dee is nobody's teammate.
    for index, ratee in ((2, ada), (1, cal), (0, dee), (0, 10**9)):
        response = _withdraw(client, world, project, ratee, world.students[index])
        assert response.status_code == 404 and response.mimetype == PROBLEM, ratee
    assert len(_all_ratings(client, world, project)) == 3


def test_only_the_student_who_gave_a_rating_withdraws_it(client, world, rated):
    project, _ = rated
    ada, bea, _, _ = world.student_ids
    # The teammate rated cannot (they have not rated that way round)...
    assert _withdraw(client, world, project, bea, world.students[1]).status_code == 404
    # ... nor can a teacher or an admin, who rate nobody ...
    for headers in (world.teacher, world.admin):
        response = _withdraw(client, world, project, bea, headers)
        assert response.status_code == 403 and response.mimetype == PROBLEM
    # ... nor can anyone outside the course.
    for headers in (world.other_teacher, world.outsider):
        assert _withdraw(client, world, project, bea, headers).status_code == 404
    assert (ada, bea) in _all_ratings(client, world, project)


def test_a_closed_project_s_ratings_stay(client, world, rated):
    project, _ = rated
    ada, bea, _, _ = world.student_ids
    url = world.url(f"/{project['id']}")
    client.patch(url, json={"status": "closed"}, headers=world.teacher)
    response = _withdraw(client, world, project, bea, world.students[0])
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert response.get_json()["detail"].startswith("Peer ratings are closed for this project")
    assert (ada, bea) in _all_ratings(client, world, project)
    # Reopened, the student may withdraw it again.
    client.patch(url, json={"status": "open"}, headers=world.teacher)
    assert _withdraw(client, world, project, bea, world.students[0]).status_code == 204


def test_once_every_rating_is_withdrawn_the_rubric_may_change_again(client, world, rated):
    project, _ = rated
    ada, bea, cal, _ = world.student_ids
    url = world.url(f"/{project['id']}")
    locked = client.patch(url, json={"rubric": DESIGN}, headers=world.teacher)
    assert locked.status_code == 409
    assert _withdraw(client, world, project, bea, world.students[0]).status_code == 204
    assert _withdraw(client, world, project, cal, world.students[0]).status_code == 204
    assert _withdraw(client, world, project, ada, world.students[1]).status_code == 204
    changed = client.patch(url, json={"rubric": DESIGN}, headers=world.teacher)
    assert changed.status_code == 200, changed.get_json()


def test_a_withdrawal_and_a_release_at_once_leave_the_released_scores_the_scores(
    app, client, monkeypatch, postgres_world
):
    """The withdrawal checks that the project is open, then deletes; closing the project
    and releasing its scores in between would release a score that the deletion then
    moves. The withdrawal holds the project's row, so the closing waits for it."""
    world = postgres_world
    project = create_project(client, world, status="open")
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    _rate(client, world, project, 0, bea)
    _rate(client, world, project, 0, cal, WEAK)
    _rate(client, world, project, 1, ada)
    _rate(client, world, project, 1, cal, WEAK)
    client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": FAIR},
        headers=world.teacher,
    )
    url = world.url(f"/{project['id']}")
    sent = []

    def receiver(project_id, **kwargs):
        sent.append({s.student_id: s.score for s in kwargs["scores"]})

    def close_and_release(client):
        closed = client.patch(url, json={"status": "closed"}, headers=world.teacher)
        assert closed.status_code == 200
        return client.post(f"{url}/scores/release", headers=world.teacher)

    service.project_scores_released.connect(receiver)
    try:
        withdrawn, released = first_held_then_second(
            app,
            monkeypatch,
            access,
            "group_of_student",
            lambda client: _withdraw(client, world, project, cal, world.students[0]),
            close_and_release,
        )
    finally:
        service.project_scores_released.disconnect(receiver)

    assert withdrawn.status_code == 204
    assert released.status_code == 200
    scores = client.get(f"{url}/scores", headers=world.teacher).get_json()
    now = {m["student_id"]: m["score"] for m in scores["groups"][0]["members"]}
    assert sent == [now]
    assert (ada, cal) not in _all_ratings(client, world, project)
