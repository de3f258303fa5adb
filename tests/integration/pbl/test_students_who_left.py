"""A student whose enrolment ended stays in their group, marked as having left the course.

The teacher still sees them in the group (the work's history is not lost), but while
they are away they are left out of peer moderation, as rater and as ratee, get no score,
nothing is released for them, they are not listed as "in no group" and cannot be placed
in a group. Nothing is deleted: back in the course, they count again with the ratings
they gave and received.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from masteryai_lti.courses.models import Enrollment
from masteryai_lti.extensions import db
from masteryai_lti.pbl import service
from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project

WEAK = {"communication": 1, "collaboration": 1, "problem_solving": 1}
FAIR = {"communication": 3, "collaboration": 3, "problem_solving": 3}


def _rate(client, world, project, rater_index, ratee_id, ratings):
    response = client.put(
        world.url(f"/{project['id']}/peer-ratings/{ratee_id}"),
        json={"ratings": ratings},
        headers=world.students[rater_index],
    )
    assert response.status_code == 200, response.get_json()


def _leave(client, world, user_id):
    response = client.delete(
        f"/api/v1/courses/{world.course_id}/members/{user_id}", headers=world.teacher
    )
    assert response.status_code == 204


def _come_back(client, world, user_id):
    response = client.post(
        f"/api/v1/courses/{world.course_id}/members",
        json={"role": "student", "user_id": user_id},
        headers=world.teacher,
    )
    assert response.status_code == 201, response.get_json()


def _scores(client, world, project) -> dict:
    response = client.get(world.url(f"/{project['id']}/scores"), headers=world.teacher)
    assert response.status_code == 200
    return response.get_json()


def _by_id(scores: dict) -> dict[int, dict]:
    return {m["student_id"]: m for g in scores["groups"] for m in g["members"]}


@pytest.fixture
def red(client, world):
    """Red: Ada, Bea, Cal, all of whom rated. Ada and Bea rate each other alike (and Cal
    weak); Cal rates Ada weak and Bea top, which moves Ada's and Bea's factors apart.
    The teacher evaluates Red's work at 75. Dee is in no group."""
    project = create_project(client, world, status="open", non_submission_penalty=0.1)
    ada, bea, cal, _ = world.student_ids
    group = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    _rate(client, world, project, 0, bea, TOP)
    _rate(client, world, project, 0, cal, WEAK)
    _rate(client, world, project, 1, ada, TOP)
    _rate(client, world, project, 1, cal, WEAK)
    _rate(client, world, project, 2, ada, WEAK)
    _rate(client, world, project, 2, bea, TOP)
    response = client.put(
        world.url(f"/{project['id']}/groups/{group['id']}/evaluation"),
        json={"ratings": FAIR},
        headers=world.teacher,
    )
    assert response.get_json()["score"] == 75.0
    return project, group


def _end_enrolment(app, client, world, user_id, how):
    if how == "unenrolled":
        _leave(client, world, user_id)
    else:  # the enrolment row is gone altogether
        with app.app_context():
            db.session.execute(
                delete(Enrollment).where(
                    Enrollment.course_id == world.course_id, Enrollment.user_id == user_id
                )
            )
            db.session.commit()


