"""Benchmark: a project's scores for a large course, on PostgreSQL + Redis.

A course of ``--students`` students in groups of ``--group-size``; every member rates
every teammate on the default rubric and one teacher evaluates each group (rows written
directly: the set-up is not what is measured). Then, through the app's REST API:

- the teacher's scores table (``GET .../scores``: every group's score, every member's
  peer-moderated score and explanation), 20 requests;
- one student's own score (``GET .../scores`` as a student), 50 requests;
- releasing the scores (``POST .../scores/release``), 3 times, the project placed in
  the course's LMS with a graded link every student has launched: each release queues
  every student's score in the grade outbox (the delivery job is queued in Redis, not
  run: what is measured is the release, not the LMS);
- the pure engine alone on the same ratings (``scoring.individual_scores`` per group).

Usage (defaults: a scratch database ``masteryai_bench_pbl``, Redis db 8)::

    python bench/pbl.py [--students 1000] [--group-size 4]
        [--database-url postgresql://postgres@127.0.0.1:5432/masteryai_bench_pbl]
        [--redis-url redis://127.0.0.1:6379/8]
"""

from __future__ import annotations

import argparse
import os
import platform as host
import random
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.scratch_database import add_scratch_arguments, drop_database, fresh_app  # noqa: E402

CRITERIA = ("communication", "collaboration", "problem_solving")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def build(app, students: int, group_size: int):
    """The course, its teacher and students, and a project rated and evaluated in full."""
    from masteryai_lti.core.clock import utcnow
    from masteryai_lti.courses.models import Course, Enrollment
    from masteryai_lti.extensions import db
    from masteryai_lti.identity.models import Institution, User
    from masteryai_lti.pbl import scoring
    from masteryai_lti.pbl.models import (
        GroupEvaluation,
        GroupMember,
        PeerEvaluation,
        Project,
        ProjectGroup,
    )
    from tests.factories import bearer

    rng = random.Random(11)
    with app.app_context():
        school = Institution(name="Bench school", slug="bench")
        db.session.add(school)
        db.session.flush()
        now = utcnow()

        def user(n: int, role: str) -> User:
            return User(
                institution_id=school.id,
                email=f"{role}{n}@bench.example",
                password_hash="x",
                full_name=f"{role.title()} {n}",
                role=role,
            )

        teacher = user(0, "teacher")
        learners = [user(n, "student") for n in range(students)]
        db.session.add_all([teacher, *learners])
        db.session.flush()
        course = Course(institution_id=school.id, title="Bench course", join_code="BENCHPBL")
        db.session.add(course)
        db.session.flush()
        db.session.add_all(
            Enrollment(
                institution_id=school.id,
                course_id=course.id,
                user_id=u.id,
                role="teacher" if u is teacher else "student",
            )
            for u in [teacher, *learners]
        )
        project = Project(
            institution_id=school.id,
            course_id=course.id,
            title="Bench project",
            status="closed",
            rubric=scoring.rubric_to_dict(scoring.default_rubric()),
            peer_weight=0.5,
            non_submission_penalty=0.1,
        )
        db.session.add(project)
        db.session.flush()
        groups = [learners[i : i + group_size] for i in range(0, len(learners), group_size)]
        for number, members in enumerate(groups):
            group = ProjectGroup(institution_id=school.id, project_id=project.id, name=f"G{number}")
            db.session.add(group)
            db.session.flush()
            common = {"institution_id": school.id, "project_id": project.id, "group_id": group.id}
            db.session.add_all(GroupMember(**common, user_id=u.id) for u in members)
            db.session.add(
                GroupEvaluation(
                    **common,
                    evaluator_id=teacher.id,
                    ratings={c: rng.randint(2, 4) for c in CRITERIA},
                    created_at=now,
                    updated_at=now,
                )
            )
            for rater in members:
                for ratee in members:
                    if rater is not ratee:
                        db.session.add(
                            PeerEvaluation(
                                **common,
                                rater_id=rater.id,
                                ratee_id=ratee.id,
                                ratings={c: rng.randint(1, 4) for c in CRITERIA},
                                created_at=now,
                                updated_at=now,
                            )
                        )
        _place_in_the_lms(school.id, course.id, project.id, learners)
        db.session.commit()
        return course.id, project.id, bearer(teacher), bearer(learners[0]), len(groups)


def _place_in_the_lms(institution_id: int, course_id: int, project_id: int, learners) -> None:
    """A platform, a graded link placing the project, and an LMS identity per student."""
    from masteryai_lti.extensions import db
    from masteryai_lti.identity import service as identity
    from masteryai_lti.lti.models import LtiRegistration, ResourceLink

    issuer = "https://lms.bench.example"
    registration = LtiRegistration(
        institution_id=institution_id,
        issuer=issuer,
        client_id="bench",
        auth_login_url=issuer + "/auth",
    )
    db.session.add(registration)
    db.session.flush()
    # Never contacted: the delivery job is queued, not run.
    lineitem = issuer + "/ags/lineitems/1"
    db.session.add(
        ResourceLink(
            institution_id=institution_id,
            registration_id=registration.id,
            deployment_id="bench",
            course_id=course_id,
            resource_link_id="rl-bench-project",
            title="Bench project",
            target={"kind": "project", "id": str(project_id)},
            ags_endpoint={
                "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
                "lineitem": lineitem,
            },
            ags_lineitem_url=lineitem,
        )
    )
    identity.link_new_identities(
        institution_id, [(u.id, "lti", f"{issuer}|sub-{n}") for n, u in enumerate(learners)]
    )


