"""Engagement counts days in the school's time zone (the institution's), not in UTC:
event days and the rollup, "today", due days, attendance; changing the zone recounts
what is stored. Over the real database (and Redis when it runs)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.factories import bearer, make_course, make_enrollment, make_institution, make_user

NEW_YORK = "America/New_York"
PROBLEM = "application/problem+json"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """Set the time the engagement service reads as "now"."""
    from masteryai_lti.engagement.service import scoring_parameters

    def set_now(moment: datetime) -> None:
        monkeypatch.setattr(scoring_parameters, "utcnow", lambda: moment)

    return set_now


@pytest.fixture
def school(app):
    """A school (UTC until a test moves it) with an admin, a teacher, a course of two
    students, and another school's admin."""
    with app.app_context():
        institution = make_institution()
        admin = make_user(institution, role="teacher", admin=True)
        teacher = make_user(institution, role="teacher")
        course = make_course(institution, teacher)
        kids = [make_user(institution, role="student") for _ in range(2)]
        for kid in kids:
            make_enrollment(course, kid)
        stranger = make_user(make_institution(), role="teacher", admin=True)
        return {
            "id": institution.id,
            "slug": institution.slug,
            "course_id": course.id,
            "kids": [k.id for k in kids],
            "admin": bearer(admin),
            "teacher": bearer(teacher),
            "stranger": bearer(stranger),
        }


def _move(app, school, zone: str) -> None:
    with app.app_context():
        from masteryai_lti.extensions import db
        from masteryai_lti.identity import service as identity
        from masteryai_lti.identity.models import Institution

        identity.set_time_zone(db.session.get(Institution, school["id"]), zone)


def _record(app, school, kid: int, *moments: str, kind: str = "resource_view") -> None:
    with app.app_context():
        from masteryai_lti.engagement import service

        service.record_events(
            school["id"],
            [
                {
                    "user_id": kid,
                    "course_id": school["course_id"],
                    "kind": kind,
                    "occurred_at": at(moment),
                    "source": "xapi",
                    "source_id": f"{kid}-{moment}",
                }
                for moment in moments
            ],
        )


def _days(app, course_id: int, model: str = "rollup") -> list[tuple[int, date]]:
    """(user, date) of the rollup rows, or of the events, of a course."""
    with app.app_context():
        from masteryai_lti.engagement.models import EngagementDay, EngagementEvent
        from masteryai_lti.extensions import db

        table = EngagementDay if model == "rollup" else EngagementEvent
        rows = db.session.execute(
            select(table.user_id, table.day).where(table.course_id == course_id)
        )
        return sorted((u, date.fromordinal(d)) for u, d in rows)


def test_an_event_counts_on_the_schools_date(app, school):
    _move(app, school, NEW_YORK)
    kid = school["kids"][0]
    _record(app, school, kid, "2026-12-08T01:30:00")
    assert _days(app, school["course_id"], "events") == [(kid, date(2026, 12, 7))]
    assert _days(app, school["course_id"]) == [(kid, date(2026, 12, 7))]


def test_one_local_evening_across_midnight_utc_is_one_active_day(app, school):
    kid = school["kids"][0]
    _move(app, school, NEW_YORK)
    # 18:30 and 19:30 in New York on the 7th; the 7th and the 8th in UTC.
    _record(app, school, kid, "2026-12-07T23:30:00", "2026-12-08T00:30:00")
    assert _days(app, school["course_id"]) == [(kid, date(2026, 12, 7))]
    with app.app_context():
        from masteryai_lti.engagement import service

        view = service.student_view(school["course_id"], kid, as_of=date(2026, 12, 10))
    attendance = next(f for f in view["factors"] if f["factor"] == "attendance")
    assert attendance["raw"] == 1
    assert view["days_since_active"] == 3


def test_as_of_is_the_schools_today(app, school, clock):
    clock(at("2026-12-08T02:00:00"))  # 21:00 on the 7th in New York
    with app.app_context():
        from masteryai_lti.engagement import service

        assert service.course_view(school["course_id"])["as_of"] == "2026-12-08"
    _move(app, school, NEW_YORK)
    with app.app_context():
        from masteryai_lti.engagement import service

        assert service.course_view(school["course_id"])["as_of"] == "2026-12-07"
        assert service.recompute_course(school["course_id"])["students"] == 2
        from masteryai_lti.engagement.models import EngagementSnapshot
        from masteryai_lti.extensions import db

        taken = set(db.session.scalars(select(EngagementSnapshot.taken_on)))
        assert taken == {date(2026, 12, 7)}


def test_a_due_date_falls_on_the_schools_date(app, school):
    _move(app, school, NEW_YORK)
    with app.app_context():
        from masteryai_lti.courses.models import Course
        from masteryai_lti.engagement import graded_items, service
        from masteryai_lti.extensions import db

        course = db.session.get(Course, school["course_id"])
        graded_items.declare_item(
            course, "essay", "submission", at("2026-12-08T03:00:00"), "Essay", "teacher"
        )
        db.session.commit()
        view = service.student_view(course.id, school["kids"][0], as_of=date(2026, 12, 10))
    assert [(w["object_id"], w["due_date"]) for w in view["missing_work"]] == [
        ("essay", "2026-12-07")
    ]


def test_an_attendance_mark_counts_on_its_session_date(app, client, school):
    _move(app, school, NEW_YORK)
    kid = school["kids"][0]
    marked = client.post(
        f"/api/v1/courses/{school['course_id']}/attendance",
        json={"marks": [{"user_id": kid, "date": "2026-12-07", "status": "present"}]},
        headers=school["teacher"],
    )
    assert marked.status_code == 201, marked.get_json()
    assert _days(app, school["course_id"]) == [(kid, date(2026, 12, 7))]


