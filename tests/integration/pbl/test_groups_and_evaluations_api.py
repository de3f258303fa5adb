"""Groups, the teacher's evaluation of a group's work, and peer ratings between members."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from masteryai_lti.engagement.models import EngagementEvent
from masteryai_lti.extensions import db
from masteryai_lti.pbl.models import PeerEvaluation
from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project


@pytest.fixture
def project(client, world):
    return create_project(client, world, status="open")


def test_a_student_works_in_one_group_per_project(client, world, project):
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea])
    assert [m["name"] for m in red["members"]] == ["Ada", "Bea"]
    response = client.post(
        world.url(f"/{project['id']}/groups"),
        json={"name": "Blue", "member_ids": [cal, bea]},
        headers=world.teacher,
    )
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert response.get_json()["errors"] == [
        {"path": "member_ids[1]", "location": "json", "message": "Already in the group 'Red'."}
    ]
    # Nothing half-written: Blue does not exist and Cal is in no group.
    groups = client.get(world.url(f"/{project['id']}/groups"), headers=world.teacher).get_json()
    assert [g["name"] for g in groups] == ["Red"]


def test_members_must_be_distinct_students_of_the_course(client, world, project):
    ada = world.student_ids[0]
    response = client.post(
        world.url(f"/{project['id']}/groups"),
        json={
            "name": "Blue",
            "member_ids": [ada, ada, world.other_course_student_id, world.teacher_id],
        },
        headers=world.teacher,
    )
    assert response.status_code == 422
    assert [e["path"] for e in response.get_json()["errors"]] == [
        "member_ids[1]",
        "member_ids[2]",
        "member_ids[3]",
    ]


def test_a_group_name_is_unique_within_the_project(client, world, project):
    create_group(client, world, project["id"], "Red", [])
    again = client.post(
        world.url(f"/{project['id']}/groups"), json={"name": "Red"}, headers=world.teacher
    )
    assert again.status_code == 409


def test_a_student_sees_only_their_own_group(client, world, project):
    ada, bea, cal, dee = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea])
    blue = create_group(client, world, project["id"], "Blue", [cal, dee])
    seen = client.get(world.url(f"/{project['id']}/groups"), headers=world.students[0]).get_json()
    assert [g["id"] for g in seen] == [red["id"]]
    assert (
        client.get(
            world.url(f"/{project['id']}/groups/{blue['id']}"), headers=world.students[0]
        ).status_code
        == 404
    )
    assert (
        client.get(
            world.url(f"/{project['id']}/groups/{red['id']}"), headers=world.students[0]
        ).status_code
        == 200
    )
    assert (
        client.post(
            world.url(f"/{project['id']}/groups"), json={"name": "Mine"}, headers=world.students[0]
        ).status_code
        == 403
    )


def test_the_teacher_evaluates_a_group_and_co_teachers_average(client, world, project):
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    url = world.url(f"/{project['id']}/groups/{red['id']}/evaluation")
    first = client.put(url, json={"ratings": TOP, "comment": "Strong"}, headers=world.teacher)
    assert first.status_code == 200
    assert first.get_json()["score"] == 100.0
    lower = {"communication": 2, "collaboration": 2, "problem_solving": 2}
    second = client.put(url, json={"ratings": lower}, headers=world.co_teacher)
    assert second.get_json()["score"] == 50.0
    # The same teacher again replaces their evaluation instead of adding one.
    client.put(url, json={"ratings": TOP}, headers=world.teacher)
    listed = client.get(
        world.url(f"/{project['id']}/evaluations"), headers=world.teacher
    ).get_json()
    assert sorted(e["score"] for e in listed) == [50.0, 100.0]
    scores = client.get(world.url(f"/{project['id']}/scores"), headers=world.teacher).get_json()
    assert scores["groups"][0]["group_score"]["score"] == 75.0
    assert scores["groups"][0]["group_score"]["evaluators"] == 2
    assert (
        client.get(
            world.url(f"/{project['id']}/evaluations"), headers=world.students[0]
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("ratings", "path"),
    [
        ({"communication": 4, "collaboration": 4}, "ratings.problem_solving"),
        ({**TOP, "communication": 3.5}, "ratings.communication"),
        ({**TOP, "style": 1}, "ratings.style"),
    ],
)
def test_ratings_that_miss_the_rubric_are_refused_by_criterion(
    client, world, project, ratings, path
):
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    url = world.url(f"/{project['id']}/groups/{red['id']}/evaluation")
    response = client.put(url, json={"ratings": ratings}, headers=world.teacher)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert path in [e["path"] for e in response.get_json()["errors"]]
    assert (
        client.get(world.url(f"/{project['id']}/evaluations"), headers=world.teacher).get_json()
        == []
    )


def test_members_rate_teammates_only_and_the_rating_counts_as_engagement(
    client, world, project, app
):
    ada, bea, cal, dee = world.student_ids
    create_group(client, world, project["id"], "Red", [ada, bea])
    create_group(client, world, project["id"], "Blue", [cal, dee])
    ada_h = world.students[0]
    rated = client.put(
        world.url(f"/{project['id']}/peer-ratings/{bea}"), json={"ratings": TOP}, headers=ada_h
    )
    assert rated.status_code == 200 and rated.get_json()["score"] == 100.0
    assert (
        client.put(
            world.url(f"/{project['id']}/peer-ratings/{cal}"), json={"ratings": TOP}, headers=ada_h
        ).status_code
        == 404
    )
    myself = client.put(
        world.url(f"/{project['id']}/peer-ratings/{ada}"), json={"ratings": TOP}, headers=ada_h
    )
    assert myself.status_code == 422 and myself.get_json()["errors"][0]["path"] == "ratee_id"
    # A teacher is in no group: nobody to rate.
    assert (
        client.put(
            world.url(f"/{project['id']}/peer-ratings/{bea}"),
            json={"ratings": TOP},
            headers=world.teacher,
        ).status_code
        == 403
    )

    given = client.get(world.url(f"/{project['id']}/peer-ratings"), headers=ada_h).get_json()
    assert [(r["rater_id"], r["ratee_id"]) for r in given] == [(ada, bea)]
    # Bea does not see how Ada rated her.
    assert (
        client.get(
            world.url(f"/{project['id']}/peer-ratings"), headers=world.students[1]
        ).get_json()
        == []
    )
    everything = client.get(
        world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher
    ).get_json()
    assert len(everything) == 1
    with app.app_context():
        events = db.session.scalars(
            select(EngagementEvent).where(EngagementEvent.source == "pbl")
        ).all()
        assert [(e.user_id, e.kind) for e in events] == [(ada, "interaction")]


def test_self_assessment_when_the_project_asks_for_it(client, world):
    project = create_project(client, world, status="open", self_assessment=True)
    ada = world.student_ids[0]
    create_group(client, world, project["id"], "Red", [ada, world.student_ids[1]])
    response = client.put(
        world.url(f"/{project['id']}/peer-ratings/{ada}"),
        json={"ratings": TOP},
        headers=world.students[0],
    )
    assert response.status_code == 200


def test_peer_ratings_close_with_the_project(client, world, project):
    ada, bea = world.student_ids[:2]
    create_group(client, world, project["id"], "Red", [ada, bea])
    client.patch(world.url(f"/{project['id']}"), json={"status": "closed"}, headers=world.teacher)
    response = client.put(
        world.url(f"/{project['id']}/peer-ratings/{bea}"),
        json={"ratings": TOP},
        headers=world.students[0],
    )
    assert response.status_code == 409 and response.mimetype == PROBLEM


def test_a_member_who_leaves_takes_their_peer_ratings_along(client, world, project, app):
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    for rater, header in ((ada, world.students[0]), (cal, world.students[2])):
        for ratee in {ada, bea, cal} - {rater}:
            r = client.put(
                world.url(f"/{project['id']}/peer-ratings/{ratee}"),
                json={"ratings": TOP},
                headers=header,
            )
            assert r.status_code == 200
    moved = client.patch(
        world.url(f"/{project['id']}/groups/{red['id']}"),
        json={"member_ids": [ada, bea]},
        headers=world.teacher,
    )
    assert [m["user_id"] for m in moved.get_json()["members"]] == [ada, bea]
    with app.app_context():
        left = db.session.execute(select(PeerEvaluation.rater_id, PeerEvaluation.ratee_id)).all()
        assert sorted(left) == [(ada, bea)]


def test_an_evaluation_is_withdrawn_by_its_teacher_or_an_admin_only(client, world, project):
    red = create_group(client, world, project["id"], "Red", world.student_ids[:2])
    url = world.url(f"/{project['id']}/groups/{red['id']}/evaluation")
    mine = client.put(url, json={"ratings": TOP}, headers=world.teacher).get_json()
    theirs = client.put(url, json={"ratings": TOP}, headers=world.co_teacher).get_json()
    one = world.url(f"/{project['id']}/evaluations/{{}}")
    refused = client.delete(one.format(theirs["id"]), headers=world.teacher)
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    assert client.delete(one.format(mine["id"]), headers=world.teacher).status_code == 204
    assert client.delete(one.format(theirs["id"]), headers=world.admin).status_code == 204
    listed = client.get(world.url(f"/{project['id']}/evaluations"), headers=world.teacher)
    assert listed.get_json() == []