def _queued_scores(app) -> int:
    """Scores the releases queued; empties the job queue the releases filled."""
    from sqlalchemy import func, select

    from masteryai_lti.extensions import db, jobs
    from masteryai_lti.lti.outbox_models import ScoreOutboxEntry

    with app.app_context():
        if jobs.queue is not None:
            jobs.queue.empty()
        return db.session.scalar(select(func.count()).select_from(ScoreOutboxEntry))


def engine_alone(app, project_id: int) -> float:
    """Seconds for the pure engine to score every group from ratings already in memory."""
    from sqlalchemy import select

    from masteryai_lti.extensions import db
    from masteryai_lti.pbl import scoring
    from masteryai_lti.pbl.models import GroupEvaluation, GroupMember, PeerEvaluation, Project

    with app.app_context():
        project = db.session.get(Project, project_id)
        rubric = scoring.parse_rubric(project.rubric)
        members: dict[int, list[int]] = {}
        for group_id, user_id in db.session.execute(
            select(GroupMember.group_id, GroupMember.user_id).where(
                GroupMember.project_id == project_id
            )
        ):
            members.setdefault(group_id, []).append(user_id)
        teacher = {
            e.group_id: e.ratings
            for e in db.session.scalars(
                select(GroupEvaluation).where(GroupEvaluation.project_id == project_id)
            )
        }
        peers: dict[int, list] = {}
        for p in db.session.scalars(
            select(PeerEvaluation).where(PeerEvaluation.project_id == project_id)
        ):
            peers.setdefault(p.group_id, []).append((p.rater_id, p.ratee_id, p.ratings))
        settings = scoring.ModerationSettings(non_submission_penalty=0.1)
    start = time.perf_counter()
    for group_id, ids in members.items():
        group = scoring.group_score(rubric, [teacher[group_id]]).score
        ratings = [
            scoring.PeerRating(r, e, scoring.rubric_score(rubric, given).score)
            for r, e, given in peers.get(group_id, [])
        ]
        scoring.individual_scores(group, ids, ratings, settings)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    add_scratch_arguments(parser, "masteryai_bench_pbl")
    args = parser.parse_args()

    app = fresh_app(args.database_url, args.redis_url, jobs_inline=False)
    from masteryai_lti.extensions import jobs

    # Jobs go to Redis and stay there: the release is measured, not the LMS.
    app.config["JOBS_INLINE"] = False
    jobs.init_app(app)
    course_id, project_id, teacher, student, groups = build(app, args.students, args.group_size)
    client = app.test_client()
    base = f"/api/v1/courses/{course_id}/projects/{project_id}"
    peer_rows = groups * args.group_size * (args.group_size - 1)

    def timed(method: str, path: str, headers: dict, runs: int) -> list[float]:
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.open(base + path, method=method, headers=headers)
            seconds.append(time.perf_counter() - start)
            assert response.status_code == 200, response.get_data()[:300]
        return seconds

    table = timed("GET", "/scores", teacher, 20)
    release = timed("POST", "/scores/release", teacher, 3)
    own = timed("GET", "/scores", student, 50)
    queued = _queued_scores(app)
    engine = min(engine_alone(app, project_id) for _ in range(3))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[0]
    print(
        f"PBL scores: {args.students} students in {groups} groups of {args.group_size}, "
        f"{peer_rows} peer ratings, {groups} teacher evaluations"
    )
    print(
        f"conditions: {host.python_implementation()} {host.python_version()}, "
        f"{os.cpu_count()} cores, load average {load}, PostgreSQL at {args.database_url}"
    )
    print(
        f"teacher's scores table: median {statistics.median(table) * 1000:.0f} ms, "
        f"p95 {_percentile(table, 0.95) * 1000:.0f} ms (20 requests)"
    )
    print(
        f"a student's own score: median {statistics.median(own) * 1000:.1f} ms, "
        f"p95 {_percentile(own, 0.95) * 1000:.1f} ms (50 requests)"
    )
    print(
        f"release to the gradebook: best {min(release) * 1000:.0f} ms, "
        f"median {statistics.median(release) * 1000:.0f} ms (3 runs; "
        f"{queued // len(release)} scores queued in the outbox per release)"
    )
    print(f"pure engine, every group: best {engine * 1000:.0f} ms (3 runs)")
    print(f"peak RSS {peak:.0f} MB")
    if not args.keep:
        from masteryai_lti.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(args.database_url)


if __name__ == "__main__":
    main()
