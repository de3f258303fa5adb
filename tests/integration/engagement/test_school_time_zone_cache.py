"""A process keeps a school's time zone for a few seconds once read (the live path must
not ask the database for it on every event), and still counts each day in the right zone:
a change made here takes effect at once, one made by another process once the kept copy
is older than ZONE_CACHE_SECONDS, and a worker's recount waits that out first."""

from __future__ import annotations

from datetime import date

from tests.integration.engagement import test_school_time_zone as zones
from tests.integration.engagement.test_school_time_zone import NEW_YORK, _days, _move, _record

# The same school as the zone tests: a course of two students, UTC until moved.
school = zones.school


def _set_zone_elsewhere(app, school, zone: str) -> None:
    """As another process would: straight into the database, no signal here."""
    with app.app_context():
        from masteryai_lti.extensions import db
        from masteryai_lti.identity.models import Institution

        db.session.get(Institution, school["id"]).time_zone = zone
        db.session.commit()


def test_a_change_made_here_counts_at_once(app, school):
    kid = school["kids"][0]
    _record(app, school, kid, "2026-12-01T12:00:00")  # the UTC zone is now kept
    _move(app, school, NEW_YORK)
    _record(app, school, kid, "2026-12-08T01:30:00")
    assert date(2026, 12, 7) in {d for _, d in _days(app, school["course_id"], "events")}


def test_a_change_made_elsewhere_counts_once_the_kept_zone_is_old(app, school, monkeypatch):
    from masteryai_lti.engagement.service import scoring_parameters

    kid = school["kids"][0]
    now = [1_000.0]
    monkeypatch.setattr(scoring_parameters.time, "monotonic", lambda: now[0])
    _record(app, school, kid, "2026-12-01T12:00:00")  # UTC read and kept
    _set_zone_elsewhere(app, school, NEW_YORK)

    _record(app, school, kid, "2026-12-08T01:30:00")
    now[0] += scoring_parameters.ZONE_CACHE_SECONDS
    _record(app, school, kid, "2026-12-09T01:30:00")

    # The 8th 01:30Z on the kept UTC day (a recount puts it right), the 9th 01:30Z on
    # New York's 8th.
    assert _days(app, school["course_id"], "events") == [
        (kid, date(2026, 12, 1)),
        (kid, date(2026, 12, 8)),
        (kid, date(2026, 12, 8)),
    ]


def test_a_workers_recount_waits_until_every_process_has_let_the_old_zone_go(
    app, school, monkeypatch
):
    from masteryai_lti.engagement.service import day_recount, scoring_parameters
    from masteryai_lti.extensions import jobs

    queued = []
    monkeypatch.setattr(jobs, "inline", False)
    monkeypatch.setattr(jobs, "enqueue", lambda func, *a, **k: queued.append((func, a, k)))
    _move(app, school, NEW_YORK)
    assert queued == [
        (
            day_recount.recount_days,
            (school["id"],),
            {"settle_seconds": scoring_parameters.ZONE_CACHE_SECONDS + 1.0},
        )
    ]


def test_inline_the_recount_runs_at_once_and_puts_an_old_zone_day_right(app, school):
    kid = school["kids"][0]
    _record(app, school, kid, "2026-12-01T12:00:00")
    _set_zone_elsewhere(app, school, NEW_YORK)
    _record(app, school, kid, "2026-12-08T01:30:00")  # counted on the kept UTC day
    with app.app_context():
        from masteryai_lti.engagement.service.day_recount import recount_days

        moved = recount_days(school["id"])
    assert moved["events_moved"] == 1
    assert _days(app, school["course_id"]) == [(kid, date(2026, 12, 1)), (kid, date(2026, 12, 7))]


def test_the_class_table_says_whose_days_it_counts(app, client, school):
    url = f"/api/v1/courses/{school['course_id']}/engagement"
    assert client.get(url, headers=school["teacher"]).get_json()["time_zone"] == "UTC"
    _move(app, school, NEW_YORK)
    assert client.get(url, headers=school["teacher"]).get_json()["time_zone"] == NEW_YORK
