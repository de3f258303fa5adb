"""The teacher downloads a project's scores table as CSV (``GET …/scores?format=csv``).

One row per member of each group (a member who left the course: left_course yes, no
scores), then each student in no group; UTF-8 with a byte order mark (for Excel); no
cell a spreadsheet would run as a formula. Students keep their own score as JSON only.
"""

from __future__ import annotations

import csv
import io

import pytest

from masteryai_lti.courses.models import Course
from masteryai_lti.extensions import db
from tests.factories import make_enrollment, make_user
from tests.integration.pbl.world import PROBLEM, TOP, create_group, create_project

WEAK = {"communication": 1, "collaboration": 1, "problem_solving": 1}
FAIR = {"communication": 3, "collaboration": 3, "problem_solving": 3}
COLUMNS = [
    "group",
    "student",
    "student_id",
    "email",
    "left_course",
    "group_score",
    "score",
    "contribution_factor",
    "released",
    "explanation",
]


def _student(app, world, name: str) -> int:
    with app.app_context():
        course = db.session.get(Course, world.course_id)
        user = make_user(full_name=name)
        user.institution_id = course.institution_id
        make_enrollment(course, user)
        return user.id


def _rate(client, world, project, rater_index, ratee_id, ratings):
    response = client.put(
        world.url(f"/{project['id']}/peer-ratings/{ratee_id}"),
        json={"ratings": ratings},
        headers=world.students[rater_index],
    )
    assert response.status_code == 200, response.get_json()


def _sheet(client, world, project, who=None):
    response = client.get(
        world.url(f"/{project['id']}/scores?format=csv"), headers=who or world.teacher
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def _rows(response) -> list[dict]:
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "a byte order mark, for Excel"
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == COLUMNS
    return list(reader)


@pytest.fixture
def rated(client, world):
    """Red: Ada, Bea, Cal; Ada and Bea rate Cal weak, each other well; Cal rates nobody.
    The teacher marks Red 75. Dee is in no group."""
    project = create_project(client, world, title="Pont d'Avignon: été 2026", status="open")
    ada, bea, cal, _ = world.student_ids
    red = create_group(client, world, project["id"], "Red", [ada, bea, cal])
    _rate(client, world, project, 0, bea, TOP)
    _rate(client, world, project, 0, cal, WEAK)
    _rate(client, world, project, 1, ada, TOP)
    _rate(client, world, project, 1, cal, WEAK)
    evaluated = client.put(
        world.url(f"/{project['id']}/groups/{red['id']}/evaluation"),
        json={"ratings": FAIR},
        headers=world.teacher,
    )
    assert evaluated.status_code == 200
    return project, red


def _email(app, user_id: int) -> str:
    from masteryai_lti.identity.models import User

    with app.app_context():
        return db.session.get(User, user_id).email


def test_the_sheet_holds_the_table_the_teacher_reads(app, client, world, rated):
    project, red = rated
    ada, bea, cal, dee = world.student_ids
    response = _sheet(client, world, project)
    assert response.mimetype == "text/csv"
    assert response.mimetype_params == {"charset": "utf-8"}
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="pont-d-avignon-ete-2026-scores.csv"'
    )
    rows = _rows(response)
    table = client.get(world.url(f"/{project['id']}/scores"), headers=world.teacher).get_json()
    (group,) = table["groups"]
    assert [int(r["student_id"]) for r in rows] == [ada, bea, cal, dee]
    for row, member in zip(rows[:3], group["members"], strict=True):
        assert row["group"] == "Red"
        assert row["student"] == member["name"]
        assert row["email"] == _email(app, int(row["student_id"]))
        assert row["left_course"] == "no"
        assert float(row["group_score"]) == group["group_score"]["score"] == 75
        assert float(row["score"]) == member["score"]
        assert row["contribution_factor"] == f"{member['contribution_factor']:.2f}"
        assert row["released"] == "no"
        assert row["explanation"] == member["explanation"]
    assert rows[2]["contribution_factor"] == "0.40" and rows[0]["contribution_factor"] == "1.60"
    assert rows[3] == {
        "group": "",
        "student": "Dee",
        "student_id": str(dee),
        "email": _email(app, dee),
        "left_course": "no",
        "group_score": "",
        "score": "",
        "contribution_factor": "",
        "released": "no",
        "explanation": "In no group of this project, so no score.",
    }


