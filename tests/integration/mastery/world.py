"""A small school for the mastery integration tests: graph, items, roster, outsiders."""

from __future__ import annotations

from dataclasses import dataclass

from tests.factories import bearer, make_course, make_enrollment, make_institution, make_user

PROBLEM = "application/problem+json"

GRAPH = {
    "concepts": [
        {"key": "add", "name": "Addition", "prerequisites": []},
        {"key": "mul", "name": "Multiplication", "prerequisites": ["add"]},
        {"key": "frac", "name": "Fractions", "prerequisites": ["mul"]},
        {"key": "geo", "name": "Geometry", "prerequisites": []},
    ]
}


@dataclass
class World:
    course_id: int
    other_course_id: int
    foreign_course_id: int
    teacher: dict
    student: dict
    student_id: int
    classmate: dict
    classmate_id: int
    other_teacher: dict
    outsider: dict
    admin: dict
    foreign_student: dict


def build_world(app) -> World:
    """Institution with a teacher, two students, an admin, a second course and teacher;
    a foreign institution with its own teacher, course and student."""
    with app.app_context():
        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        student = make_user(school, role="student", full_name="Ada")
        classmate = make_user(school, role="student", full_name="Bea")
        make_enrollment(course, student)
        make_enrollment(course, classmate)
        other_teacher = make_user(school, role="teacher")
        other_course = make_course(school, other_teacher)
        admin = make_user(school, role="admin")
        foreign = make_institution()
        outsider = make_user(foreign, role="teacher")
        foreign_course = make_course(foreign, outsider)
        foreign_student = make_user(foreign, role="student")
        make_enrollment(foreign_course, foreign_student)
        return World(
            course_id=course.id,
            other_course_id=other_course.id,
            foreign_course_id=foreign_course.id,
            teacher=bearer(teacher),
            student=bearer(student),
            student_id=student.id,
            classmate=bearer(classmate),
            classmate_id=classmate.id,
            other_teacher=bearer(other_teacher),
            outsider=bearer(outsider),
            admin=bearer(admin),
            foreign_student=bearer(foreign_student),
        )


def seed_graph(client, world: World) -> None:
    response = client.put(
        f"/api/v1/courses/{world.course_id}/concept-graph",
        json={"document": GRAPH},
        headers=world.teacher,
    )
    assert response.status_code == 200, response.get_json()


def seed_items(client, world: World, per_concept: int = 6) -> dict[str, list[int]]:
    """Numeric items whose answer is the item's index, spread easy -> hard per concept."""
    labels = ["easy", "easy", "medium", "medium", "hard", "hard"]
    ids: dict[str, list[int]] = {}
    for concept in ("add", "mul", "frac", "geo"):
        for i in range(per_concept):
            response = client.post(
                f"/api/v1/courses/{world.course_id}/items",
                json={
                    "key": f"{concept}-{i}",
                    "kind": "numeric",
                    "prompt": f"{concept} question {i}",
                    "concepts": [concept],
                    "difficulty_label": labels[i % len(labels)],
                    "answer": {"value": i, "tolerance": 0},
                },
                headers=world.teacher,
            )
            assert response.status_code == 201, response.get_json()
            ids.setdefault(concept, []).append(response.get_json()["id"])
    return ids