@pytest.mark.parametrize("how", ["unenrolled", "no enrolment at all"])
def test_who_left_is_out_of_moderation_and_unscored_but_still_in_the_group(
    app, client, world, red, how
):
    project, group = red
    ada, bea, cal, _ = world.student_ids
    before = _by_id(_scores(client, world, project))
    # Cal's ratings pull Ada and Bea apart while Cal is in the course.
    assert before[ada]["score"] != before[bea]["score"]
    assert before[cal]["score"] is not None

    _end_enrolment(app, client, world, cal, how)

    scores = _scores(client, world, project)
    (result,) = scores["groups"]
    assert [m["student_id"] for m in result["members"]] == [ada, bea]
    assert result["left_course"] == [{"student_id": cal, "name": "Cal"}]
    by_id = _by_id(scores)
    # Ada and Bea rated each other alike: without Cal's ratings each has an equal share,
    # one rater each, and Cal's weak rating of both no longer counts either.
    for member in (ada, bea):
        assert by_id[member]["contribution_factor"] == pytest.approx(1.0)
        assert by_id[member]["peer_raters"] == 1
        assert by_id[member]["score"] == 75.0
        assert "Your teammate's rating" in by_id[member]["explanation"]
    # The group still lists Cal, marked, for the teacher.
    groups = client.get(world.url(f"/{project['id']}/groups"), headers=world.teacher).get_json()
    assert groups[0]["members"] == [
        {"user_id": ada, "name": "Ada", "left_course": False},
        {"user_id": bea, "name": "Bea", "left_course": False},
        {"user_id": cal, "name": "Cal", "left_course": True},
    ]
    # Nothing was deleted: the teacher still reads every rating Cal gave and received.
    ratings = client.get(
        world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher
    ).get_json()
    assert len(ratings) == 6


def test_no_score_is_released_for_who_left(client, world, red):
    project, _ = red
    ada, bea, cal, _ = world.student_ids
    _leave(client, world, cal)
    client.patch(world.url(f"/{project['id']}"), json={"status": "closed"}, headers=world.teacher)
    sent = []

    def receiver(project_id, **kwargs):
        sent.append(kwargs["scores"])

    service.project_scores_released.connect(receiver)
    try:
        released = client.post(world.url(f"/{project['id']}/scores/release"), headers=world.teacher)
    finally:
        service.project_scores_released.disconnect(receiver)
    assert released.status_code == 200
    assert sorted(r["student_id"] for r in released.get_json()) == [ada, bea]
    assert len(sent) == 1
    assert sorted(s.student_id for s in sent[0]) == [ada, bea]
    assert {s.score for s in sent[0]} == {75.0}


def test_back_in_the_course_they_count_again_with_the_ratings_kept(client, world, red):
    project, _ = red
    cal = world.student_ids[2]
    before = _by_id(_scores(client, world, project))
    _leave(client, world, cal)
    _come_back(client, world, cal)
    scores = _scores(client, world, project)
    assert scores["groups"][0]["left_course"] == []
    assert _by_id(scores) == before


def test_who_left_can_no_longer_rate_or_add_evidence(client, world, red):
    project, _ = red
    ada, _, cal, _ = world.student_ids
    _leave(client, world, cal)
    cal_headers = world.students[2]
    attempts = [
        client.put(
            world.url(f"/{project['id']}/peer-ratings/{ada}"),
            json={"ratings": TOP},
            headers=cal_headers,
        ),
        client.delete(world.url(f"/{project['id']}/peer-ratings/{ada}"), headers=cal_headers),
        client.post(
            world.url(f"/{project['id']}/evidence"),
            json={"kind": "note", "title": "Late", "note": "From outside"},
            headers=cal_headers,
        ),
        client.get(world.url(f"/{project['id']}/groups"), headers=cal_headers),
    ]
    for response in attempts:
        # No longer a student of the course: the course is out of their reach.
        assert response.status_code == 404 and response.mimetype == PROBLEM
    evidence = client.get(world.url(f"/{project['id']}/evidence"), headers=world.teacher)
    assert evidence.get_json() == []
    ratings = client.get(
        world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher
    ).get_json()
    assert {(r["rater_id"], r["ratee_id"]): r["ratings"] for r in ratings}[(cal, ada)] == WEAK


def test_a_teammate_who_left_is_not_rated(client, world, red):
    project, _ = red
    ada, _, cal, _ = world.student_ids
    _leave(client, world, cal)
    response = client.put(
        world.url(f"/{project['id']}/peer-ratings/{cal}"),
        json={"ratings": TOP},
        headers=world.students[0],
    )
    assert response.status_code == 409 and response.mimetype == PROBLEM
    body = response.get_json()
    assert "left the course" in body["detail"]
    assert body["errors"] == [
        {"path": "ratee_id", "location": "path", "message": "Has left the course."}
    ]
    given = client.get(
        world.url(f"/{project['id']}/peer-ratings"), headers=world.students[0]
    ).get_json()
    assert {r["ratee_id"]: r["ratings"] for r in given}[cal] == WEAK
    # Their own rating of a teammate who left may still be withdrawn.
    withdrawn = client.delete(
        world.url(f"/{project['id']}/peer-ratings/{cal}"), headers=world.students[0]
    )
    assert withdrawn.status_code == 204