def test_a_sheets_instant_is_read_on_the_schools_date(app, client, school):
    _move(app, school, NEW_YORK)
    kid = school["kids"][1]
    sheet = f"user_id,date,status\n{kid},2026-12-08T01:30:00Z,present\n"
    imported = client.post(
        f"/api/v1/courses/{school['course_id']}/attendance/import",
        data=sheet.encode(),
        headers={**school["teacher"], "Content-Type": "text/csv"},
    )
    assert imported.status_code == 201, imported.get_json()
    with app.app_context():
        from masteryai_lti.engagement.models import AttendanceRecord
        from masteryai_lti.extensions import db

        assert db.session.scalars(select(AttendanceRecord.session_date)).all() == [
            date(2026, 12, 7)
        ]


def test_changing_the_zone_recounts_days_rollups_and_the_class_table(app, client, school, clock):
    clock(at("2026-12-10T15:00:00"))
    first, second = school["kids"]
    # In UTC: first active on the 7th and the 8th, second on the 8th.
    _record(app, school, first, "2026-12-07T23:30:00", "2026-12-08T00:30:00")
    _record(app, school, second, "2026-12-08T01:30:00", kind="quiz")
    marked = client.post(
        f"/api/v1/courses/{school['course_id']}/attendance",
        json={"marks": [{"user_id": second, "date": "2026-12-09", "status": "present"}]},
        headers=school["teacher"],
    )
    assert marked.status_code == 201
    url = f"/api/v1/courses/{school['course_id']}/engagement?sort=student_id"
    before = client.get(url, headers=school["teacher"]).get_json()
    assert [r["days_since_active"] for r in before["items"]] == [2, 1]
    assert _days(app, school["course_id"]) == [
        (first, date(2026, 12, 7)),
        (first, date(2026, 12, 8)),
        (second, date(2026, 12, 8)),
        (second, date(2026, 12, 9)),
    ]

    changed = client.patch(
        f"/api/v1/institutions/{school['id']}/settings",
        json={"time_zone": NEW_YORK},
        headers=school["admin"],
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["time_zone"] == NEW_YORK

    # The evening is one day, the quiz moved to the 7th; the session mark kept its date.
    assert _days(app, school["course_id"]) == [
        (first, date(2026, 12, 7)),
        (second, date(2026, 12, 7)),
        (second, date(2026, 12, 9)),
    ]
    with app.app_context():
        from masteryai_lti.engagement.models import EngagementDay
        from masteryai_lti.extensions import db

        quiz_day = db.session.scalar(
            select(EngagementDay.quiz).where(
                EngagementDay.user_id == second, EngagementDay.day == date(2026, 12, 7).toordinal()
            )
        )
        assert quiz_day == 1
    after = client.get(url, headers=school["teacher"]).get_json()
    assert after["as_of"] == "2026-12-10"
    assert [r["days_since_active"] for r in after["items"]] == [3, 1]

    # Back to UTC: the stored days are those of UTC again.
    _move(app, school, "UTC")
    assert _days(app, school["course_id"]) == [
        (first, date(2026, 12, 7)),
        (first, date(2026, 12, 8)),
        (second, date(2026, 12, 8)),
        (second, date(2026, 12, 9)),
    ]


def test_an_unknown_zone_is_a_422_at_time_zone_and_changes_nothing(client, school):
    url = f"/api/v1/institutions/{school['id']}/settings"
    for zone in ("Mars/Olympus_Mons", "", "../etc/passwd", 7):
        response = client.patch(url, json={"time_zone": zone}, headers=school["admin"])
        assert response.status_code == 422, zone
        assert response.mimetype == PROBLEM
        assert [e["path"] for e in response.get_json()["errors"]] == ["time_zone"]
    shown = client.get(url, headers=school["admin"])
    assert shown.status_code == 200
    assert shown.get_json()["time_zone"] == "UTC"


def test_only_the_institutions_admins_see_and_change_its_settings(client, school):
    url = f"/api/v1/institutions/{school['id']}/settings"
    for method in ("get", "patch"):
        body = {"time_zone": NEW_YORK} if method == "patch" else None
        teacher = getattr(client, method)(url, json=body, headers=school["teacher"])
        assert teacher.status_code == 403
        assert teacher.mimetype == PROBLEM
        stranger = getattr(client, method)(url, json=body, headers=school["stranger"])
        assert stranger.status_code == 404
        assert getattr(client, method)(url, json=body).status_code == 401
    assert client.get(url, headers=school["admin"]).get_json()["time_zone"] == "UTC"


def test_the_cli_sets_an_institutions_zone(app, runner, school):
    done = runner.invoke(args=["institutions", "set-time-zone", school["slug"], "Europe/Paris"])
    assert done.exit_code == 0, done.output
    refused = runner.invoke(args=["institutions", "set-time-zone", school["slug"], "Nowhere"])
    assert refused.exit_code != 0
    assert "Nowhere" in refused.output
    unknown = runner.invoke(args=["institutions", "set-time-zone", "no-such-school", "UTC"])
    assert unknown.exit_code != 0
    with app.app_context():
        from masteryai_lti.extensions import db
        from masteryai_lti.identity.models import Institution

        assert db.session.get(Institution, school["id"]).time_zone == "Europe/Paris"
