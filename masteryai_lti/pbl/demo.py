"""Demo content for project-based learning: one project already marked and released, and
one under way, so the teacher's and the students' project views show something on first
run. Idempotent: a course with projects is left alone.

The demo's absent students (every tenth, see ``engagement.demo``) are placed in groups
but do nothing, as they do nowhere else: they rate nobody and add no evidence.

The sandbox LMS's student is one of the demo's (``demo.SANDBOX_STUDENT``). In the open
project their teammates have rated them and added evidence, and they have rated nobody
yet, so their first launch shows a group, ratings waiting to be given and work handed
in; the closed project has their released score.
"""

from __future__ import annotations

import random

from sqlalchemy import select

from masteryai_lti.core.policy import Actor
from masteryai_lti.demo import SANDBOX_STUDENT
from masteryai_lti.extensions import db
from masteryai_lti.pbl import service
from masteryai_lti.pbl.models import Project

GROUP_SIZE = 5
LEVELS = (1, 2, 3, 4)
NOTES = (
    "Measured the plot with a trundle wheel: 12.4 m by 7.9 m.",
    "Compared three seed suppliers; the cheapest is not the one with the best germination.",
    "Split the budget sheet: two of us on plants, two on tools and soil.",
)


def _student_actor(user) -> Actor:
    return Actor(user.id, user.institution_id, "student")


def _absent(index: int) -> bool:
    # The same students the engagement demo leaves out: student10, student20, student30.
    return (index + 1) % 10 == 0


def _sandbox_student(user) -> bool:
    return user.email == SANDBOX_STUDENT["email"]


def _rate_teammates(rng, project, members, course_id, *, sandbox_rates: bool = True) -> None:
    for index, rater in members:
        if _absent(index) or (_sandbox_student(rater) and not sandbox_rates):
            continue
        # Each student has a usual effort; teammates rate it with a little noise.
        for other_index, ratee in members:
            if ratee.id == rater.id:
                continue
            effort = 1 if _absent(other_index) else 2 + (other_index % 3)
            level = min(4, max(1, effort + rng.choice((-1, 0, 0, 1))))
            service.rate_peer(
                _student_actor(rater),
                course_id,
                project.id,
                ratee.id,
                ratings={
                    key: level for key in ("communication", "collaboration", "problem_solving")
                },
            )


def _evaluate(rng, teacher, course_id, project, group_id) -> None:
    service.evaluate_group(
        teacher,
        course_id,
        project.id,
        group_id,
        ratings={
            key: rng.choice(LEVELS[1:])
            for key in ("communication", "collaboration", "problem_solving")
        },
        comment="Clear plan; show your sources next time.",
    )


def seed_demo(summary) -> None:
    """Give the demo course a released project and an open one, in groups of five."""
    course = summary.course
    if db.session.scalar(select(Project.id).where(Project.course_id == course.id)) is not None:
        return
    rng = random.Random(7)
    teacher = Actor(summary.teacher.id, summary.institution.id, "teacher", is_admin=True)
    students = list(enumerate(summary.students))
    groups = [students[i : i + GROUP_SIZE] for i in range(0, len(students), GROUP_SIZE)]

    finished = service.create_project(
        teacher,
        course.id,
        title="Survey the school garden",
        description="Measure the garden, map what grows where and present it to the class.",
        status="open",
        non_submission_penalty=0.1,
    )
    for number, members in enumerate(groups, start=1):
        group = service.create_group(
            teacher,
            course.id,
            finished.id,
            name=f"Team {number}",
            member_ids=[user.id for _, user in members],
        )
        _rate_teammates(rng, finished, members, course.id)
        _evaluate(rng, teacher, course.id, finished, group.id)
    service.update_project(teacher, course.id, finished.id, {"status": "closed"})
    service.release_scores(teacher, course.id, finished.id)

    current = service.create_project(
        teacher,
        course.id,
        title="Plan a garden on a budget of 300",
        description=(
            "Choose plants, soil and tools for the empty bed by the gym within 300, "
            "and explain your choices with evidence."
        ),
        status="open",
    )
    for number, members in enumerate(groups, start=1):
        service.create_group(
            teacher,
            course.id,
            current.id,
            name=f"Team {number}",
            member_ids=[user.id for _, user in members],
        )
        # The note comes from the first member other than the sandbox's student: what
        # that student sees on first launch is their teammates' work.
        author_index, author = next((m for m in members if not _sandbox_student(m[1])), members[0])
        if not _absent(author_index):
            service.add_evidence(
                _student_actor(author),
                course.id,
                current.id,
                kind="note",
                title="Progress log",
                note=NOTES[number % len(NOTES)],
                criterion_key="problem_solving",
            )
        # The first two teams have started rating each other; the rest have not yet.
        if number <= 2:
            _rate_teammates(rng, current, members, course.id, sandbox_rates=False)
