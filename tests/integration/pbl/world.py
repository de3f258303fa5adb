"""A class for the PBL integration tests: a teacher, four students, outsiders."""

from __future__ import annotations

from dataclasses import dataclass

from tests.factories import bearer, make_course, make_enrollment, make_institution, make_user

PROBLEM = "application/problem+json"
# The default rubric's top level on each criterion.
TOP = {"communication": 4, "collaboration": 4, "problem_solving": 4}


@dataclass
class World:
    course_id: int
    other_course_id: int
    foreign_course_id: int
    teacher: dict
    teacher_id: int
    co_teacher: dict
    students: list[dict]
    student_ids: list[int]
    other_teacher: dict
    other_course_student_id: int
    admin: dict
    outsider: dict

    def url(self, path: str = "", course_id: int | None = None) -> str:
        return f"/api/v1/courses/{course_id or self.course_id}/projects{path}"


def build_world(app) -> World:
    """Institution with a course (teacher, co-teacher, students Ada, Bea, Cal, Dee), a
    second course with its own teacher and student, an admin; a foreign institution."""
    with app.app_context():
        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        co_teacher = make_user(school, role="teacher")
        make_enrollment(course, co_teacher, "teacher")
        students = [make_user(school, full_name=name) for name in ("Ada", "Bea", "Cal", "Dee")]
        for s in students:
            make_enrollment(course, s)
        other_teacher = make_user(school, role="teacher")
        other_course = make_course(school, other_teacher)
        other_student = make_user(school)
        make_enrollment(other_course, other_student)
        admin = make_user(school, role="admin", admin=True)
        foreign = make_institution()
        outsider = make_user(foreign, role="teacher")
        foreign_course = make_course(foreign, outsider)
        return World(
            course_id=course.id,
            other_course_id=other_course.id,
            foreign_course_id=foreign_course.id,
            teacher=bearer(teacher),
            teacher_id=teacher.id,
            co_teacher=bearer(co_teacher),
            students=[bearer(s) for s in students],
            student_ids=[s.id for s in students],
            other_teacher=bearer(other_teacher),
            other_course_student_id=other_student.id,
            admin=bearer(admin),
            outsider=bearer(outsider),
        )


def create_project(client, world: World, **fields) -> dict:
    body = {"title": "Build a bridge", **fields}
    response = client.post(world.url(), json=body, headers=world.teacher)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_group(client, world: World, project_id: int, name: str, members: list[int]) -> dict:
    response = client.post(
        world.url(f"/{project_id}/groups"),
        json={"name": name, "member_ids": members},
        headers=world.teacher,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()
