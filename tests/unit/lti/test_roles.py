"""LTI role URIs → teacher / student / admin (DESIGN.md section 3)."""

from __future__ import annotations

import pytest

from masteryai_lti.lti.roles import TEST_USER, map_roles

M = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INST = "http://purl.imsglobal.org/vocab/lis/v2/institution/person"
S = "http://purl.imsglobal.org/vocab/lis/v2/system/person"


@pytest.mark.parametrize(
    "roles, course_role, user_role",
    [
        ([f"{M}#Instructor"], "teacher", "teacher"),
        ([f"{M}/Instructor#TeachingAssistant"], "teacher", "teacher"),
        ([f"{M}#TeachingAssistant"], "teacher", "teacher"),
        ([f"{M}#ContentDeveloper"], "teacher", "teacher"),
        ([f"{M}#Learner"], "student", "student"),
        ([f"{M}/Learner#Learner"], "student", "student"),
        (["Instructor"], "teacher", "teacher"),
        (["Learner"], "student", "student"),
        ([f"{INST}#Administrator"], "teacher", "admin"),
        ([f"{S}#Administrator", f"{M}#Learner"], "teacher", "admin"),
        ([f"{INST}#Student", f"{M}#Learner"], "student", "student"),
        # Parents and mentors (Canvas observers) follow a student; they are not one.
        ([f"{M}#Mentor"], "observer", "observer"),
        ([f"{M}#Mentor", f"{M}#Learner"], "student", "student"),
        ([f"{M}#Mentor", f"{M}#Instructor"], "teacher", "teacher"),
        ([], "student", "student"),
        (None, "student", "student"),
    ],
)
def test_role_mapping(roles, course_role, user_role):
    mapped = map_roles(roles)

    assert (mapped.course_role, mapped.user_role) == (course_role, user_role)


def test_institution_student_role_is_not_mistaken_for_a_teacher():
    # Canvas sends institution roles next to context roles; only context roles count.
    assert map_roles([f"{INST}#Instructor", f"{M}#Learner"]).course_role == "student"


@pytest.mark.parametrize(
    "roles, course_role, is_test_user",
    [
        # Canvas's Student View: Learner plus the TestUser marker.
        ([f"{M}#Learner", TEST_USER], "student", True),
        ([f"{M}#Learner"], "student", False),
        # The marker alone still gives the least privilege, and is kept.
        ([TEST_USER], "student", True),
        # A teacher is a teacher, marker or not: only a student can be a preview.
        ([f"{M}#Instructor", TEST_USER], "teacher", False),
    ],
)
def test_the_platforms_test_user_is_marked(roles, course_role, is_test_user):
    mapped = map_roles(roles)

    assert (mapped.course_role, mapped.is_test_user) == (course_role, is_test_user)
