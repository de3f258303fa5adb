"""LTI role URIs to this tool's roles (DESIGN.md section 3). Pure: no Flask, no database."""

from __future__ import annotations

from dataclasses import dataclass

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"

# LTI 1.3 core §A.2.3 context roles, with their sub-roles (…/Instructor#TeachingAssistant).
_TEACHER_CONTEXT_ROLES = ("Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator")
_STUDENT_CONTEXT_ROLES = ("Learner",)
# Parents and mentors (Canvas observers, Moodle's parent role): they follow a
# student, they are not one, so they must not join the class as learners.
_OBSERVER_CONTEXT_ROLES = ("Mentor",)
# §A.2.1 and §A.2.2: system and institution Administrator.
_ADMIN_ROLES = (
    LIS + "system/person#Administrator",
    LIS + "institution/person#Administrator",
    LIS + "system/person#SysAdmin",
)
# §A.2.4: a user the platform made for testing, next to a real role; Canvas gives it
# (with Learner) to the teacher's Student View student, in launches and rosters.
TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"


@dataclass(frozen=True)
class MappedRole:
    """The course role a launch gives (teacher, student or observer), whether the
    person is an admin, and whether the platform made them for testing (a teacher's
    student preview). Observers are never enrolled."""

    course_role: str
    is_admin: bool
    is_test_user: bool = False

    @property
    def user_role(self) -> str:
        """The global role to record on the user."""
        return "admin" if self.is_admin else self.course_role


def _context_role_name(role: str) -> str | None:
    # Full URIs: …/membership#Instructor or …/membership/Instructor#TeachingAssistant;
    # LTI 1.3 also allows the bare short names ("Instructor").
    if role.startswith(LIS + "membership"):
        return role.rsplit("#", 1)[-1] if "#" in role else role.rsplit("/", 1)[-1]
    if "/" not in role and "#" not in role:
        return role
    return None


def map_roles(roles: list[str] | None) -> MappedRole:
    """Instructor, TeachingAssistant, ContentDeveloper → teacher; Learner → student;
    Mentor without Learner → observer; institution/system Administrator → admin of the
    institution (and teacher in the course). The TestUser marker keeps the role it
    comes with and sets ``is_test_user``.

    A launch with no recognised role is treated as a student: the least privilege.
    """
    roles = [r.strip() for r in roles or [] if isinstance(r, str)]
    is_admin = any(r in _ADMIN_ROLES for r in roles)
    names = {_context_role_name(r) for r in roles} - {None}
    if is_admin or names & set(_TEACHER_CONTEXT_ROLES):
        return MappedRole("teacher", is_admin)
    if names & set(_OBSERVER_CONTEXT_ROLES) and not names & set(_STUDENT_CONTEXT_ROLES):
        return MappedRole("observer", False)
    return MappedRole("student", False, is_test_user=TEST_USER in roles)
