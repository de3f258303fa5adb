"""Students choose their own group, where the teacher lets them (group self-sign-up).

The teacher makes the groups (possibly empty), turns ``group_sign_up`` on and may set
``max_group_size``; while the project is open a student of the course in no group joins
a group with room, and may leave it again, taking the ratings they gave and received.
"""

from __future__ import annotations

import pytest

from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project


def _join(client, world, project, group, student=0):
    return client.post(
        world.url(f"/{project['id']}/groups/{group['id']}/join"), headers=world.students[student]
    )


def _leave(client, world, project, group, student=0):
    return client.post(
        world.url(f"/{project['id']}/groups/{group['id']}/leave"), headers=world.students[student]
    )


def _member_ids(group: dict) -> list[int]:
    return [m["user_id"] for m in group["members"]]


@pytest.fixture
def signing_up(client, world):
    """An open project with sign-up on, groups of at most 2: Red (Ada placed by the
    teacher) and an empty Blue; Bea, Cal and Dee are in no group."""
    project = create_project(client, world, status="open", group_sign_up=True, max_group_size=2)
    red = create_group(client, world, project["id"], "Red", [world.student_ids[0]])
    blue = create_group(client, world, project["id"], "Blue", [])
    return project, red, blue


# -- the settings ---------------------------------------------------------------------


def test_sign_up_is_off_by_default_and_a_teacher_turns_it_on(client, world):
    project = create_project(client, world)
    assert project["group_sign_up"] is False and project["max_group_size"] is None
    url = world.url(f"/{project['id']}")
    changed = client.patch(
        url, json={"group_sign_up": True, "max_group_size": 4}, headers=world.teacher
    )
    assert changed.status_code == 200, changed.get_json()
    assert client.get(url, headers=world.teacher).get_json()["group_sign_up"] is True
    assert changed.get_json()["max_group_size"] == 4
    back = client.patch(url, json={"max_group_size": None}, headers=world.teacher)
    assert back.get_json()["max_group_size"] is None


