"""Tenancy, walked over every course-scoped route of the app (DESIGN.md section 3).

Each ``/api/v1/courses/<course_id>/...`` rule of the URL map is called, with every
method it serves, by people who must get nothing from it: a teacher and an admin of
another institution, and a teacher of another course of the same institution. Every
answer must be 403 or 404 and the victim's data must be unchanged. A second walk
calls each rule on the attacker's *own* course with the victim's sub-resource ids
(items, assignments, mappings, graded items, grade posts, links, members), which a
handler that checks the course but then loads the row by id alone would let through.

A new route is walked without anyone listing it; a write route whose body is not in
``BODIES`` is called with ``{}``, and a 422 then fails the test: add a valid body so
the route's permission check is what answers.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from masteryai_lti.engagement.engine import DEFAULT_WEIGHTS
from masteryai_lti.extensions import db
from tests.factories import bearer, make_course, make_enrollment, make_institution, make_user

GRAPH = {
    "concepts": [
        {"key": "add", "name": "Addition", "prerequisites": []},
        {"key": "mul", "name": "Multiplication", "prerequisites": ["add"]},
    ]
}
ITEM = {
    "key": "add-1",
    "kind": "numeric",
    "prompt": "1 + 1?",
    "concepts": ["add"],
    "difficulty_label": "easy",
    "answer": {"value": 2, "tolerance": 0},
}
ACTIVITY = "https://h5p.example/activity/1"

# A valid body for each write (rule, method); the walk fills in the victim's ids.
BODIES = {
    ("/api/v1/courses/<int:course_id>", "PATCH"): {"title": "Taken over"},
    ("/api/v1/courses/<int:course_id>/activity-mappings", "POST"): {
        "activity_id": "https://h5p.example/activity/2",
        "concept_keys": ["add"],
    },
    ("/api/v1/courses/<int:course_id>/assignments/generate", "POST"): {"length": 2},
    ("/api/v1/courses/<int:course_id>/attempts", "POST"): {
        "item_id": "{item_id}",
        "response": {"value": 2},
        "attempt_key": "walk",
    },
    ("/api/v1/courses/<int:course_id>/attendance", "POST"): {
        "marks": [{"user_id": "{student_id}", "date": "2026-01-05", "status": "present"}]
    },
    ("/api/v1/courses/<int:course_id>/concept-graph", "PUT"): {"document": GRAPH},
    ("/api/v1/courses/<int:course_id>/concept-graph/copy", "POST"): {},
    ("/api/v1/courses/<int:course_id>/concept-graph/use", "POST"): {"concept_map_id": "{map_id}"},
    ("/api/v1/courses/<int:course_id>/concepts/<key>", "PUT"): {"name": "Renamed"},
    ("/api/v1/courses/<int:course_id>/concepts/<key>/prerequisites", "PUT"): {"prerequisites": []},
    ("/api/v1/courses/<int:course_id>/engagement/graded-items", "POST"): {
        "items": [{"object_id": "quiz-9", "kind": "quiz", "due_at": "2026-02-01"}]
    },
    ("/api/v1/courses/<int:course_id>/engagement/weights", "PUT"): {
        "weights": dict(DEFAULT_WEIGHTS)
    },
    ("/api/v1/courses/<int:course_id>/grade-posts", "POST"): {
        "resource_link_pk": "{resource_link_pk}",
        "user_id": "{student_id}",
        "score_given": 1.0,
        "score_maximum": 1.0,
    },
    ("/api/v1/courses/<int:course_id>/items", "POST"): {**ITEM, "key": "add-2"},
    ("/api/v1/courses/<int:course_id>/items/<int:item_id>", "PATCH"): {"prompt": "Changed?"},
    ("/api/v1/courses/<int:course_id>/members", "POST"): {"user_id": "{outsider_id}"},
}
# The attendance importer reads the raw request (a sheet); the others take JSON.
RAW_BODIES = {
    "/api/v1/courses/<int:course_id>/attendance/import": (
        "text/csv",
        "user_id,date,status\n{student_id},2026-01-06,present\n",
    ),
}
PROJECTS = "/api/v1/courses/<int:course_id>/projects"
RUBRIC_TOP = {"communication": 4, "collaboration": 4, "problem_solving": 4}
BODIES.update(
    {
        (PROJECTS, "POST"): {"title": "Taken over"},
        (PROJECTS + "/<int:project_id>", "PATCH"): {"title": "Taken over"},
        (PROJECTS + "/<int:project_id>/groups", "POST"): {"name": "Theirs"},
        (PROJECTS + "/<int:project_id>/groups/<int:group_id>", "PATCH"): {"name": "Theirs"},
        (PROJECTS + "/<int:project_id>/groups/<int:group_id>/evaluation", "PUT"): {
            "ratings": RUBRIC_TOP
        },
        (PROJECTS + "/<int:project_id>/peer-ratings/<int:ratee_id>", "PUT"): {
            "ratings": RUBRIC_TOP
        },
        (PROJECTS + "/<int:project_id>/evidence", "POST"): {
            "kind": "note",
            "title": "Theirs",
            "note": "x",
            "group_id": "{group_id}",
        },
    }
)
RAW_BODIES[PROJECTS + "/<int:project_id>/evidence/files"] = (
    "multipart/form-data; boundary=walk",
    '--walk\r\nContent-Disposition: form-data; name="title"\r\n\r\nTheirs\r\n'
    '--walk\r\nContent-Disposition: form-data; name="group_id"\r\n\r\n{group_id}\r\n'
    '--walk\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
    "Content-Type: text/plain\r\n\r\nhello\r\n--walk--\r\n",
)
BODIES[("/api/v1/courses/<int:course_id>/attempts/import", "POST")] = {
    "content": "student,item,correct,timestamp\n{student_id},add-1,1,2026-01-05T10:00:00Z\n"
}
BODIES[("/api/v1/courses/<int:course_id>/items/import", "POST")] = {
    "format": "json",
    "document": {"items": [{**ITEM, "key": "add-3"}]},
}


@dataclass
class School:
    """The victim's course and its rows, plus everyone who must be kept out."""

    ids: dict[str, object]
    teacher: dict
    foreign_teacher: dict
    foreign_admin: dict
    neighbour_teacher: dict
    foreign_course_id: int
    neighbour_course_id: int


