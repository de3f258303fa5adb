"""AGS grade passback through the durable outbox, against the test platform on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from masteryai_lti.core.clock import utcnow
from masteryai_lti.extensions import cache, db
from masteryai_lti.lti import outbox
from masteryai_lti.lti.outbox_models import ScoreOutboxEntry
from masteryai_lti.lti.platform_tokens import token_cache_key
from tests.integration.lti.services_support import (
    auth_for,
    launched_course,
    lti_user,
)
from tests.lti_platform_services import MEDIA_SCORE


def _post_grade(client, headers, course_id, link_pk, user_id, given=8.0, maximum=10.0, **extra):
    return client.post(
        f"/api/v1/courses/{course_id}/grade-posts",
        json={
            "resource_link_pk": link_pk,
            "user_id": user_id,
            "score_given": given,
            "score_maximum": maximum,
            **extra,
        },
        headers=headers,
    )


def test_score_is_posted_and_read_back(app, client, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher = lti_user(app, platform, "teacher")
    student = lti_user(app, platform, "student")
    headers = auth_for(app, teacher)

    response = _post_grade(client, headers, course_id, link_pk, student.id, comment="Well done")

    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "sent"
    [score] = platform.scores
    assert score["userId"] == "student-sub-1"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (8.0, 10.0)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    assert score["comment"] == "Well done"
    assert score["lineitem"] == 1
    score_requests = [r for r in platform.service_requests if r["path"].endswith("/scores?")]
    assert score_requests[0]["headers"]["Content-Type"] == MEDIA_SCORE

    results = client.get(f"/api/v1/courses/{course_id}/links/{link_pk}/results", headers=headers)

    assert results.status_code == 200, results.get_json()
    assert results.get_json() == [
        {
            "user_id": "student-sub-1",
            "result_score": 8.0,
            "result_maximum": 10.0,
            "comment": "Well done",
        }
    ]


def _entry(app, entry_id) -> ScoreOutboxEntry:
    with app.app_context():
        entry = db.session.get(ScoreOutboxEntry, entry_id)
        db.session.expunge(entry)
        return entry


def test_score_posted_while_platform_is_down_is_retried_and_lands(app, client, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    platform.down = True

    response = _post_grade(
        client, auth_for(app, lti_user(app, platform, "teacher")), course_id, link_pk, student.id
    )

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "pending" and body["attempts"] == 1
    assert "503" in body["last_error"]
    assert platform.scores == []
    entry = _entry(app, body["id"])
    first_timestamp = entry.payload["timestamp"]

    with app.app_context():
        # Not due yet: a drain right away sends nothing.
        assert outbox.drain_outbox(now=utcnow())["sent"] == 0
        # Still down at the next retry: attempt 2, a longer wait.
        retry_at = entry.next_attempt_at + timedelta(seconds=1)
        assert outbox.drain_outbox(now=retry_at) == {"sent": 0, "retrying": 1, "failed": 0}
    second = _entry(app, body["id"])
    assert second.attempts == 2
    assert second.next_attempt_at - retry_at >= timedelta(seconds=60)

    platform.down = False
    with app.app_context():
        report = outbox.drain_outbox(now=second.next_attempt_at + timedelta(seconds=1))

    assert report == {"sent": 1, "retrying": 0, "failed": 0}
    landed = _entry(app, body["id"])
    assert landed.status == "sent" and landed.attempts == 3 and landed.last_error is None
    [score] = platform.scores
    assert score["userId"] == "student-sub-1" and score["scoreGiven"] == 8.0
    # The retry carries the score's original time, not the time of delivery.
    assert score["timestamp"] == first_timestamp


def test_unreachable_platform_is_retried_after_it_comes_back(app, client, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    platform.stop()
    try:
        with app.app_context():
            entry = outbox.record_score(
                resource_link_pk=link_pk,
                user_id=student.id,
                score_given=3,
                score_maximum=4,
                deliver=False,
            )
            entry_id = entry.id
            assert outbox.drain_outbox() == {"sent": 0, "retrying": 1, "failed": 0}
        assert "unreachable" in _entry(app, entry_id).last_error
    finally:
        platform.start()  # same port: the platform comes back where it was
    later = _entry(app, entry_id).next_attempt_at + timedelta(seconds=1)
    with app.app_context():
        assert outbox.drain_outbox(now=later)["sent"] == 1
    assert [s["scoreGiven"] for s in platform.scores] == [3.0]


def test_refused_score_fails_with_reason_and_teacher_resends_it(app, client, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher = lti_user(app, platform, "teacher")
    student = lti_user(app, platform, "student")
    headers = auth_for(app, teacher)
    removed = platform.line_items.pop(1)  # the gradebook column was deleted in the LMS

    posted = _post_grade(client, headers, course_id, link_pk, student.id).get_json()

    assert posted["status"] == "failed"
    assert "404" in posted["last_error"]
    failed = client.get(
        f"/api/v1/courses/{course_id}/grade-posts",
        query_string={"status": "failed"},
        headers=headers,
    )
    assert [p["id"] for p in failed.get_json()] == [posted["id"]]
    # A sent post cannot be "resent"; only failed ones.
    platform.line_items[1] = removed
    resent = client.post(
        f"/api/v1/courses/{course_id}/grade-posts/{posted['id']}/resend", headers=headers
    )
    assert resent.status_code == 202, resent.get_json()
    assert resent.get_json()["status"] == "sent"
    assert len(platform.scores) == 1
    again = client.post(
        f"/api/v1/courses/{course_id}/grade-posts/{posted['id']}/resend", headers=headers
    )
    assert again.status_code == 409


def test_gives_up_after_max_attempts_and_keeps_the_entry(app, client, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    platform.down = True
    with app.app_context():
        entry_id = outbox.record_score(
            resource_link_pk=link_pk,
            user_id=student.id,
            score_given=1,
            score_maximum=2,
            deliver=False,
        ).id
        moment = utcnow()
        for _ in range(outbox.MAX_ATTEMPTS):
            outbox.drain_outbox(now=moment)
            moment += timedelta(seconds=outbox.MAX_RETRY_SECONDS + 60)
    entry = _entry(app, entry_id)
    assert entry.status == "failed"
    assert entry.attempts == outbox.MAX_ATTEMPTS
    assert entry.last_error.startswith(f"gave up after {outbox.MAX_ATTEMPTS} attempts")


def test_students_and_other_institutions_cannot_see_grade_posts(app, client, services_platform):
    from tests.factories import make_course, make_institution, make_user

    platform = services_platform
    course_id, _ = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    with app.app_context():
        other = make_institution()
        outsider = make_user(other, role="teacher")
        make_course(other, outsider)
    assert (
        client.get(
            f"/api/v1/courses/{course_id}/grade-posts", headers=auth_for(app, student)
        ).status_code
        == 403
    )
    assert (
        client.get(
            f"/api/v1/courses/{course_id}/grade-posts", headers=auth_for(app, outsider)
        ).status_code
        == 404
    )


def test_token_is_cached_per_scope_until_expiry_and_renewed_after_revocation(
    app, client, services_platform
):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher, student = lti_user(app, platform, "teacher"), lti_user(app, platform, "student")
    headers = auth_for(app, teacher)

    _post_grade(client, headers, course_id, link_pk, student.id, given=1.0)
    _post_grade(client, headers, course_id, link_pk, student.id, given=2.0)

    score_tokens = [r for r in platform.token_requests if r["scope"].endswith("/scope/score")]
    assert len(score_tokens) == 1, "the second score reuses the cached token"
    with app.app_context():
        registration_id = db.session.scalar(select(ScoreOutboxEntry.registration_id).limit(1))
        key = token_cache_key(
            registration_id, ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]
        )
        assert cache.get(key) in platform.issued_tokens
        if cache.client is not None:  # Redis: the TTL follows the platform's expires_in
            ttl = cache.client.ttl(cache.redis_key(key))
            assert platform.token_lifetime - 60 <= ttl <= platform.token_lifetime

    platform.issued_tokens.clear()  # the platform revokes every token
    response = _post_grade(client, headers, course_id, link_pk, student.id, given=3.0)

    assert response.get_json()["status"] == "sent"
    assert len([r for r in platform.token_requests if r["scope"].endswith("/scope/score")]) == 2
    assert [s["scoreGiven"] for s in platform.scores] == [1.0, 2.0, 3.0]
    stamps = [s["timestamp"] for s in platform.scores]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


def test_client_assertion_is_signed_with_the_newest_tool_key(app, client, services_platform):
    import jwt

    from masteryai_lti.lti import keys

    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    with app.app_context():
        keys.ensure_key()
        new_kid = keys.rotate_key().kid
        outbox.record_score(
            resource_link_pk=link_pk, user_id=student.id, score_given=5, score_maximum=5
        )
    assertion = platform.token_requests[-1]["client_assertion"]
    assert jwt.get_unverified_header(assertion)["kid"] == new_kid
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert claims["iss"] == claims["sub"] == platform.client_id
    assert claims["aud"] == platform.token_url
    assert len(platform.scores) == 1


def test_line_item_found_or_created_when_the_launch_names_none(app, client, services_platform):
    from masteryai_lti.lti.outbox_models import GradedLineItem
    from tests.lti_platform_services import SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE

    platform = services_platform
    # Other columns of the gradebook fill the first pages of the container.
    for n in range(2, 6):
        platform.line_items[n] = {"label": f"Quiz {n}", "scoreMaximum": 10, "tag": "quiz"}
    platform.line_items.pop(1)
    original = platform.ags_claim

    def no_lineitem(**kwargs):
        return original(with_lineitem=False, scopes=(SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_RESULT))

    platform.ags_claim = no_lineitem
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher, student = lti_user(app, platform, "teacher"), lti_user(app, platform, "student")
    headers = auth_for(app, teacher)

    first = _post_grade(client, headers, course_id, link_pk, student.id, given=7, maximum=20)
    second = _post_grade(client, headers, course_id, link_pk, student.id, given=9, maximum=20)

    assert first.get_json()["status"] == second.get_json()["status"] == "sent"
    created = [n for n, item in platform.line_items.items() if item.get("resourceLinkId")]
    assert len(created) == 1, "created once, then remembered"
    item = platform.line_items[created[0]]
    assert item["resourceLinkId"] == platform.resource_link_id
    assert item["label"] == "Practice" and item["scoreMaximum"] == 20.0
    assert {s["lineitem"] for s in platform.scores} == {created[0]}
    with app.app_context():
        remembered = db.session.scalar(select(GradedLineItem))
        assert remembered.lineitem_url == platform.lineitem_url(created[0])
        # A new resolution (e.g. on another worker) finds it across pages, not creating more.
        db.session.delete(remembered)
        db.session.commit()
        outbox.record_score(
            resource_link_pk=link_pk, user_id=student.id, score_given=10, score_maximum=20
        )
    assert len([i for i in platform.line_items.values() if i.get("resourceLinkId")]) == 1
    assert platform.scores[-1]["scoreGiven"] == 10.0
    results = client.get(f"/api/v1/courses/{course_id}/links/{link_pk}/results", headers=headers)
    assert results.get_json()[0]["result_score"] == 10.0


def test_results_are_read_across_pages(app, client, services_platform):
    platform = services_platform
    platform.add_members(0, role="x")
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher = lti_user(app, platform, "teacher")
    stamp = utcnow()
    for n in range(5):  # results the LMS holds from other sources, 2 per page
        platform.results[(1, f"other-{n}")] = {
            "userId": f"other-{n}",
            "resultScore": float(n),
            "resultMaximum": 10.0,
            "comment": None,
            "_timestamp": stamp,
        }

    response = client.get(
        f"/api/v1/courses/{course_id}/links/{link_pk}/results", headers=auth_for(app, teacher)
    )

    assert sorted(r["result_score"] for r in response.get_json()) == [0, 1, 2, 3, 4]
    pages = [r for r in platform.service_requests if "/results" in r["path"]]
    assert len(pages) == 3


def test_invalid_scores_are_refused_before_the_outbox(app, client, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher, student = lti_user(app, platform, "teacher"), lti_user(app, platform, "student")
    headers = auth_for(app, teacher)

    without_maximum = _post_grade(client, headers, course_id, link_pk, student.id, maximum=None)
    bad_progress = _post_grade(
        client, headers, course_id, link_pk, student.id, activity_progress="Done"
    )
    not_a_student = _post_grade(client, headers, course_id, link_pk, teacher.id)

    assert without_maximum.status_code == 422
    assert bad_progress.status_code == 422
    assert not_a_student.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(ScoreOutboxEntry.id)) is None
    assert platform.scores == []


def test_grade_posts_list_shows_the_score_and_the_teacher_page_exists(
    app, client, services_platform
):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher, student = lti_user(app, platform, "teacher"), lti_user(app, platform, "student")
    headers = auth_for(app, teacher)
    _post_grade(client, headers, course_id, link_pk, student.id, given=4, maximum=5)

    [post] = client.get(f"/api/v1/courses/{course_id}/grade-posts", headers=headers).get_json()

    assert (post["score_given"], post["score_maximum"], post["status"]) == (4.0, 5.0, "sent")
    assert post["lti_user_id"] == "student-sub-1" and post["source"] == "teacher"
    assert post["student_name"] == platform.users["student"].name  # teachers read names
    page = client.get("/lti/grade-posts")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-component="grade-posts"' in html and "/resend" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_two_drains_never_deliver_the_same_entry_twice(app, client, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    with app.app_context():
        entry_id = outbox.record_score(
            resource_link_pk=link_pk,
            user_id=student.id,
            score_given=1,
            score_maximum=1,
            deliver=False,
        ).id
        now = utcnow()
        assert outbox.claim([entry_id], now) == [entry_id]
        # A second worker sees the entry leased, not due.
        assert outbox.claim([entry_id], now) == []
        assert outbox.drain_outbox(now=now) == {"sent": 0, "retrying": 0, "failed": 0}
        # The lease runs out (the first worker died): it is delivered once.
        later = now + timedelta(seconds=outbox.CLAIM_LEASE_SECONDS + 1)
        assert outbox.drain_outbox(now=later)["sent"] == 1
        assert outbox.drain_outbox(now=later + timedelta(hours=1))["sent"] == 0
    assert len(platform.scores) == 1


@pytest.mark.redis
def test_scores_are_drained_by_an_rq_worker_when_redis_is_configured(
    app, make_app, client, services_platform
):
    from rq import SimpleWorker

    from masteryai_lti.extensions import jobs
    from tests.conftest import REDIS_URL

    if not REDIS_URL:
        pytest.skip("needs Redis")
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    queued_app = make_app(JOBS_INLINE=False)
    try:
        with queued_app.app_context():
            jobs.queue.empty()
            entry = outbox.record_score(
                resource_link_pk=link_pk, user_id=student.id, score_given=2, score_maximum=3
            )
            assert entry.status == "pending" and platform.scores == []
            assert jobs.queue.count == 1
            SimpleWorker([jobs.queue], connection=jobs.queue.connection).work(burst=True)
            db.session.expire_all()
            assert db.session.get(ScoreOutboxEntry, entry.id).status == "sent"
        assert [s["scoreGiven"] for s in platform.scores] == [2.0]
    finally:
        # ``jobs`` is a module global that make_app re-bound: give it back to the test app.
        jobs.init_app(app)


def test_one_unavailable_platform_costs_one_attempt_per_drain(app, client, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    platform.down = True
    with app.app_context():
        ids = [
            outbox.record_score(
                resource_link_pk=link_pk,
                user_id=student.id,
                score_given=n,
                score_maximum=5,
                deliver=False,
            ).id
            for n in range(4)
        ]
        assert outbox.drain_outbox() == {"sent": 0, "retrying": 4, "failed": 0}
    entries = [_entry(app, i) for i in ids]
    assert [e.attempts for e in entries] == [1, 0, 0, 0]
    assert len({e.next_attempt_at for e in entries}) == 1
    assert entries[1].last_error.startswith("not attempted")
    # Only the first entry's token request reached the dead platform.
    assert platform.refused_while_down == 1
    platform.down = False
    with app.app_context():
        later = entries[0].next_attempt_at + timedelta(seconds=1)
        assert outbox.drain_outbox(now=later) == {"sent": 4, "retrying": 0, "failed": 0}
    assert [s["scoreGiven"] for s in platform.scores] == [0.0, 1.0, 2.0, 3.0]


def test_drain_outbox_command_delivers_due_scores(app, client, runner, services_platform):
    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    with app.app_context():
        outbox.record_score(
            resource_link_pk=link_pk,
            user_id=student.id,
            score_given=6,
            score_maximum=6,
            deliver=False,
        )

    result = runner.invoke(args=["lti", "drain-outbox"])

    assert result.exit_code == 0, result.output
    assert "sent 1, retrying 0, failed 0" in result.output
    assert [s["scoreGiven"] for s in platform.scores] == [6.0]


def test_moodle_style_line_item_urls_keep_their_query(app, client, services_platform):
    platform = services_platform
    platform.lineitem_query = "?type_id=2"
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher, student = lti_user(app, platform, "teacher"), lti_user(app, platform, "student")
    headers = auth_for(app, teacher)

    _post_grade(client, headers, course_id, link_pk, student.id, given=9)
    results = client.get(f"/api/v1/courses/{course_id}/links/{link_pk}/results", headers=headers)

    paths = [r["path"] for r in platform.service_requests if "/lineitems/1/" in r["path"]]
    assert "/ags/course-ctx-1/lineitems/1/scores?type_id=2" in paths
    assert "/ags/course-ctx-1/lineitems/1/results?type_id=2" in paths
    assert results.get_json()[0]["result_score"] == 9.0


def test_an_entry_that_raises_does_not_stall_the_others(
    app, client, services_platform, monkeypatch
):
    from masteryai_lti.lti import grading

    platform = services_platform
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    student = lti_user(app, platform, "student")
    real_send = grading.send_score

    def send_or_explode(client_, url, payload):
        if payload["scoreGiven"] == 1.0:
            raise RuntimeError("bug in a payload")
        return real_send(client_, url, payload)

    monkeypatch.setattr(grading, "send_score", send_or_explode)
    with app.app_context():
        poisoned, healthy = (
            outbox.record_score(
                resource_link_pk=link_pk,
                user_id=student.id,
                score_given=given,
                score_maximum=2,
                deliver=False,
            ).id
            for given in (1, 2)
        )
        assert outbox.drain_outbox() == {"sent": 1, "retrying": 1, "failed": 0}
    entry = _entry(app, poisoned)
    assert entry.status == "pending" and entry.attempts == 1
    assert entry.last_error == "internal error: RuntimeError: bug in a payload"
    assert _entry(app, healthy).status == "sent"


def test_the_platforms_own_column_for_the_link_is_used_when_the_launch_names_none(
    app, client, services_platform
):
    """A launch with lineitems but no lineitem, while the platform already keeps a column
    for the link (its own tag, not ours): scores go there, no second column appears."""
    from tests.lti_platform_services import SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE

    platform = services_platform
    original = platform.ags_claim
    platform.ags_claim = lambda **kwargs: original(
        with_lineitem=False, scopes=(SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_RESULT)
    )
    assert platform.line_items[1]["tag"] == "platform"
    course_id, link_pk = launched_course(app, client, platform, "teacher", "student")
    teacher, student = lti_user(app, platform, "teacher"), lti_user(app, platform, "student")

    sent = _post_grade(client, auth_for(app, teacher), course_id, link_pk, student.id, 7, 20)

    assert sent.get_json()["status"] == "sent"
    assert list(platform.line_items) == [1]
    assert {s["lineitem"] for s in platform.scores} == {1}