def test_released_scores_say_so_and_a_member_who_left_has_none(app, client, world, rated):
    project, red = rated
    ada, bea, cal, dee = world.student_ids
    left = client.delete(f"/api/v1/courses/{world.course_id}/members/{bea}", headers=world.teacher)
    assert left.status_code == 204
    # Blue is evaluated by nobody: its member's score is none yet, so not released.
    create_group(client, world, project["id"], "Blue", [dee])
    closed = client.patch(
        world.url(f"/{project['id']}"), json={"status": "closed"}, headers=world.teacher
    )
    assert closed.status_code == 200
    release = client.post(world.url(f"/{project['id']}/scores/release"), headers=world.teacher)
    assert release.status_code == 200
    rows = {int(r["student_id"]): r for r in _rows(_sheet(client, world, project))}
    assert list(rows) == [dee, ada, cal, bea], "groups by name; who left after the scored"
    assert rows[ada]["released"] == rows[cal]["released"] == "yes"
    assert rows[ada]["score"] and rows[cal]["score"]
    assert rows[bea] == {
        "group": "Red",
        "student": "Bea",
        "student_id": str(bea),
        "email": _email(app, bea),
        "left_course": "yes",
        "group_score": "",
        "score": "",
        "contribution_factor": "",
        "released": "no",
        "explanation": "Left the course: neither rated nor rating while away, and given no "
        "score. Back in the course, they count again.",
    }
    assert rows[dee]["group"] == "Blue"
    assert rows[dee]["group_score"] == rows[dee]["score"] == ""
    assert rows[dee]["released"] == "no"
    assert rows[dee]["explanation"] == "Waiting for the teacher's evaluation of your group's work."


def test_no_name_reaches_a_spreadsheet_as_a_formula(app, client, world):
    names = {
        '=HYPERLINK("https://evil.example","x")': '\'=HYPERLINK("https://evil.example","x")',
        "+1+1": "'+1+1",
        "-2+3": "'-2+3",
        "@SUM(A1:A2)": "'@SUM(A1:A2)",
        "Zoë Ångström-Núñez": "Zoë Ångström-Núñez",
    }
    ids = {_student(app, world, name): name for name in names}
    project = create_project(client, world, title="=1+1", status="open")
    first, second, *rest = ids
    create_group(client, world, project["id"], "=cmd|' /C calc'!A0", [first, second])
    rows = _rows(_sheet(client, world, project))
    assert {r["group"] for r in rows if r["group"]} == {"'=cmd|' /C calc'!A0"}
    by_id = {int(r["student_id"]): r["student"] for r in rows}
    for user_id, name in ids.items():
        assert by_id[user_id] == names[name]
    # The file name is the title's letters and digits only.
    assert _sheet(client, world, project).headers["Content-Disposition"] == (
        'attachment; filename="1-1-scores.csv"'
    )


def test_students_read_their_score_as_json_only(client, world, rated):
    project, _ = rated
    for student in world.students:
        response = client.get(world.url(f"/{project['id']}/scores?format=csv"), headers=student)
        assert response.status_code == 403 and response.mimetype == PROBLEM
        assert "teachers" in response.get_json()["detail"]
    mine = client.get(world.url(f"/{project['id']}/scores?format=json"), headers=world.students[0])
    assert mine.status_code == 200 and mine.get_json()["released"] is False


def test_others_and_unknown_formats_are_refused(client, world, rated):
    project, _ = rated
    elsewhere = client.get(
        world.url(f"/{project['id']}/scores?format=csv"), headers=world.other_teacher
    )
    assert elsewhere.status_code == 404
    foreign = client.get(world.url(f"/{project['id']}/scores?format=csv"), headers=world.outsider)
    assert foreign.status_code == 404
    odd = client.get(world.url(f"/{project['id']}/scores?format=xlsx"), headers=world.teacher)
    assert odd.status_code == 422 and odd.mimetype == PROBLEM
    assert [e["path"] for e in odd.get_json()["errors"]] == ["format"]
    # The admin downloads it as a teacher does.
    assert _rows(_sheet(client, world, project, world.admin))


def test_the_openapi_document_offers_the_csv(client):
    path = "/api/v1/courses/{course_id}/projects/{project_id}/scores"
    operation = client.get("/api/openapi.json").get_json()["paths"][path]["get"]
    assert "format=csv" in operation["responses"]["200"]["description"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ProjectScores"}
    assert "403" in operation["responses"]
    (fmt,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert fmt["in"] == "query" and fmt["schema"]["enum"] == ["json", "csv"]


def test_a_student_without_an_account_address_has_the_one_their_lms_gave(app, client, world, rated):
    """LMS users have no account e-mail of their own: the address from the launch or the
    roster (an mbox identity) is the one a teacher knows them by."""
    from masteryai_lti.identity.models import User, UserIdentity

    project, _ = rated
    dee = world.student_ids[3]
    with app.app_context():
        user = db.session.get(User, dee)
        user.email = None
        db.session.add(
            UserIdentity(
                institution_id=user.institution_id,
                user_id=dee,
                kind="mbox",
                value="mailto:dee@lms.example",
            )
        )
        db.session.commit()
    rows = {int(r["student_id"]): r for r in _rows(_sheet(client, world, project))}
    assert rows[dee]["email"] == "dee@lms.example"