def _build(app, client) -> School:
    from masteryai_lti.lti.models import LtiRegistration, ResourceLink
    from masteryai_lti.lti.outbox_models import ScoreOutboxEntry

    with app.app_context():
        school = make_institution()
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        student = make_user(school, role="student")
        make_enrollment(course, student)
        neighbour = make_user(school, role="teacher")
        neighbour_course = make_course(school, neighbour)
        outsider = make_user(school, role="student")
        foreign = make_institution()
        foreign_teacher = make_user(foreign, role="teacher")
        foreign_course = make_course(foreign, foreign_teacher)
        foreign_admin = make_user(foreign, role="admin", admin=True)
        make_enrollment(foreign_course, foreign_admin, "teacher")
        registration = LtiRegistration(
            institution_id=school.id,
            issuer="https://lms.school.example",
            client_id="walk",
            auth_login_url="https://lms.school.example/auth",
        )
        db.session.add(registration)
        db.session.flush()
        link = ResourceLink(
            institution_id=school.id,
            registration_id=registration.id,
            deployment_id="1",
            course_id=course.id,
            resource_link_id="link-1",
        )
        db.session.add(link)
        db.session.flush()
        post = ScoreOutboxEntry(
            institution_id=school.id,
            registration_id=registration.id,
            resource_link_pk=link.id,
            course_id=course.id,
            user_id=student.id,
            lti_user_id="sub-1",
            payload={"scoreGiven": 1},
            score_timestamp=db.func.now(),
            status="failed",
        )
        db.session.add(post)
        db.session.commit()
        ids = {
            "course_id": course.id,
            "institution_id": school.id,
            "student_id": student.id,
            "user_id": student.id,
            "outsider_id": outsider.id,
            "resource_link_pk": link.id,
            "post_id": post.id,
            "key": "add",
        }
        headers = bearer(teacher)
        school_view = School(
            ids=ids,
            teacher=headers,
            foreign_teacher=bearer(foreign_teacher),
            foreign_admin=bearer(foreign_admin),
            neighbour_teacher=bearer(neighbour),
            foreign_course_id=foreign_course.id,
            neighbour_course_id=neighbour_course.id,
        )
    base = f"/api/v1/courses/{course.id}"
    graph = client.put(f"{base}/concept-graph", json={"document": GRAPH}, headers=headers)
    assert graph.status_code == 200, graph.get_json()
    item = client.post(f"{base}/items", json=ITEM, headers=headers)
    assert item.status_code == 201, item.get_json()
    ids["item_id"] = item.get_json()["id"]
    mapping = client.post(
        f"{base}/activity-mappings",
        json={"activity_id": ACTIVITY, "concept_keys": ["add"]},
        headers=headers,
    )
    assert mapping.status_code == 201, mapping.get_json()
    ids["mapping_id"] = mapping.get_json()["id"]
    graded = client.post(
        f"{base}/engagement/graded-items",
        json={"items": [{"object_id": "quiz-1", "kind": "quiz", "due_at": "2026-01-10"}]},
        headers=headers,
    )
    assert graded.status_code in (200, 201), graded.get_json()
    listed = client.get(f"{base}/engagement/graded-items", headers=headers).get_json()
    ids["graded_item_id"] = listed[0]["id"]
    assignment = client.post(
        f"{base}/assignments/generate",
        json={"length": 1, "student_ids": [student.id]},
        headers=headers,
    )
    assert assignment.status_code == 201, assignment.get_json()
    ids["assignment_id"] = assignment.get_json()[0]["id"]
    maps = client.get("/api/v1/concept-graphs", headers=headers).get_json()
    ids["map_id"] = maps[0]["id"] if maps else 1
    _build_project(client, base, ids, headers)
    return school_view


