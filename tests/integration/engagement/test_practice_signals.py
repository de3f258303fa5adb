"""Practice in the tool's own player is quiz participation, as answers from xAPI
content are: a student who practises here is not an inactive student to the index."""

from __future__ import annotations

from sqlalchemy import select

from masteryai_lti.engagement.models import EngagementEvent
from masteryai_lti.extensions import db
from tests.integration.mastery.world import build_world, seed_graph, seed_items


def _answer(client, world, item_id, value, key):
    response = client.post(
        f"/api/v1/courses/{world.course_id}/attempts",
        json={"item_id": item_id, "response": {"value": value}, "attempt_key": key},
        headers=world.student,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _quiz_factor(client, world) -> dict:
    response = client.get(
        f"/api/v1/courses/{world.course_id}/engagement/students/{world.student_id}",
        headers=world.teacher,
    )
    assert response.status_code == 200, response.get_json()
    [quiz] = [f for f in response.get_json()["factors"] if f["factor"] == "quiz"]
    return quiz


def test_each_answer_in_the_player_is_a_quiz_attempt_once(app, client):
    world = build_world(app)
    seed_graph(client, world)
    items = seed_items(client, world, per_concept=2)

    _answer(client, world, items["add"][0], 0, "k1")  # right
    _answer(client, world, items["add"][1], 7, "k2")  # wrong
    # The player resends an answer whose reply it lost: the same attempt, not a new one.
    _answer(client, world, items["add"][1], 7, "k2")

    with app.app_context():
        events = db.session.scalars(
            select(EngagementEvent).where(EngagementEvent.user_id == world.student_id)
        ).all()
        quiz = sorted((e.source, e.score) for e in events if e.kind == "quiz")
    assert quiz == [("practice", 0.0), ("practice", 1.0)]
    assert _quiz_factor(client, world)["raw"] == 2
