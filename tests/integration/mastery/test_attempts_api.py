"""Attempts from the three roads: player API, xAPI projection (record_attempt), CSV import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.mastery.world import build_world, seed_graph, seed_items


@pytest.fixture
def world(app, client):
    w = build_world(app)
    seed_graph(client, w)
    w.items = seed_items(client, w)
    return w


def attempts_url(world, path=""):
    return f"/api/v1/courses/{world.course_id}/attempts{path}"


def my_mastery(client, world, headers=None):
    body = client.get(
        f"/api/v1/courses/{world.course_id}/mastery/me", headers=headers or world.student
    ).get_json()
    return {c["concept_key"]: c for c in body["concepts"]}


def test_correct_answer_raises_mastery_wrong_lowers_it(client, world):
    item = world.items["add"][2]  # answer is 2
    before = my_mastery(client, world)["add"]["mastery"]
    right = client.post(
        attempts_url(world), json={"item_id": item, "response": {"value": 2}}, headers=world.student
    )
    assert right.status_code == 201
    body = right.get_json()
    assert body["correct"] is True and body["duplicate"] is False
    after_right = my_mastery(client, world)["add"]
    assert after_right["mastery"] > before and after_right["attempts"] == 1
    wrong = client.post(
        attempts_url(world),
        json={"item_id": world.items["add"][3], "response": {"value": 99}},
        headers=world.student,
    ).get_json()
    assert wrong["correct"] is False
    assert my_mastery(client, world)["add"]["mastery"] < after_right["mastery"]
    # the classmate is untouched
    assert my_mastery(client, world, world.classmate)["add"]["attempts"] == 0


def test_a_typo_in_a_numeric_answer_is_refused_and_records_nothing(client, world):
    item = world.items["add"][2]  # a numeric item

    typo = client.post(
        attempts_url(world),
        json={"item_id": item, "response": {"value": "2x"}},
        headers=world.student,
    )

    assert typo.status_code == 422
    assert typo.headers["Content-Type"].startswith("application/problem+json")
    assert [e["path"] for e in typo.get_json()["errors"]] == ["response.value"]
    assert my_mastery(client, world)["add"]["attempts"] == 0


def test_an_attempt_posted_twice_counts_once(client, world):
    payload = {"item_id": world.items["mul"][1], "response": {"value": 1}, "attempt_key": "k-1"}
    first = client.post(attempts_url(world), json=payload, headers=world.student).get_json()
    second = client.post(attempts_url(world), json=payload, headers=world.student).get_json()
    assert second["duplicate"] is True and second["attempt_id"] == first["attempt_id"]
    assert my_mastery(client, world)["mul"]["attempts"] == 1
    # the same key from another student is another attempt
    other = client.post(attempts_url(world), json=payload, headers=world.classmate).get_json()
    assert other["duplicate"] is False and other["attempt_id"] != first["attempt_id"]


def test_submission_scoping(client, world):
    payload = {"item_id": world.items["add"][0], "response": {"value": 0}}
    assert client.post(attempts_url(world), json=payload).status_code == 401
    assert client.post(attempts_url(world), json=payload, headers=world.teacher).status_code == 403
    assert client.post(attempts_url(world), json=payload, headers=world.admin).status_code == 403
    for headers in (world.outsider, world.foreign_student, world.other_teacher):
        assert client.post(attempts_url(world), json=payload, headers=headers).status_code == 404
    unknown = {"item_id": 999999, "response": {"value": 0}}
    assert client.post(attempts_url(world), json=unknown, headers=world.student).status_code == 404
    bad = client.post(attempts_url(world), json={"response": 1}, headers=world.student)
    assert bad.status_code == 422


def map_activity(client, world, activity_id: str, concept_key: str) -> None:
    response = client.post(
        f"/api/v1/courses/{world.course_id}/activity-mappings",
        json={"activity_id": activity_id, "concept_keys": [concept_key]},
        headers=world.teacher,
    )
    assert response.status_code == 201, response.get_json()


def test_xapi_road_through_record_attempt(app, client, world):
    map_activity(client, world, "https://h5p.example/q/7", "geo")
    from masteryai_lti.extensions import db
    from masteryai_lti.mastery.models import Attempt
    from masteryai_lti.mastery.service import record_attempt

    with app.app_context():
        from masteryai_lti.courses.models import Course

        institution_id = db.session.get(Course, world.course_id).institution_id
        kwargs = dict(
            occurred_at=datetime.now(UTC) - timedelta(hours=1),
            source="xapi",
            source_id="stmt-1",
            score=0.9,
            activity_id="https://h5p.example/q/7",
        )
        first = record_attempt(institution_id, world.student_id, **kwargs)
        again = record_attempt(institution_id, world.student_id, **kwargs)
        unmapped = record_attempt(
            institution_id,
            world.student_id,
            **{**kwargs, "source_id": "stmt-2", "activity_id": "https://elsewhere.example/x"},
        )
        db.session.commit()
        assert first is not None and first.correct is True and again.id == first.id
        assert unmapped is None
        count = db.session.query(Attempt).filter_by(user_id=world.student_id).count()
        assert count == 1
    geo = my_mastery(client, world)["geo"]
    assert geo["attempts"] == 1


def test_bulk_import_road(client, world):
    now = datetime.now(UTC)
    lines = ["student,item,correct,timestamp,duration"]
    for d in range(5, 0, -1):
        stamp = (now - timedelta(days=d)).isoformat()
        lines.append(f"{world.student_id},frac-{d},1,{stamp},30")
    csv_text = "\n".join(lines) + "\n"
    url = attempts_url(world, "/import")
    first = client.post(url, json={"content": csv_text}, headers=world.teacher).get_json()
    assert first == {"created": 5, "duplicates": 0, "unmapped": 0}
    again = client.post(url, json={"content": csv_text}, headers=world.teacher).get_json()
    assert again == {"created": 0, "duplicates": 5, "unmapped": 0}
    frac = my_mastery(client, world)["frac"]
    assert frac["attempts"] == 5 and frac["correct"] == 5
    bad = (
        "student,item,correct,timestamp\nnobody@x.example,frac-1,1,2026-01-01T00:00:00Z\n"
        f"{world.student_id},ghost,maybe,yesterday\n"
    )
    response = client.post(url, json={"content": bad}, headers=world.teacher)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [e["path"] for e in errors] == ["line 2", "line 3"]
    assert "unknown item" in errors[1]["message"] and "timestamp" in errors[1]["message"]
    assert client.post(url, json={"content": csv_text}, headers=world.student).status_code == 403
    assert client.post(url, json={"content": csv_text}, headers=world.outsider).status_code == 404


def test_answering_assignment_items_marks_them_and_completes(client, world):
    gen = client.post(
        f"/api/v1/courses/{world.course_id}/assignments/generate",
        json={"length": 2, "student_ids": [world.student_id]},
        headers=world.teacher,
    ).get_json()
    detail_url = f"/api/v1/courses/{world.course_id}/assignments/{gen[0]['id']}"
    detail = client.get(detail_url, headers=world.student).get_json()
    assert len(detail["items"]) == 2
    keys = {}
    items = client.get(f"/api/v1/courses/{world.course_id}/items", headers=world.teacher)
    for it in items.get_json():
        keys[it["id"]] = it["answer"]["value"]
    for pick in detail["items"]:
        client.post(
            attempts_url(world),
            json={"item_id": pick["item_id"], "response": {"value": keys[pick["item_id"]]}},
            headers=world.student,
        )
    detail = client.get(detail_url, headers=world.student).get_json()
    assert all(p["answered"] for p in detail["items"]) and detail["status"] == "completed"


def test_first_attempts_teach_the_concept_prior(app, client, world):
    from sqlalchemy import select

    from masteryai_lti.extensions import db
    from masteryai_lti.mastery.models import Concept

    for headers in (world.student, world.classmate):
        for i in range(2):  # only each student's first attempt counts for the prior
            client.post(
                attempts_url(world),
                json={"item_id": world.items["geo"][i], "response": {"value": -1}},
                headers=headers,
            )
    with app.app_context():
        geo = db.session.scalar(select(Concept).where(Concept.key == "geo"))
        add = db.session.scalar(select(Concept).where(Concept.key == "add"))
        assert geo.prior["students"] == 2
        assert add.prior is None
        # two wrong first answers: students start lower here than the global prior
        from masteryai_lti.mastery.service import mastery_params

        assert geo.prior["mean"] < mastery_params().concept_mean


def test_shared_lookups_read_a_mapping_once_and_count_every_attempt(app, client, world):
    # The xAPI projection passes one lookups dict for a chunk of statements: the mapping
    # and its concepts are read once, and each attempt still updates mastery.
    map_activity(client, world, "https://h5p.example/q/8", "geo")
    from sqlalchemy import event

    from masteryai_lti.courses.models import Course
    from masteryai_lti.extensions import db
    from masteryai_lti.mastery.service import record_attempt

    with app.app_context():
        institution_id = db.session.get(Course, world.course_id).institution_id
        mapping_reads = []

        def count_mapping_reads(conn, cursor, statement, parameters, context, executemany):
            reads_mappings = "FROM mastery_activity_mappings" in statement
            if statement.lstrip().startswith("SELECT") and reads_mappings:
                mapping_reads.append(statement)

        event.listen(db.engine, "before_cursor_execute", count_mapping_reads)
        try:
            lookups: dict = {}
            for n in range(3):
                attempt = record_attempt(
                    institution_id,
                    world.student_id,
                    occurred_at=datetime.now(UTC) - timedelta(hours=3 - n),
                    source="xapi",
                    source_id=f"chunk-{n}",
                    correct=n != 1,
                    activity_id="https://h5p.example/q/8",
                    course_id=world.course_id,
                    lookups=lookups,
                )
                assert attempt is not None
        finally:
            event.remove(db.engine, "before_cursor_execute", count_mapping_reads)
        db.session.commit()
    assert len(mapping_reads) == 1
    assert my_mastery(client, world)["geo"]["attempts"] == 3