@pytest.mark.parametrize("size", [1, 31, 0, -2, 2.5, "3"])
def test_a_group_size_outside_2_to_30_is_refused_where_it_is(client, world, size):
    project = create_project(client, world, max_group_size=3)
    url = world.url(f"/{project['id']}")
    response = client.patch(
        url, json={"max_group_size": size, "title": "Renamed"}, headers=world.teacher
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert [e["path"] for e in response.get_json()["errors"]] == ["max_group_size"]
    # Nothing half-written: the title did not change either.
    kept = client.get(url, headers=world.teacher).get_json()
    assert kept["title"] == "Build a bridge" and kept["max_group_size"] == 3
    created = client.post(
        world.url(), json={"title": "T", "max_group_size": size}, headers=world.teacher
    )
    assert created.status_code == 422
    assert [e["path"] for e in created.get_json()["errors"]] == ["max_group_size"]


def test_a_student_cannot_change_the_settings(client, world):
    project = create_project(client, world, status="open")
    response = client.patch(
        world.url(f"/{project['id']}"), json={"group_sign_up": True}, headers=world.students[0]
    )
    assert response.status_code == 403 and response.mimetype == PROBLEM


# -- choosing a group -----------------------------------------------------------------


def test_a_student_in_no_group_sees_every_group_with_its_room(client, world, signing_up):
    project, red, blue = signing_up
    listed = client.get(world.url(f"/{project['id']}/groups"), headers=world.students[1])
    assert listed.status_code == 200
    rooms = {g["name"]: (g["room"], _member_ids(g)) for g in listed.get_json()}
    assert rooms == {"Blue": (2, []), "Red": (1, [world.student_ids[0]])}
    # A student in a group still sees only their own.
    own = client.get(world.url(f"/{project['id']}/groups"), headers=world.students[0])
    assert [g["name"] for g in own.get_json()] == ["Red"]


def test_without_sign_up_a_student_in_no_group_sees_no_groups(client, world):
    project = create_project(client, world, status="open")
    create_group(client, world, project["id"], "Red", [world.student_ids[0]])
    listed = client.get(world.url(f"/{project['id']}/groups"), headers=world.students[1])
    assert listed.get_json() == []


def test_a_student_joins_a_group_with_room_until_it_is_full(client, world, signing_up):
    project, red, blue = signing_up
    ada, bea, cal, _ = world.student_ids
    joined = _join(client, world, project, red, student=1)
    assert joined.status_code == 200, joined.get_json()
    assert _member_ids(joined.get_json()) == [ada, bea] and joined.get_json()["room"] == 0

    full = _join(client, world, project, red, student=2)
    assert full.status_code == 409 and full.mimetype == PROBLEM
    assert full.get_json()["errors"] == [
        {"path": "group_id", "location": "path", "message": "Full: 2 of 2 places taken."}
    ]
    # Bea is a member now: she may rate Ada.
    rated = client.put(
        world.url(f"/{project['id']}/peer-ratings/{ada}"),
        json={"ratings": TOP},
        headers=world.students[1],
    )
    assert rated.status_code == 200
    teacher_view = client.get(world.url(f"/{project['id']}/groups"), headers=world.teacher)
    assert {g["name"]: _member_ids(g) for g in teacher_view.get_json()} == {
        "Blue": [],
        "Red": [ada, bea],
    }
    assert cal not in _member_ids(red)


def test_without_a_size_a_group_takes_up_to_30(client, world):
    project = create_project(client, world, status="open", group_sign_up=True)
    group = create_group(client, world, project["id"], "Red", [])
    assert group["room"] == 30
    joined = _join(client, world, project, group, student=3)
    assert joined.status_code == 200 and joined.get_json()["room"] == 29


def test_joining_ones_own_group_again_changes_nothing(client, world, signing_up):
    project, red, _ = signing_up
    again = _join(client, world, project, red, student=0)
    assert again.status_code == 200
    assert _member_ids(again.get_json()) == [world.student_ids[0]]


def test_a_student_in_another_group_is_told_which(client, world, signing_up):
    project, _, blue = signing_up
    response = _join(client, world, project, blue, student=0)
    assert response.status_code == 409 and response.mimetype == PROBLEM
    body = response.get_json()
    assert "leave your group first" in body["detail"]
    assert body["errors"] == [
        {"path": "group_id", "location": "path", "message": "You are already in the group 'Red'."}
    ]


def test_without_sign_up_the_teacher_forms_the_groups(client, world):
    project = create_project(client, world, status="open")
    group = create_group(client, world, project["id"], "Red", [])
    joined = _join(client, world, project, group, student=1)
    assert joined.status_code == 409 and joined.mimetype == PROBLEM
    assert "teacher forms the groups" in joined.get_json()["detail"]
    member = create_group(client, world, project["id"], "Blue", [world.student_ids[0]])
    left = _leave(client, world, project, member, student=0)
    assert left.status_code == 409 and "teacher forms the groups" in left.get_json()["detail"]
    listed = client.get(world.url(f"/{project['id']}/groups/{group['id']}"), headers=world.teacher)
    assert listed.get_json()["members"] == []


def test_a_closed_project_takes_no_sign_up_and_a_draft_is_not_there(client, world, signing_up):
    project, red, blue = signing_up
    url = world.url(f"/{project['id']}")
    client.patch(url, json={"status": "closed"}, headers=world.teacher)
    joined = _join(client, world, project, blue, student=1)
    assert joined.status_code == 409 and "not open" in joined.get_json()["detail"]
    left = _leave(client, world, project, red, student=0)
    assert left.status_code == 409 and "not open" in left.get_json()["detail"]
    client.patch(url, json={"status": "draft"}, headers=world.teacher)
    assert _join(client, world, project, blue, student=1).status_code == 404


def test_teachers_use_the_group_endpoints(client, world, signing_up):
    project, red, blue = signing_up
    url = world.url(f"/{project['id']}/groups/{blue['id']}/join")
    response = client.post(url, headers=world.teacher)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    # A teacher may place beyond the size students sign up to.
    placed = client.patch(
        world.url(f"/{project['id']}/groups/{blue['id']}"),
        json={"member_ids": world.student_ids[1:4]},
        headers=world.teacher,
    )
    assert placed.status_code == 200 and placed.get_json()["room"] == 0


def test_no_join_from_outside_the_course_or_another_project(client, world, signing_up):
    project, red, blue = signing_up
    other = create_project(client, world, status="open", group_sign_up=True)
    elsewhere = create_group(client, world, other["id"], "Green", [])
    wrong_project = client.post(
        world.url(f"/{project['id']}/groups/{elsewhere['id']}/join"), headers=world.students[1]
    )
    assert wrong_project.status_code == 404
    outsider = client.post(
        world.url(f"/{project['id']}/groups/{blue['id']}/join"), headers=world.outsider
    )
    assert outsider.status_code == 404


def test_a_student_who_left_the_course_cannot_join(client, world, signing_up):
    project, _, blue = signing_up
    bea = world.student_ids[1]
    removed = client.delete(
        f"/api/v1/courses/{world.course_id}/members/{bea}", headers=world.teacher
    )
    assert removed.status_code == 204
    response = _join(client, world, project, blue, student=1)
    assert response.status_code == 404 and response.mimetype == PROBLEM
    group = client.get(world.url(f"/{project['id']}/groups/{blue['id']}"), headers=world.teacher)
    assert group.get_json()["members"] == []


# -- leaving ---------------------------------------------------------------------------


def test_leaving_takes_the_ratings_given_and_received_in_the_group(client, world):
    project = create_project(client, world, status="open", group_sign_up=True)
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    for rater, ratee in ((0, bea), (1, ada), (1, cal), (2, bea)):
        response = client.put(
            world.url(f"/{project['id']}/peer-ratings/{ratee}"),
            json={"ratings": TOP},
            headers=world.students[rater],
        )
        assert response.status_code == 200
    left = _leave(client, world, project, red, student=1)
    assert left.status_code == 204 and left.data == b""
    ratings = client.get(world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher)
    assert [(r["rater_id"], r["ratee_id"]) for r in ratings.get_json()] == []
    group = client.get(world.url(f"/{project['id']}/groups/{red['id']}"), headers=world.teacher)
    assert _member_ids(group.get_json()) == [ada, cal]
    # Out of the group, Bea may choose again: she sees Red with its room.
    listed = client.get(world.url(f"/{project['id']}/groups"), headers=world.students[1])
    assert [(g["name"], g["room"]) for g in listed.get_json()] == [("Red", 28)]


def test_leaving_keeps_ratings_between_the_others(client, world):
    project = create_project(client, world, status="open", group_sign_up=True)
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    for rater, ratee in ((0, cal), (2, ada), (1, ada)):
        client.put(
            world.url(f"/{project['id']}/peer-ratings/{ratee}"),
            json={"ratings": TOP},
            headers=world.students[rater],
        )
    assert _leave(client, world, project, red, student=1).status_code == 204
    ratings = client.get(world.url(f"/{project['id']}/peer-ratings"), headers=world.teacher)
    assert sorted((r["rater_id"], r["ratee_id"]) for r in ratings.get_json()) == [
        (ada, cal),
        (cal, ada),
    ]


def test_only_a_member_leaves_a_group(client, world, signing_up):
    project, red, blue = signing_up
    response = _leave(client, world, project, red, student=1)
    assert response.status_code == 404 and response.mimetype == PROBLEM
    teacher = client.post(
        world.url(f"/{project['id']}/groups/{red['id']}/leave"), headers=world.teacher
    )
    assert teacher.status_code == 403
    group = client.get(world.url(f"/{project['id']}/groups/{red['id']}"), headers=world.teacher)
    assert _member_ids(group.get_json()) == [world.student_ids[0]]