def test_who_left_is_not_listed_in_no_group(client, world, red):
    project, _ = red
    dee = world.student_ids[3]
    assert _scores(client, world, project)["ungrouped_student_ids"] == [dee]
    _leave(client, world, dee)
    assert _scores(client, world, project)["ungrouped_student_ids"] == []


def test_a_student_who_left_cannot_be_placed_in_a_group(client, world, red):
    project, group = red
    ada, bea, cal, dee = world.student_ids
    _leave(client, world, dee)
    created = client.post(
        world.url(f"/{project['id']}/groups"),
        json={"name": "Blue", "member_ids": [dee]},
        headers=world.teacher,
    )
    assert created.status_code == 422 and created.mimetype == PROBLEM
    assert [e["path"] for e in created.get_json()["errors"]] == ["member_ids[0]"]
    assert "left" in created.get_json()["errors"][0]["message"]
    moved = client.patch(
        world.url(f"/{project['id']}/groups/{group['id']}"),
        json={"member_ids": [ada, bea, cal, dee]},
        headers=world.teacher,
    )
    assert moved.status_code == 422 and moved.mimetype == PROBLEM
    assert [e["path"] for e in moved.get_json()["errors"]] == ["member_ids[3]"]
    groups = client.get(world.url(f"/{project['id']}/groups"), headers=world.teacher).get_json()
    assert [g["name"] for g in groups] == ["Red"]
    assert [m["user_id"] for m in groups[0]["members"]] == [ada, bea, cal]


def test_a_member_who_left_may_stay_while_the_group_changes(client, world, red):
    """Saving the group with them keeps them and their ratings: taking them out would
    take the ratings along, which the teacher may not mean."""
    project, group = red
    ada, bea, cal, dee = world.student_ids
    _leave(client, world, cal)
    saved = client.patch(
        world.url(f"/{project['id']}/groups/{group['id']}"),
        json={"name": "Crimson", "member_ids": [ada, bea, cal, dee]},
        headers=world.teacher,
    )
    assert saved.status_code == 200, saved.get_json()
    assert [(m["user_id"], m["left_course"]) for m in saved.get_json()["members"]] == [
        (ada, False),
        (bea, False),
        (cal, True),
        (dee, False),
    ]
    ratings = client.get(
        world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher
    ).get_json()
    assert len(ratings) == 6


def test_ratings_given_only_to_who_left_count_as_not_rating(client, world):
    """Out of moderation entirely: a rating of someone who left says nothing about the
    teammates who are there, so it neither moves their factors nor spares the penalty."""
    project = create_project(client, world, status="open", non_submission_penalty=0.1)
    ada, bea, cal, _ = world.student_ids
    group = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    _rate(client, world, project, 0, cal, TOP)
    _rate(client, world, project, 1, ada, TOP)
    _rate(client, world, project, 1, cal, TOP)
    client.put(
        world.url(f"/{project['id']}/groups/{group['id']}/evaluation"),
        json={"ratings": FAIR},
        headers=world.teacher,
    )
    _leave(client, world, cal)
    by_id = _by_id(_scores(client, world, project))
    assert by_id[ada]["rated_peers"] is False and by_id[ada]["penalty"] > 0
    assert by_id[bea]["rated_peers"] is True and by_id[bea]["penalty"] == 0
    # The last one left in a group is never penalised, as in a group of one.
    _leave(client, world, bea)
    by_id = _by_id(_scores(client, world, project))
    assert list(by_id) == [ada]
    assert by_id[ada]["penalty"] == 0 and by_id[ada]["score"] == 75.0