def _build_project(client, base: str, ids: dict, headers: dict) -> None:
    """An open project with a group, its evaluation and a file of evidence."""
    project = client.post(
        f"{base}/projects", json={"title": "P", "status": "open"}, headers=headers
    )
    assert project.status_code == 201, project.get_json()
    ids["project_id"] = project.get_json()["id"]
    group = client.post(
        f"{base}/projects/{ids['project_id']}/groups",
        json={"name": "Red", "member_ids": [ids["student_id"]]},
        headers=headers,
    )
    assert group.status_code == 201, group.get_json()
    ids["group_id"] = group.get_json()["id"]
    ids["ratee_id"] = ids["student_id"]
    evaluation = client.put(
        f"{base}/projects/{ids['project_id']}/groups/{ids['group_id']}/evaluation",
        json={"ratings": RUBRIC_TOP},
        headers=headers,
    )
    assert evaluation.status_code == 200, evaluation.get_json()
    ids["evaluation_id"] = evaluation.get_json()["id"]
    evidence = client.post(
        f"{base}/projects/{ids['project_id']}/evidence/files",
        data={"title": "Log", "group_id": ids["group_id"], "file": (io.BytesIO(b"Day 1"), "a.txt")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert evidence.status_code == 201, evidence.get_json()
    ids["evidence_id"] = evidence.get_json()["id"]


def _course_rules(app) -> list[tuple[str, str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/courses/<int:course_id>"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((rule.rule, method))
    return sorted(rules)


def _fill(value, ids):
    if isinstance(value, str):
        match = re.fullmatch(r"\{(\w+)\}", value)
        if match:
            return ids[match.group(1)]
        return value.format(**ids) if "{" in value and "}" in value else value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _path(rule: str, ids: dict, course_id: int) -> str:
    def replace(match):
        name = match.group(1)
        if name == "course_id":
            return str(course_id)
        if name == "item_id" and "graded-items" in rule:
            return str(ids["graded_item_id"])
        return str(ids[name])

    return re.sub(r"<(?:\w+:)?(\w+)>", replace, rule)


def _call(client, rule, method, path, ids, headers):
    if rule in RAW_BODIES and method == "POST":
        mimetype, text = RAW_BODIES[rule]
        body = text.format(**ids)
        return client.open(path, method=method, data=body, content_type=mimetype, headers=headers)
    if method in ("POST", "PUT", "PATCH"):
        return client.open(
            path, method=method, json=_fill(BODIES.get((rule, method), {}), ids), headers=headers
        )
    return client.open(path, method=method, headers=headers)


def _names_victims_rows(rule: str, method: str, row_ids: tuple[str, ...]) -> bool:
    """Whether the body sent to ``rule`` names one of the victim's ``row_ids``."""
    if method == "POST" and rule in RAW_BODIES:
        return True
    text = repr(BODIES.get((rule, method), {}))
    return any(f"{{{name}}}" in text for name in row_ids)


# Rows of the victim's course a body can name. Not among them for a neighbour (same
# institution): a user who is in no course (they may add them to their own course) and
# the concept graph, which an institution's teachers share by design (docs/mastery.md).
VICTIM_ROW_IDS = {
    "foreign_teacher": ("item_id", "student_id", "resource_link_pk", "map_id", "outsider_id"),
    "neighbour_teacher": ("item_id", "student_id", "resource_link_pk"),
}


def _fingerprint(app) -> dict[str, int]:
    """Row counts and the course title: what a write that got through would change."""
    from masteryai_lti.courses.models import Course

    with app.app_context():
        counts = {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }
        counts["titles"] = hash(tuple(db.session.scalars(select(Course.title).order_by(Course.id))))
        return counts


@pytest.mark.parametrize("attacker", ["foreign_teacher", "foreign_admin", "neighbour_teacher"])
def test_no_course_route_serves_another_course(app, client, attacker):
    school = _build(app, client)
    headers = getattr(school, attacker)
    before = _fingerprint(app)
    leaks = []
    for rule, method in _course_rules(app):
        path = _path(rule, school.ids, school.ids["course_id"])
        response = _call(client, rule, method, path, school.ids, headers)
        if response.status_code not in (403, 404):
            leaks.append(f"{method} {path}: {response.status_code} {response.get_data()[:120]!r}")
    assert leaks == [], "\n".join(leaks)
    assert _fingerprint(app) == before


@pytest.mark.parametrize("attacker", ["foreign_teacher", "neighbour_teacher"])
def test_own_course_with_the_victims_ids_reaches_nothing(app, client, attacker):
    school = _build(app, client)
    headers = getattr(school, attacker)
    own_course = (
        school.foreign_course_id if attacker == "foreign_teacher" else school.neighbour_course_id
    )
    base = f"/api/v1/courses/{own_course}"
    # The attacker's own course gets the same graph, so a concept key is not the reason
    # a request is refused.
    graph = client.put(f"{base}/concept-graph", json={"document": GRAPH}, headers=headers)
    assert graph.status_code == 200, graph.get_json()
    before = _fingerprint(app)
    leaks, walked = [], set()
    for rule, method in _course_rules(app):
        names = set(re.findall(r"<(?:\w+:)?(\w+)>", rule)) - {"course_id", "key"}
        if not names and not _names_victims_rows(rule, method, VICTIM_ROW_IDS[attacker]):
            continue  # nothing of the victim's in the path or the body
        walked.add((rule.removeprefix("/api/v1/courses/<int:course_id>"), method))
        path = _path(rule, school.ids, own_course)
        response = _call(client, rule, method, path, school.ids, headers)
        # A row named in the body may also be an invalid field (422), as long as
        # nothing changes (checked below).
        refusals = (403, 404) if names else (403, 404, 422)
        if response.status_code not in refusals:
            leaks.append(f"{method} {path}: {response.status_code} {response.get_data()[:120]!r}")
    assert leaks == [], "\n".join(leaks)
    assert _fingerprint(app) == before
    assert {("/attempts", "POST"), ("/grade-posts", "POST"), ("/items/<int:item_id>", "PATCH")} <= (
        walked
    )


def test_the_walk_reaches_the_routes_it_claims(app, client):
    """The victim's own teacher gets through on the reads: the ids the walk fills in are
    real, so the refusals above are the permission checks and not missing rows."""
    school = _build(app, client)
    failures = []
    for rule, method in _course_rules(app):
        if method != "GET" or rule.endswith("/results"):
            continue  # /results asks the LMS, which this test has none of
        if rule.endswith("/me"):
            continue  # a teacher has no mastery of their own
        path = _path(rule, school.ids, school.ids["course_id"])
        response = client.get(path, headers=school.teacher)
        if response.status_code != 200:
            failures.append(f"GET {path}: {response.status_code} {response.get_data()[:200]!r}")
    assert failures == [], "\n".join(failures)
