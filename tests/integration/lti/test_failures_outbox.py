"""Grade passback when a drain is slow: no score is delivered twice by two drains."""

from __future__ import annotations

from datetime import timedelta

from masteryai_lti.core.clock import utcnow
from masteryai_lti.extensions import db
from masteryai_lti.lti import grading, outbox
from masteryai_lti.lti.outbox_models import ScoreOutboxEntry
from tests.integration.lti.services_support import (
    launched_course,
    lti_user,
)


def test_a_second_drain_during_a_slow_drain_delivers_each_score_once(
    app, client, services_platform, monkeypatch
):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    start = utcnow()
    # The platform takes a minute per score: the drain's clock moves on by that much
    # with every delivery (a stand-in clock; no test waits for real time).
    elapsed = {"seconds": 0}
    real_send = grading.send_score
    second_drain = {}

    def slow_send(client_, url, payload):
        answer = real_send(client_, url, payload)
        elapsed["seconds"] += 60
        if elapsed["seconds"] == 120 and not second_drain:
            # Meanwhile the cron drain starts, after the first drain's lease would have
            # run out had it claimed the whole batch at its start.
            later = start + timedelta(seconds=outbox.CLAIM_LEASE_SECONDS + 1)
            second_drain["report"] = outbox.drain_outbox(now=later, clock=lambda: later)
        return answer

    monkeypatch.setattr(grading, "send_score", slow_send)
    with app.app_context():
        ids = [
            outbox.record_score(
                resource_link_pk=link_pk,
                user_id=student.id,
                score_given=given,
                score_maximum=4,
                deliver=False,
                now=start,
            ).id
            for given in (1, 2, 3, 4)
        ]
        first = outbox.drain_outbox(
            now=start, clock=lambda: start + timedelta(seconds=elapsed["seconds"])
        )
        entries = [db.session.get(ScoreOutboxEntry, i, populate_existing=True) for i in ids]

    posted = [score["scoreGiven"] for score in platform.scores]
    assert sorted(posted) == [1.0, 2.0, 3.0, 4.0]
    assert first["sent"] + second_drain["report"]["sent"] == 4
    assert [(e.status, e.attempts) for e in entries] == [("sent", 1)] * 4
