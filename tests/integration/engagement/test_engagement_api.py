"""Engagement API and service over the real database (and Redis when it runs)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.factories import bearer, make_course, make_enrollment, make_institution, make_user

PROBLEM = "application/problem+json"
NOW = datetime.now(UTC)
NAMES = ["Zoe Quinn", "yara Park", "Xavier Ode", "Wen Li", "Victor Hugo", "Uma Roy"]


def _world(app, students: int = 6):
    with app.app_context():
        from masteryai_lti.engagement import service

        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        # Names in the opposite order of ids (and one lower-case) to test sorting by name.
        kids = [
            make_user(school, role="student", full_name=NAMES[k % len(NAMES)])
            for k in range(students)
        ]
        for kid in kids:
            make_enrollment(course, kid)
        other_school = make_institution()
        outsider = make_user(other_school, role="teacher")
        other_teacher = make_user(school, role="teacher")
        make_course(school, other_teacher)
        events = []
        # Students 0..3 are active on a decreasing number of days; 4 submits late; 5 never appears.
        for k, kid in enumerate(kids[:5]):
            for d in range(8 - 2 * k if k < 4 else 1):
                events.append(
                    {
                        "user_id": kid.id,
                        "course_id": course.id,
                        "kind": "resource_view",
                        "occurred_at": NOW - timedelta(days=d),
                        "source": "xapi",
                        "source_id": f"view-{kid.id}-{d}",
                        "object_id": "page-1",
                    }
                )
        for k, kid in enumerate(kids[:5]):
            late = 3 if k == 4 else -1
            events.append(
                {
                    "user_id": kid.id,
                    "course_id": course.id,
                    "kind": "submission",
                    "occurred_at": NOW - timedelta(days=5 - late),
                    "due_at": NOW - timedelta(days=5),
                    "score": 0.9 - 0.1 * k,
                    "source": "lti",
                    "source_id": f"sub-{kid.id}",
                    "object_id": "essay-1",
                }
            )
        stored = service.record_events(school.id, events)
        return {
            "school": school,
            "course": course,
            "course_id": course.id,
            "kids": [k.id for k in kids],
            "stored": stored,
            "events": events,
            "teacher": bearer(teacher),
            "student0": bearer(kids[0]),
            "student1": bearer(kids[1]),
            "outsider": bearer(outsider),
            "other_teacher": bearer(other_teacher),
        }


def test_record_events_is_idempotent(app):
    w = _world(app)
    assert w["stored"] == len(w["events"])
    with app.app_context():
        from masteryai_lti.engagement import service

        assert service.record_events(w["school"].id, w["events"][:3]) == 0
        with pytest.raises(ValueError):
            service.record_events(w["school"].id, [{**w["events"][0], "kind": "chat"}])


def test_class_table_sorts_filters_and_explains(client, app):
    w = _world(app)
    r = client.get(f"/api/v1/courses/{w['course_id']}/engagement?sort=-score", headers=w["teacher"])
    assert r.status_code == 200, r.json
    items = r.json["items"]
    assert r.json["total"] == 6
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    top = next(i for i in items if i["student_id"] == w["kids"][0])
    assert items[0]["score"] == top["score"] > 0
    never = next(i for i in items if i["student_id"] == w["kids"][5])
    assert never["score"] == 0 and never["flagged"] and never["no_activity"]
    flagged = client.get(
        f"/api/v1/courses/{w['course_id']}/engagement?at_risk=true&per_page=2", headers=w["teacher"]
    ).json
    assert all(i["flagged"] for i in flagged["items"]) and len(flagged["items"]) <= 2
    low = client.get(f"/api/v1/courses/{w['course_id']}/engagement?band=low", headers=w["teacher"])
    assert all(i["band"] == "low" for i in low.json["items"])
    bad = client.get(
        f"/api/v1/courses/{w['course_id']}/engagement?sort=email", headers=w["teacher"]
    )
    assert bad.status_code == 422 and bad.content_type == PROBLEM


def test_class_table_and_at_risk_list_name_students_and_sort_by_name(client, app):
    w = _world(app)
    base = f"/api/v1/courses/{w['course_id']}/engagement"
    by_name = client.get(f"{base}?sort=name&per_page=4", headers=w["teacher"]).json
    assert [i["full_name"] for i in by_name["items"]] == sorted(NAMES, key=str.casefold)[:4]
    assert [i["student_id"] for i in by_name["items"]] == w["kids"][::-1][:4]
    page2 = client.get(f"{base}?sort=-name&per_page=4&page=2", headers=w["teacher"]).json
    assert [i["full_name"] for i in page2["items"]] == ["Victor Hugo", "Uma Roy"]
    names = dict(zip(w["kids"], NAMES, strict=True))
    flagged = client.get(f"{base}/at-risk", headers=w["teacher"]).json
    assert flagged and all(r["full_name"] == names[r["student_id"]] for r in flagged)
    mine = client.get(f"{base}/students/{w['kids'][1]}", headers=w["student1"]).json
    assert mine["full_name"] == "yara Park"


def test_student_breakdown_contributions_sum_and_reasons(client, app):
    w = _world(app)
    url = f"/api/v1/courses/{w['course_id']}/engagement/students/{w['kids'][3]}"
    r = client.get(url, headers=w["teacher"])
    assert r.status_code == 200, r.json
    body = r.json
    assert round(sum(f["contribution"] for f in body["factors"]), 1) == body["score"]
    att = next(f for f in body["factors"] if f["factor"] == "attendance")
    # Two viewing days plus the day the essay was handed in.
    assert att["raw"] == 3 and "3 active days vs course median" in att["reason"]
    timely = next(f for f in body["factors"] if f["factor"] == "timeliness")
    assert timely["weight"] > 0
    quiz = next(f for f in body["factors"] if f["factor"] == "quiz")
    assert quiz["weight"] == 0 and "no quiz data" in quiz["reason"]


def test_at_risk_lists_students_never_seen(client, app):
    w = _world(app)
    r = client.get(f"/api/v1/courses/{w['course_id']}/engagement/at-risk", headers=w["teacher"])
    assert r.status_code == 200
    never = next(x for x in r.json if x["student_id"] == w["kids"][5])
    assert never["no_activity"]
    assert 1 <= len(never["reasons"]) <= 3
    assert any("no activity" in x["text"] for x in never["reasons"])
    assert [x["risk"] for x in r.json] == sorted((x["risk"] for x in r.json), reverse=True)


@pytest.mark.parametrize(
    "path",
    ["engagement", "engagement/at-risk", "engagement/students/{kid}", "engagement/weights"],
)
def test_tenant_and_role_scoping(client, app, path):
    w = _world(app)
    url = f"/api/v1/courses/{w['course_id']}/" + path.format(kid=w["kids"][1])
    assert client.get(url).status_code == 401
    assert client.get(url, headers=w["outsider"]).status_code == 404
    assert client.get(url, headers=w["other_teacher"]).status_code == 404
    student = client.get(url, headers=w["student0"]).status_code
    if path in ("engagement", "engagement/at-risk"):
        assert student == 403
    elif path == "engagement/weights":
        assert student == 200
    else:
        assert student == 403  # another student's breakdown
        assert client.get(url, headers=w["student1"]).status_code == 200  # their own


def test_writes_are_scoped(client, app):
    w = _world(app)
    base = f"/api/v1/courses/{w['course_id']}"
    marks = {"marks": [{"user_id": w["kids"][0], "date": "2026-01-05", "status": "present"}]}
    assert client.post(f"{base}/attendance", json=marks, headers=w["student0"]).status_code == 403
    assert client.post(f"{base}/attendance", json=marks, headers=w["outsider"]).status_code == 404
    weights = {
        "weights": {
            "attendance": 100,
            "submission": 0,
            "quiz": 0,
            "interaction": 0,
            "timeliness": 0,
            "resource": 0,
        }
    }
    assert (
        client.put(f"{base}/engagement/weights", json=weights, headers=w["student0"]).status_code
        == 403
    )
    assert (
        client.put(f"{base}/engagement/weights", json=weights, headers=w["outsider"]).status_code
        == 404
    )
    sheet = f"user_id,date,status\n{w['kids'][0]},2026-01-05,present\n"
    for who, code in (("student0", 403), ("outsider", 404), ("other_teacher", 404)):
        r = client.post(
            f"{base}/attendance/import", data=sheet, content_type="text/csv", headers=w[who]
        )
        assert r.status_code == code
    assert (
        client.post(f"{base}/attendance", json=marks, headers=w["other_teacher"]).status_code == 404
    )
    history = f"{base}/engagement/students/{w['kids'][1]}/history"
    assert client.get(history, headers=w["student0"]).status_code == 403
    assert client.get(history, headers=w["outsider"]).status_code == 404


def test_weights_put_validates_and_changes_scores(client, app):
    w = _world(app)
    url = f"/api/v1/courses/{w['course_id']}/engagement/weights"
    assert client.get(url, headers=w["teacher"]).json["weights"]["attendance"] == 25
    bad = client.put(
        url,
        json={
            "weights": {
                "attendance": 50,
                "submission": 20,
                "quiz": 15,
                "interaction": 15,
                "timeliness": 15,
                "resource": 10,
            }
        },
        headers=w["teacher"],
    )
    assert bad.status_code == 422 and bad.content_type == PROBLEM
    assert "sum to 125" in str(bad.json["errors"])
    bad = client.put(url, json={"weights": {"attendance": "x"}}, headers=w["teacher"])
    assert bad.status_code == 422
    paths = {e["path"] for e in bad.json["errors"]}
    assert {"weights.attendance", "weights.submission"} <= paths
    only_views = {
        "attendance": 0,
        "submission": 0,
        "quiz": 0,
        "interaction": 0,
        "timeliness": 0,
        "resource": 100,
    }
    ok = client.put(
        url, json={"weights": only_views, "flag_at": 0.6, "clear_below": 0.5}, headers=w["teacher"]
    )
    assert ok.status_code == 200 and ok.json["weights"] == only_views and ok.json["flag_at"] == 0.6
    table = client.get(f"/api/v1/courses/{w['course_id']}/engagement", headers=w["teacher"]).json
    assert table["weights"]["resource"] == 100
    scores = {i["student_id"]: i["score"] for i in table["items"]}
    assert scores[w["kids"][0]] == 100.0 and scores[w["kids"][5]] == 0.0
    one = client.get(
        f"/api/v1/courses/{w['course_id']}/engagement/students/{w['kids'][0]}",
        headers=w["teacher"],
    ).json
    assert {f["factor"]: f["weight"] for f in one["factors"]}["resource"] == 100
    assert one["score"] == 100.0


def test_attendance_entry_and_csv_import(client, app):
    w = _world(app)
    base = f"/api/v1/courses/{w['course_id']}"
    kid = w["kids"][5]
    today = NOW.date()
    marks = {
        "marks": [
            {"user_id": kid, "date": (today - timedelta(days=d)).isoformat(), "status": "present"}
            for d in range(1, 3)
        ]
    }
    r = client.post(f"{base}/attendance", json=marks, headers=w["teacher"])
    assert r.status_code == 201 and r.json["stored"] == 2
    att = lambda: next(  # noqa: E731
        f
        for f in client.get(f"{base}/engagement/students/{kid}", headers=w["teacher"]).json[
            "factors"
        ]
        if f["factor"] == "attendance"
    )
    assert att()["raw"] == 2
    csv_body = "user_id,date,status\n" + "\n".join(
        [
            f"{kid},{(today - timedelta(days=1)).isoformat()},absent",
            f"{kid},{(today - timedelta(days=3)).isoformat()},late",
            f"{kid},{(today - timedelta(days=4)).isoformat()},present",
        ]
    )
    r = client.post(
        f"{base}/attendance/import", data=csv_body, content_type="text/csv", headers=w["teacher"]
    )
    assert r.status_code == 201, r.json
    assert att()["raw"] == 3  # day 1 corrected to absent, days 2, 3, 4 present
    bad = (
        "user_id,date,status\n12x,2026-01-01,present\n"
        + f"{kid},01/02/2026,present\n{kid},2026-01-03,maybe\n"
    )
    r = client.post(
        f"{base}/attendance/import", data=bad, content_type="text/csv", headers=w["teacher"]
    )
    assert r.status_code == 422
    assert [e["path"] for e in r.json["errors"]] == [
        "line 2.user_id",
        "line 3.date",
        "line 4.status",
    ]
    unknown = {"marks": [{"user_id": 999999, "date": "2026-01-01", "status": "present"}]}
    r = client.post(f"{base}/attendance", json=unknown, headers=w["teacher"])
    assert r.status_code == 422 and r.json["errors"][0]["path"] == "marks[0].user_id"


def test_new_event_is_reflected_in_the_student_view(client, app):
    w = _world(app)
    kid = w["kids"][3]
    url = f"/api/v1/courses/{w['course_id']}/engagement/students/{kid}"
    client.get(f"/api/v1/courses/{w['course_id']}/engagement", headers=w["teacher"])  # warm cache
    before = client.get(url, headers=w["teacher"]).json
    with app.app_context():
        from masteryai_lti.engagement import service

        service.record_events(
            w["school"].id,
            [
                {
                    "user_id": kid,
                    "course_id": w["course_id"],
                    "kind": "launch",
                    "occurred_at": NOW - timedelta(days=20),
                    "source": "lti",
                    "source_id": "launch-x",
                }
            ],
        )
    after = client.get(url, headers=w["teacher"]).json
    att = {b["factor"]: b["raw"] for b in after["factors"]}["attendance"]
    assert att == {b["factor"]: b["raw"] for b in before["factors"]}["attendance"] + 1
    table = client.get(f"/api/v1/courses/{w['course_id']}/engagement", headers=w["teacher"]).json
    # The class view was invalidated, not served stale.
    assert next(i for i in table["items"] if i["student_id"] == kid)["score"] > before["score"]


def test_recompute_writes_snapshots_history_and_keeps_flags(client, app, runner):
    w = _world(app)
    with app.app_context():
        from masteryai_lti.engagement import service

        yesterday = NOW.date() - timedelta(days=1)
        service.recompute_course(w["course_id"], as_of=yesterday)
    out = runner.invoke(args=["engagement", "recompute"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        args=["engagement", "recompute", "--queue", "--course", str(w["course_id"])]
    )
    assert out.exit_code == 0 and "inline" in out.output
    hist = client.get(
        f"/api/v1/courses/{w['course_id']}/engagement/students/{w['kids'][1]}/history",
        headers=w["student1"],
    )
    assert hist.status_code == 200 and len(hist.json) == 2
    assert hist.json[0]["date"] < hist.json[1]["date"]
    with app.app_context():
        from masteryai_lti.engagement import service

        # Flagged yesterday at a lower bar: stays flagged while above clear_below.
        from masteryai_lti.engagement.models import EngagementSnapshot
        from masteryai_lti.extensions import db

        snaps = db.session.query(EngagementSnapshot).filter_by(taken_on=yesterday).all()
        for s in snaps:
            s.flagged = True
        db.session.commit()
        view = service.compute_course_view(w["course_id"])
        by_id = {r["student_id"]: r for r in view["students"]}
        for r in by_id.values():
            assert r["flagged"] == (r["risk"] >= 0.4 or r["no_activity"])


@pytest.mark.redis
def test_redis_stopped_gives_the_same_answers_from_postgres(client, app, make_app):
    from masteryai_lti.engagement import keys
    from masteryai_lti.extensions import cache
    from tests.redis_server import RedisServer

    w = _world(app)
    url = f"/api/v1/courses/{w['course_id']}/engagement?sort=student_id"
    student_url = f"/api/v1/courses/{w['course_id']}/engagement/students/{w['kids'][2]}"
    headers = w["teacher"]
    server = RedisServer().start()
    try:
        served = make_app(REDIS_URL=server.url)
        with served.app_context():
            web = served.test_client()
            good = web.get(url, headers=headers).json
            ok = web.get(student_url, headers=headers).json
            assert cache.get(keys.course_view(w["course_id"])) is not None
            server.stop()
            dead = web.get(url, headers=headers)
            student = web.get(student_url, headers=headers)
    finally:
        server.stop()
        cache.init_app(app)  # the cache is process-wide: give the next tests theirs back
    assert dead.status_code == 200
    assert dead.json["items"] == good["items"]
    assert student.status_code == 200
    assert student.json["score"] == ok["score"]
    assert student.json["factors"] == ok["factors"]
    assert student.json["reasons"] == ok["reasons"]


def test_events_for_unknown_dates_fall_outside_the_period(app):
    w = _world(app)
    with app.app_context():
        from masteryai_lti.engagement import service

        old = NOW - timedelta(days=90)
        service.record_events(
            w["school"].id,
            [
                {
                    "user_id": w["kids"][5],
                    "course_id": w["course_id"],
                    "kind": "launch",
                    "occurred_at": old.isoformat(),
                    "source": "lti",
                    "source_id": "old",
                }
            ],
        )
        view = service.course_view(w["course_id"], as_of=date.today())
        row = next(r for r in view["students"] if r["student_id"] == w["kids"][5])
        assert row["no_activity"]


def test_daily_rollup_matches_the_events(client, app):
    w = _world(app)
    base = f"/api/v1/courses/{w['course_id']}"
    kid = w["kids"][2]
    day = (NOW.date() - timedelta(days=2)).isoformat()
    for status in ("present", "absent", "late"):
        client.post(
            f"{base}/attendance",
            json={"marks": [{"user_id": kid, "date": day, "status": status}]},
            headers=w["teacher"],
        )
    with app.app_context():
        import sqlalchemy as sa

        from masteryai_lti.engagement import service
        from masteryai_lti.engagement.models import EngagementDay, EngagementEvent
        from masteryai_lti.extensions import db

        service.record_events(w["school"].id, w["events"])  # all duplicates: no change
        ev = EngagementEvent
        expected = {}
        for c, u, d, k, due in db.session.execute(
            sa.select(ev.course_id, ev.user_id, ev.day, ev.kind, ev.due_at)
        ):
            col = "submission" if k == "quiz" and due is not None else k
            expected.setdefault((c, u, d), dict.fromkeys(service.ROLLUP_COLUMNS, 0))[col] += 1
        actual = {}
        for row in db.session.scalars(sa.select(EngagementDay)):
            counts = {c: getattr(row, c) for c in service.ROLLUP_COLUMNS}
            if any(counts.values()):
                actual[(row.course_id, row.user_id, row.day)] = counts
        assert actual == expected
        assert any(v["attendance"] == 1 for v in actual.values())


def test_record_events_can_join_the_callers_transaction(client, app):
    w = _world(app)
    url = f"/api/v1/courses/{w['course_id']}/engagement?sort=student_id"
    before = client.get(url, headers=w["teacher"]).json["items"]
    event = {
        "user_id": w["kids"][5],
        "course_id": w["course_id"],
        "kind": "launch",
        "occurred_at": NOW,
        "source": "lti",
        "source_id": "joined-tx",
    }
    with app.app_context():
        from masteryai_lti.engagement import service
        from masteryai_lti.extensions import db

        assert service.record_events(w["school"].id, [event], commit=False) == 1
        db.session.rollback()  # the caller gives up: nothing stored, view still valid
    again = client.get(url, headers=w["teacher"]).json["items"]
    assert again == before
    with app.app_context():
        from masteryai_lti.engagement import service
        from masteryai_lti.extensions import db

        assert service.record_events(w["school"].id, [event], commit=False) == 1
        db.session.commit()  # committed: the cached view is dropped
    after = client.get(url, headers=w["teacher"]).json["items"]
    row = next(i for i in after if i["student_id"] == w["kids"][5])
    assert row["no_activity"] is False and row["days_since_active"] == 0


def test_outcome_rate_calibrates_the_risk_and_keeps_the_order(client, app):
    w = _world(app)
    base = f"/api/v1/courses/{w['course_id']}"
    url = f"{base}/engagement/weights"

    def risks():
        items = client.get(f"{base}/engagement?per_page=100", headers=w["teacher"]).json["items"]
        return {i["student_id"]: (i["risk"], i["flagged"]) for i in items}

    settings = client.get(url, headers=w["student0"]).json
    assert settings["outcome_rate"] is None
    model_rate = settings["model_outcome_rate"]
    assert 0.3 < model_rate < 0.6  # OULAD's share of Withdrawn or Fail
    weights = settings["weights"]
    before = risks()

    school = client.put(url, json={"weights": weights, "outcome_rate": 0.1}, headers=w["teacher"])
    assert school.status_code == 200, school.json
    assert school.json["outcome_rate"] == 0.1
    after = risks()
    assert all(after[k][0] < before[k][0] for k in before)
    by_risk = sorted(before, key=lambda k: before[k][0])
    assert sorted(after, key=lambda k: after[k][0]) == by_risk
    assert after[w["kids"][5]][1]  # never active: flagged whatever the rate
    one = client.get(f"{base}/engagement/students/{w['kids'][1]}", headers=w["teacher"]).json
    assert one["risk"] == after[w["kids"][1]][0]

    kept = client.put(url, json={"weights": weights, "flag_at": 0.6}, headers=w["teacher"])
    assert kept.json["outcome_rate"] == 0.1 and kept.json["flag_at"] == 0.6
    heavier = {**weights, "attendance": weights["attendance"] + 5, "resource": 5}
    bad = client.put(url, json={"weights": heavier, "outcome_rate": 1.2}, headers=w["teacher"])
    assert bad.status_code == 422 and bad.content_type == PROBLEM
    assert [e["path"] for e in bad.json["errors"]] == ["outcome_rate"]
    assert client.get(url, headers=w["teacher"]).json["weights"] == weights  # nothing stored

    reset = client.put(url, json={"weights": weights, "outcome_rate": None}, headers=w["teacher"])
    assert reset.json["outcome_rate"] is None
    assert {k: r for k, (r, _) in risks().items()} == {k: r for k, (r, _) in before.items()}


def test_one_student_scored_after_an_event_matches_the_class_view(client, app):
    """The single-student path (one query against the cached course reference) gives
    every student the score, risk, flag and breakdown the full computation gives,
    with custom weights, thresholds, outcome rate and graded quizzes in play."""
    w = _world(app)
    cid = w["course_id"]
    r = client.put(
        f"/api/v1/courses/{cid}/engagement/weights",
        json={
            "weights": {
                "attendance": 30,
                "submission": 10,
                "quiz": 20,
                "interaction": 10,
                "timeliness": 20,
                "resource": 10,
            },
            "flag_at": 0.45,
            "clear_below": 0.3,
            "outcome_rate": 0.15,
        },
        headers=w["teacher"],
    )
    assert r.status_code == 200, r.json
    with app.app_context():
        from masteryai_lti.core.errors import NotFound
        from masteryai_lti.engagement import keys, service
        from masteryai_lti.extensions import cache

        quizzes = [
            {
                "user_id": kid,
                "course_id": cid,
                "kind": "quiz",
                "occurred_at": NOW - timedelta(days=2 + k),
                "due_at": NOW - timedelta(days=3),
                "score": None if k == 3 else 0.3 + 0.1 * k,  # one graded without a score
                "source": "xapi",
                "source_id": f"quiz-{kid}",
                "object_id": "quiz 'one'; \\ \"x\"",  # quoted safely into the COPY
            }
            for k, kid in enumerate(w["kids"][:4])
        ]
        service.record_events(w["school"].id, quizzes)
        view = service.course_view(cid)  # warms the view and the course reference
        assert cache.get(keys.course_reference(cid)) is not None  # the fast path is taken
        for row in view["students"]:
            alone = service.student_view(cid, row["student_id"])
            assert alone["score"] == row["score"]
            assert alone["risk"] == row["risk"] and alone["flagged"] == row["flagged"]
            contributions = [f["contribution"] for f in alone["factors"]]
            assert contributions == pytest.approx(row["contributions"])
        with pytest.raises(NotFound):
            service.student_view(cid, w["kids"][0] + 10_000)


def test_single_events_keep_the_rollup_exact(app):
    """One event per call (the live path: event and rollup in one statement) adds
    exactly that event to its day, every kind in its column; a duplicate adds nothing."""
    w = _world(app, students=2)
    with app.app_context():
        import sqlalchemy as sa

        from masteryai_lti.engagement import service
        from masteryai_lti.engagement.models import EngagementDay
        from masteryai_lti.extensions import db

        kid, cid = w["kids"][1], w["course_id"]
        when = NOW - timedelta(days=1)

        def row():
            return db.session.scalar(
                sa.select(EngagementDay).where(
                    EngagementDay.course_id == cid,
                    EngagementDay.user_id == kid,
                    EngagementDay.day == when.date().toordinal(),
                )
            )

        before = row()
        start = {c: getattr(before, c) if before else 0 for c in service.ROLLUP_COLUMNS}
        singles = [
            ("launch", None),
            ("resource_view", None),
            ("interaction", None),
            ("quiz", None),
            ("quiz", NOW),  # graded quiz: counts as handed-in work
            ("submission", NOW),
            ("attendance", None),
            ("resource_view", None),
        ]
        for n, (kind, due) in enumerate(singles):
            event = {
                "user_id": kid,
                "course_id": cid,
                "kind": kind,
                "occurred_at": when,
                "source": "live",
                "source_id": f"single-{n}",
                "due_at": due,
                "object_id": f"obj-{n}" if due else None,
            }
            assert service.record_events(w["school"].id, [event]) == 1
            assert service.record_events(w["school"].id, [event]) == 0  # duplicate
        db.session.expire_all()
        after = row()
        added = {c: getattr(after, c) - start[c] for c in service.ROLLUP_COLUMNS}
        assert added == {
            "attendance": 1,
            "submission": 2,
            "quiz": 1,
            "interaction": 1,
            "resource_view": 2,
            "launch": 1,
        }


def test_enrolment_context_counts_live_other_courses_and_earlier_runs(app):
    """Other courses count while they have engagement in the period and the student is
    an active student there; earlier runs are older courses with the same code. The
    class view and a student scored alone (the event path) agree on both."""
    with app.app_context():
        from masteryai_lti.engagement import keys, service
        from masteryai_lti.extensions import cache, db

        school = make_institution()
        teacher = make_user(school, role="teacher")
        then = NOW - timedelta(days=400)
        first_run = make_course(school, teacher, code="BIO-101", created_at=then)
        course = make_course(school, teacher, code="BIO-101", created_at=NOW - timedelta(days=20))
        next_run = make_course(school, teacher, code="BIO-101", created_at=NOW)
        other_code = make_course(school, teacher, code="CHEM-1", created_at=then)
        live = [make_course(school, teacher) for _ in range(3)]
        finished = make_course(school, teacher)
        kids = [make_user(school, role="student") for _ in range(4)]
        for kid in kids:
            make_enrollment(course, kid)
        # kid 0: two live courses as a student, one as a teacher, one finished course.
        make_enrollment(live[0], kids[0])
        make_enrollment(live[1], kids[0])
        make_enrollment(live[2], kids[0], role="teacher")
        make_enrollment(finished, kids[0])
        # kid 1: dropped out of the first run (any status counts), in a live course
        # but no longer active there.
        make_enrollment(first_run, kids[1]).status = "dropped"
        make_enrollment(live[0], kids[1]).status = "inactive"
        # kid 2: only a later run and another course code.
        make_enrollment(next_run, kids[2])
        make_enrollment(other_code, kids[2])
        db.session.commit()
        outsider = make_user(school, role="student")
        for c in live:
            make_enrollment(c, outsider)

        def event(course_id, user_id, days_ago, n):
            return {
                "user_id": user_id,
                "course_id": course_id,
                "kind": "resource_view",
                "occurred_at": NOW - timedelta(days=days_ago),
                "source": "xapi",
                "source_id": f"ctx-{course_id}-{user_id}-{n}",
            }

        events = [event(c.id, outsider.id, 2, c.id) for c in live]  # live: activity now
        events.append(event(finished.id, kids[0].id, 90, 0))  # finished: long ago
        events += [event(course.id, k.id, 1, k.id) for k in kids]
        service.record_events(school.id, events)

        inp = service.load_course_input(course.id, NOW.date())
        by_student = dict(
            zip(inp.roster, zip(inp.other_courses, inp.earlier_runs, strict=True), strict=True)
        )
        assert by_student == {
            kids[0].id: (2, 0),
            kids[1].id: (0, 1),
            kids[2].id: (0, 0),
            kids[3].id: (0, 0),
        }
        view = service.course_view(course.id)
        assert cache.get(keys.course_reference(course.id)) is not None  # the fast path
        for row in view["students"]:
            alone = service.student_view(course.id, row["student_id"])
            assert alone["risk"] == row["risk"]
        risks = {row["student_id"]: row["risk"] for row in view["students"]}
        # Identical activity; the repeater and the student with two other courses
        # are at higher risk than the two without.
        assert risks[kids[2].id] == risks[kids[3].id]
        assert risks[kids[0].id] > risks[kids[3].id] and risks[kids[1].id] > risks[kids[3].id]


def test_a_flag_keeps_the_day_it_went_up(client, app):
    """The at-risk list says since when each student has been flagged: the day carries
    over from snapshot to snapshot while the flag stays up, and starts again after it
    came down."""
    import sqlalchemy as sa

    from masteryai_lti.engagement import service
    from masteryai_lti.engagement.models import EngagementSnapshot
    from masteryai_lti.extensions import db

    w = _world(app)
    cid = w["course_id"]
    settings_url = f"/api/v1/courses/{cid}/engagement/weights"
    weights = client.get(settings_url, headers=w["teacher"]).json["weights"]

    def bar(flag_at: float, as_of: date) -> None:
        put = client.put(
            settings_url,
            json={"weights": weights, "flag_at": flag_at, "clear_below": flag_at - 0.1},
            headers=w["teacher"],
        )
        assert put.status_code == 200, put.json
        with app.app_context():
            service.recompute_course(cid, as_of=as_of)

    first, second, third = (NOW.date() - timedelta(days=k) for k in (3, 2, 1))
    bar(0.99, first)  # a bar only the never-seen reach (they are flagged whatever the bar)
    bar(0.99, second)
    bar(0.3, third)  # the bar drops: who it catches is flagged from that day

    at_risk = client.get(f"/api/v1/courses/{cid}/engagement/at-risk", headers=w["teacher"]).json
    since = {row["student_id"]: row["flagged_since"] for row in at_risk}
    never_seen = w["kids"][5]
    assert since[never_seen] == first.isoformat()
    caught = {s for s, day in since.items() if day == third.isoformat()}
    assert caught and never_seen not in caught
    with app.app_context():
        kept = db.session.scalars(
            sa.select(EngagementSnapshot.flagged_since).where(
                EngagementSnapshot.course_id == cid, EngagementSnapshot.user_id == never_seen
            )
        ).all()
    assert kept == [first, first, first]

    # The bar goes back up: the flags it caught come down, and so does their date.
    bar(0.99, NOW.date())
    with app.app_context():
        today = dict(
            db.session.execute(
                sa.select(EngagementSnapshot.user_id, EngagementSnapshot.flagged_since).where(
                    EngagementSnapshot.course_id == cid, EngagementSnapshot.taken_on == NOW.date()
                )
            ).all()
        )
    assert all(today[s] is None for s in caught)
    assert today[never_seen] == first
