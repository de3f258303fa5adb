"""Graded items: declared due dates turn stored and future events into graded work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import bearer, make_course, make_enrollment, make_institution, make_user

NOW = datetime.now(UTC).replace(microsecond=0)


def _event(kid: int, course_id: int, kind: str, obj: str, days_ago: int, n: int = 0) -> dict:
    return {
        "user_id": kid,
        "course_id": course_id,
        "kind": kind,
        "occurred_at": NOW - timedelta(days=days_ago),
        "source": "xapi",
        "source_id": f"{kind}-{obj}-{kid}-{days_ago}-{n}",
        "object_id": obj,
        "score": 0.8,
    }


@pytest.fixture
def course(app):
    """Three students: 0 hands the essay in early and practises a quiz twice, 1 hands
    the essay in 2 days after its (later declared) due date, 2 does nothing graded."""
    with app.app_context():
        from masteryai_lti.engagement import service

        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        kids = [make_user(school) for _ in range(3)]
        for kid in kids:
            make_enrollment(course, kid)
        events = [_event(k.id, course.id, "resource_view", "page", d) for k in kids for d in (1, 2)]
        events += [
            _event(kids[0].id, course.id, "submission", "essay-2", 6),
            _event(kids[1].id, course.id, "submission", "essay-2", 3),
            _event(kids[0].id, course.id, "quiz", "quiz-1", 4),
            _event(kids[0].id, course.id, "quiz", "quiz-1", 4, n=1),
        ]
        service.record_events(school.id, events)
        outsider = make_user(make_institution(), role="teacher")
        return {
            "id": course.id,
            "school_id": school.id,
            "base": f"/api/v1/courses/{course.id}/engagement",
            "kids": [k.id for k in kids],
            "teacher": bearer(teacher),
            "student": bearer(kids[0]),
            "outsider": bearer(outsider),
        }


def _raw(client, c, kid: int) -> dict:
    body = client.get(f"{c['base']}/students/{kid}", headers=c["teacher"]).get_json()
    return {f["factor"]: f["raw"] for f in body["factors"]}


def _rollup(app, course_id: int) -> tuple[int, int]:
    with app.app_context():
        from masteryai_lti.engagement.models import EngagementDay
        from masteryai_lti.extensions import db

        return tuple(
            db.session.execute(
                select(func.sum(EngagementDay.quiz), func.sum(EngagementDay.submission)).where(
                    EngagementDay.course_id == course_id
                )
            ).one()
        )


def _declare(client, c, items, headers=None):
    return client.post(
        f"{c['base']}/graded-items", json={"items": items}, headers=headers or c["teacher"]
    )


ESSAY_DUE = (NOW - timedelta(days=5)).isoformat()
QUIZ_DUE = (NOW - timedelta(days=2)).isoformat()


def test_declaring_items_makes_stored_events_graded_work_and_nonsubmitters_missing(
    client, app, course
):
    c = course
    before = _raw(client, c, c["kids"][0])  # also warms the cached course reference
    assert before["quiz"] == 2
    assert client.get(f"{c['base']}/graded-items", headers=c["student"]).get_json() == []
    assert _rollup(app, c["id"]) == (2, 2)

    r = _declare(
        client,
        c,
        [
            {"object_id": "essay-2", "kind": "submission", "due_at": ESSAY_DUE, "title": "Essay"},
            {"object_id": "quiz-1", "kind": "quiz", "due_at": QUIZ_DUE},
        ],
    )
    assert r.status_code == 200, r.get_json()
    assert [(i["object_id"], i["source"]) for i in r.get_json()] == [
        ("essay-2", "teacher"),
        ("quiz-1", "teacher"),
    ]
    # The quiz attempts are graded work now: they moved from the quiz to the submission
    # column of the daily rollup.
    assert _rollup(app, c["id"]) == (0, 4)
    early, late, nothing = (_raw(client, c, kid) for kid in c["kids"])
    assert early["submission"] == 1.0 and early["timeliness"] == 1.0
    assert late["submission"] == 0.5 and late["timeliness"] == pytest.approx((5 / 7) / 2, abs=1e-3)
    assert nothing["submission"] == 0.0 and nothing["timeliness"] == 0.0  # missing work
    missing = client.get(f"{c['base']}/students/{c['kids'][2]}", headers=c["teacher"]).get_json()[
        "missing_work"
    ]
    assert [(m["title"], m["due_date"]) for m in missing] == [
        ("Essay", ESSAY_DUE[:10]),
        ("quiz-1", QUIZ_DUE[:10]),  # no title declared: the object id
    ]
    mine = client.get(f"{c['base']}/students/{c['kids'][0]}", headers=c["student"]).get_json()
    assert mine["missing_work"] == []
    listed = client.get(f"{c['base']}/graded-items", headers=c["student"]).get_json()
    assert [i["object_id"] for i in listed] == ["essay-2", "quiz-1"]  # soonest due first


def test_events_arriving_later_take_the_declared_due_date(client, app, course):
    c = course
    assert (
        _declare(
            client, c, [{"object_id": "essay-3", "kind": "submission", "due_at": QUIZ_DUE}]
        ).status_code
        == 200
    )
    with app.app_context():
        from masteryai_lti.engagement import service
        from masteryai_lti.engagement.models import EngagementEvent
        from masteryai_lti.extensions import db

        late = _event(c["kids"][2], c["id"], "submission", "essay-3", 0)
        practice = _event(c["kids"][2], c["id"], "quiz", "other-quiz", 0)
        service.record_events(c["school_id"], [late, practice])
        dues = dict(
            db.session.execute(
                select(EngagementEvent.object_id, EngagementEvent.due_at).where(
                    EngagementEvent.user_id == c["kids"][2],
                    EngagementEvent.object_id.in_(["essay-3", "other-quiz"]),
                )
            ).all()
        )
    assert dues == {"essay-3": datetime.fromisoformat(QUIZ_DUE), "other-quiz": None}
    assert _raw(client, c, c["kids"][2])["timeliness"] == pytest.approx(
        5 / 7, abs=1e-3
    )  # 2 days late


def test_removing_an_item_returns_its_events_to_plain_activity(client, app, course):
    c = course
    declared = _declare(client, c, [{"object_id": "quiz-1", "kind": "quiz", "due_at": QUIZ_DUE}])
    assert _rollup(app, c["id"]) == (0, 4)
    item_id = declared.get_json()[0]["id"]
    r = client.delete(f"{c['base']}/graded-items/{item_id}", headers=c["teacher"])
    assert r.status_code == 204
    assert _rollup(app, c["id"]) == (2, 2)
    assert _raw(client, c, c["kids"][0])["quiz"] == 2
    assert client.get(f"{c['base']}/graded-items", headers=c["teacher"]).get_json() == []
    again = client.delete(f"{c['base']}/graded-items/{item_id}", headers=c["teacher"])
    assert again.status_code == 404


def test_moving_a_due_date_regrades_without_double_counting(client, app, course):
    c = course
    item = {"object_id": "essay-2", "kind": "submission", "due_at": ESSAY_DUE}
    _declare(client, c, [item])
    assert _raw(client, c, c["kids"][1])["timeliness"] == pytest.approx(5 / 7, abs=1e-3)
    r = _declare(client, c, [{**item, "due_at": (NOW - timedelta(days=3)).isoformat()}])
    assert r.status_code == 200
    assert _raw(client, c, c["kids"][1])["timeliness"] == 1.0  # on time now
    assert _rollup(app, c["id"]) == (2, 2)


def test_validation_roles_and_tenancy(client, course):
    c = course
    url = f"{c['base']}/graded-items"
    item = {"object_id": "essay-2", "kind": "submission", "due_at": ESSAY_DUE}
    r = _declare(client, c, [item, {**item, "due_at": QUIZ_DUE}])
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert [e["path"] for e in r.get_json()["errors"]] == ["items[1].object_id"]
    r = _declare(client, c, [{**item, "kind": "exam"}, {"object_id": "", "kind": "quiz"}])
    assert r.status_code == 422
    assert {e["path"] for e in r.get_json()["errors"]} == {
        "items[0].kind",
        "items[1].object_id",
        "items[1].due_at",
    }
    assert _declare(client, c, [item], headers=c["student"]).status_code == 403
    assert _declare(client, c, [item], headers=c["outsider"]).status_code == 404
    assert client.get(url, headers=c["outsider"]).status_code == 404
    assert client.get(url, headers=c["teacher"]).get_json() == []  # nothing half-written


def test_launches_declaring_the_same_due_date_at_once_do_not_collide(app, course):
    """A class opening the assignment together: every launch's declaration succeeds."""
    import threading

    c = course
    with app.app_context():
        from masteryai_lti.extensions import db

        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers are checked on PostgreSQL")
    barrier = threading.Barrier(4)
    outcomes = []

    def launch_declares():
        with app.app_context():
            from masteryai_lti.courses.models import Course
            from masteryai_lti.engagement import graded_items
            from masteryai_lti.extensions import db

            row = db.session.get(Course, c["id"])
            barrier.wait()
            try:
                graded_items.declare_from_lms(row, "link-9", QUIZ_DUE, "Essay 9")
                db.session.commit()
                outcomes.append("ok")
            except Exception as exc:  # noqa: BLE001 - the test reports what failed
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=launch_declares) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == ["ok"] * 4
    with app.app_context():
        from masteryai_lti.engagement.models import GradedItem
        from masteryai_lti.extensions import db

        items = db.session.execute(select(GradedItem.object_id, GradedItem.source)).all()
    assert items == [("link-9", "lti")]


def test_a_reference_cached_before_titles_were_kept_still_serves(client, app, course):
    """After a deploy, Redis may hold course references whose items have no title."""
    c = course
    _declare(client, c, [{"object_id": "essay-2", "kind": "submission", "due_at": ESSAY_DUE}])
    _raw(client, c, c["kids"][2])  # caches the course reference
    with app.app_context():
        from masteryai_lti.engagement import keys
        from masteryai_lti.extensions import cache

        ref = cache.get(keys.course_reference(c["id"]))
        assert ref is not None and all(len(row) == 5 for row in ref["items"])
        ref["items"] = [row[:3] for row in ref["items"]]
        cache.set(keys.course_reference(c["id"]), ref, ttl=3600)
    body = client.get(f"{c['base']}/students/{c['kids'][2]}", headers=c["teacher"]).get_json()
    assert [m["title"] for m in body["missing_work"]] == ["essay-2"]
    # Nor the instant (added later still): the day is shown instead.
    assert [m["due_at"] for m in body["missing_work"]] == [None]
