"""The course an actor works in, the concept map it uses, and who may manage that map.

The use cases taking an ``actor`` and a course start here: they resolve the course
within the actor's tenant, check teaching where asked, and find the course's concept map.
A map several courses share belongs to the course it was made for
(:func:`_ensure_can_manage`).
"""

from __future__ import annotations

from sqlalchemy import select

from masteryai_lti.core.errors import Forbidden, NotFound
from masteryai_lti.core.policy import Actor, course_role, ensure_can_teach, ensure_can_view_student
from masteryai_lti.courses import service as courses
from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from masteryai_lti.mastery.models import ConceptMap, CourseConceptMap


def _course(actor: Actor, course_id: int) -> Course:
    return courses.course_for_actor(actor, course_id)


def _student_course(
    actor: Actor,
    course_id: int,
    student_id: int,
    *,
    missing: str = "No such student in this course.",
) -> Course:
    """The course, for reading one of its students' records: the student themself, its
    teachers or an admin, about someone who is a student of the course (else ``missing``)."""
    course = _course(actor, course_id)
    ensure_can_view_student(actor, course, student_id)
    if not courses.is_student(course.id, student_id):
        raise NotFound(missing)
    return course


def _teachable_course(actor: Actor, course_id: int) -> Course:
    course = _course(actor, course_id)
    ensure_can_teach(actor, course)
    return course


def course_concept_map(course_id: int) -> ConceptMap | None:
    """The concept map a course uses, or None."""
    return db.session.scalar(
        select(ConceptMap)
        .join(CourseConceptMap, CourseConceptMap.concept_map_id == ConceptMap.id)
        .where(CourseConceptMap.course_id == course_id)
    )


def _ensure_can_manage(actor: Actor, course: Course, concept_map: ConceptMap) -> None:
    """Raise unless the actor may change ``concept_map`` and read its item bank.

    A graph several courses use belongs to the course it was made for: a change to it
    changes every course using it, and its items carry their answers. So teachers of
    the owning course and the institution's admins manage it; a teacher whose course
    only uses it reads the graph and practises on it (README: teachers manage the
    courses they teach). ``course`` is one the actor teaches (checked by the caller).
    """
    owner = concept_map.owner_course_id
    if actor.is_admin or owner == course.id:
        return
    if owner is not None and course_role(actor, owner) == "teacher":
        return
    raise Forbidden(
        "This course uses a concept graph shared by its owning course: only that "
        "course's teachers and the institution's admins change it or see its item bank."
    )


def may_manage(actor: Actor, course: Course, concept_map: ConceptMap) -> bool:
    """Whether the actor may change the course's map and read its item bank."""
    try:
        ensure_can_teach(actor, course)
        _ensure_can_manage(actor, course, concept_map)
    except Forbidden:
        return False
    return True


def _map_for(actor: Actor, course_id: int, *, teach: bool = False) -> tuple[Course, ConceptMap]:
    """The course's map; ``teach``: for managing it (its items, concepts, mappings)."""
    course = _teachable_course(actor, course_id) if teach else _course(actor, course_id)
    concept_map = course_concept_map(course.id)
    if concept_map is None:
        raise NotFound("This course has no concept graph yet.")
    if teach:
        _ensure_can_manage(actor, course, concept_map)
    return course, concept_map
