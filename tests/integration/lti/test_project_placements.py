"""Projects placed in the LMS: picked by deep linking, opened by students' launches,
released scores sent to each placement's gradebook column through the outbox."""

from __future__ import annotations

import html as html_lib
import json
import logging
import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import jwt
import requests
from flask import template_rendered
from sqlalchemy import select

from masteryai_lti.extensions import db
from masteryai_lti.lti import outbox, project_placements
from masteryai_lti.lti.outbox_models import ScoreOutboxEntry
from tests.integration.lti.conftest import launch
from tests.integration.lti.services_support import auth_for, launched_course, lti_user
from tests.lti_platform import LTI, LTI_AGS, LTI_DL, ROLE_LEARNER, PlatformUser

GOOD = {"communication": 4, "collaboration": 4, "problem_solving": 4}
FAIR = {"communication": 3, "collaboration": 3, "problem_solving": 3}
WEAK = {"communication": 1, "collaboration": 1, "problem_solving": 1}
PROJECT_LINK = "rl-project"


# -- helpers -------------------------------------------------------------------------


@contextmanager
def rendered(app):
    """``[(template name, context)]`` of every page the app renders meanwhile."""
    seen: list[tuple[str, dict]] = []

    def record(sender, template, context, **extra):
        seen.append((template.name, context))

    template_rendered.connect(record, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record, app)


def _session_of(html: str) -> dict:
    match = re.search(r'id="masteryai-session" type="application/json">(.*?)</script>', html)
    assert match, "the landing page carries the session"
    return json.loads(match.group(1))


def _api(client, method: str, url: str, headers: dict, **body):
    response = getattr(client, method)(url, headers=headers, **body)
    assert response.status_code in (200, 201), (url, response.get_json())
    return response.get_json()


def _project(client, course_id: int, teacher: dict, **fields) -> dict:
    body = {"title": "Build a bridge", **fields}
    return _api(client, "post", f"/api/v1/courses/{course_id}/projects", teacher, json=body)


def _teacher_course(app, client, platform) -> tuple[int, dict]:
    """The LMS course (the teacher and the platform's student have launched) and the
    teacher's bearer header."""
    course_id, _ = launched_course(app, client, platform, "teacher", "student")
    return course_id, auth_for(app, lti_user(app, platform, "teacher"))


def _placed(
    platform,
    project_id,
    *,
    link_id: str = PROJECT_LINK,
    lineitem: int | None = 2,
    graded: bool = True,
) -> dict:
    """Launch claims of the resource link a deep-linked project became, with the line
    item the platform made from the content item's ``lineItem``."""
    claims = {
        LTI + "custom": {"masteryai_target": "project", "masteryai_id": str(project_id)},
        LTI + "resource_link": {"id": link_id, "title": "Bridge project"},
    }
    if graded:
        if lineitem is not None and lineitem not in platform.line_items:
            platform.line_items[lineitem] = {
                "label": "Bridge project",
                "scoreMaximum": 100.0,
                "resourceLinkId": link_id,
            }
        endpoint = platform.ags_claim(with_lineitem=False)
        if lineitem is not None:
            endpoint["lineitem"] = platform.lineitem_url(lineitem)
        claims[LTI_AGS + "endpoint"] = endpoint
    return claims


def _launch_placed(app, client, platform, who: str, claims: dict, **kwargs):
    """Launch ``who`` into a placed project; returns (response, student.html context)."""
    drop = () if LTI_AGS + "endpoint" in claims else (LTI_AGS + "endpoint",)
    with rendered(app) as pages:
        response = launch(client, platform, who, extra_claims=claims, drop_claims=drop, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    contexts = [context for name, context in pages if name == "lti/student.html"]
    return response, (contexts[0] if contexts else None)


def _add_students(platform, *names: str) -> None:
    for name in names:
        platform.users[name] = PlatformUser(f"{name}-sub", [ROLE_LEARNER], name.title())


def _picker(client, platform) -> tuple[str, dict]:
    response = launch(client, platform, "teacher", message_type="LtiDeepLinkingRequest")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    fields = dict(re.findall(r'name="(launch_id|session_token)" value="([^"]+)"', page))
    return page, fields


def _returned_items(response) -> tuple[str, dict]:
    """The auto-posting page's action and form fields."""
    page = response.get_data(as_text=True)
    action = html_lib.unescape(re.search(r'action="([^"]+)"', page).group(1))
    fields = {
        name: html_lib.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', page)
    }
    return action, fields


# -- deep linking --------------------------------------------------------------------


def test_the_picker_offers_the_course_projects_drafts_included(app, client, services_platform):
    from masteryai_lti.courses.models import Course
    from masteryai_lti.identity.models import Institution
    from masteryai_lti.pbl.models import Project
    from tests.factories import make_course

    platform = services_platform
    course_id, teacher = _teacher_course(app, client, platform)
    due = datetime(2026, 12, 20, 17, 0, tzinfo=UTC)
    draft = _project(client, course_id, teacher, title="Bridge", due_at=due.isoformat())
    opened = _project(client, course_id, teacher, title="Tower", status="open")
    with app.app_context():
        course = db.session.get(Course, course_id)
        other = make_course(db.session.get(Institution, course.institution_id))
        foreign = Project(
            institution_id=other.institution_id,
            course_id=other.id,
            title="Another course's canal",
            rubric=db.session.get(Project, opened["id"]).rubric,
        )
        db.session.add(foreign)
        db.session.commit()

    page, _ = _picker(client, platform)

    assert f'value="project-{draft["id"]}"' in page and f'value="project-{opened["id"]}"' in page
    assert "Another course" not in page
    labels = re.findall(r'<label class="card".*?</label>', page, flags=re.S)
    [bridge] = [label for label in labels if "Bridge" in label]
    assert "(graded, 100 points)" in bridge
    assert "Draft: students see it once you open it." in bridge
    assert "Due 2026-12-20 17:00 UTC." in bridge
    assert "release the scores" in bridge
    [tower] = [label for label in labels if "Tower" in label]
    assert "Open: students are working on it." in tower and "Draft" not in tower
    # Built-ins first, then the newest project first.
    keys = re.findall(r'name="item" value="([^"]+)"', page)
    assert keys[-2:] == [f"project-{opened['id']}", f"project-{draft['id']}"]


def test_a_picked_project_comes_back_with_its_line_item_and_due_date(
    app, client, services_platform, live_tool
):
    platform = services_platform
    platform.tool_jwks_url = live_tool + "/lti/jwks"
    course_id, teacher = _teacher_course(app, client, platform)
    due = datetime(2026, 12, 20, 17, 0, tzinfo=UTC)
    project = _project(
        client,
        course_id,
        teacher,
        title="Bridge",
        description="Design and test a bridge.\n\nIn groups of three.",
        due_at=due.isoformat(),
    )
    _, fields = _picker(client, platform)

    response = client.post(
        "/lti/deep_linking/return", data={**fields, "item": f"project-{project['id']}"}
    )
    action, form = _returned_items(response)
    delivered = requests.post(action, data=form, timeout=10)

    assert delivered.status_code == 200, delivered.text  # verified against the tool's JWKS
    [item] = platform.deep_link_responses[-1][LTI_DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["title"] == "Bridge"
    assert item["text"] == "Design and test a bridge. In groups of three."
    assert item["custom"] == {
        "masteryai_target": "project",
        "masteryai_id": str(project["id"]),
        "due_at": "$ResourceLink.submission.endDateTime",
    }
    assert item["lineItem"] == {
        "scoreMaximum": 100,
        "label": "Bridge",
        "resourceId": f"project-{project['id']}",
        "tag": "project",
    }
    assert datetime.fromisoformat(item["submission"]["endDateTime"]) == due


def test_a_project_without_a_due_date_sends_no_submission_window(app, client, services_platform):
    platform = services_platform
    course_id, teacher = _teacher_course(app, client, platform)
    project = _project(client, course_id, teacher, status="open")
    _, fields = _picker(client, platform)

    response = client.post(
        "/lti/deep_linking/return", data={**fields, "item": f"project-{project['id']}"}
    )

    _, form = _returned_items(response)
    claims = jwt.decode(form["JWT"], options={"verify_signature": False})
    [item] = claims[LTI_DL + "content_items"]
    assert "submission" not in item and item["lineItem"]["label"] == "Build a bridge"
    assert item["text"].startswith("A group project")


# -- launches ------------------------------------------------------------------------


def test_a_student_launch_opens_the_placed_project(app, client, services_platform):
    platform = services_platform
    course_id, teacher = _teacher_course(app, client, platform)
    project = _project(client, course_id, teacher, title="Bridge", status="open")

    response, context = _launch_placed(
        app, client, platform, "student", _placed(platform, project["id"])
    )

    assert context["placement"] == {
        "project_id": project["id"],
        "title": "Bridge",
        "status": "open",
        "note": "",
        "graded": True,
        "grade_note": project_placements.GRADED_ON_RELEASE,
    }
    page = response.get_data(as_text=True)
    assert "<h1>Bridge · Algebra I</h1>" in page
    session = _session_of(page)
    assert session["project_id"] == project["id"] and "assignment_id" not in session
    # The session the page carries opens the project through the API.
    student = {"Authorization": "Bearer " + session["token"]}
    opened = client.get(f"/api/v1/courses/{course_id}/projects/{project['id']}", headers=student)
    assert opened.status_code == 200 and opened.get_json()["title"] == "Bridge"


def test_a_link_without_grade_service_says_the_project_is_not_graded_there(
    app, client, services_platform
):
    platform = services_platform
    course_id, teacher = _teacher_course(app, client, platform)
    project = _project(client, course_id, teacher, status="open")

    _, context = _launch_placed(
        app, client, platform, "student", _placed(platform, project["id"], graded=False)
    )

    placement = context["placement"]
    assert placement["project_id"] == project["id"]
    assert placement["graded"] is False
    assert placement["grade_note"] == project_placements.NOT_GRADED


def test_once_released_the_student_is_told_the_gradebook_has_it(app, client, services_platform):
    platform = services_platform
    course_id, teacher = _teacher_course(app, client, platform)
    project = _project(client, course_id, teacher, status="closed")
    _api(
        client,
        "post",
        f"/api/v1/courses/{course_id}/projects/{project['id']}/scores/release",
        teacher,
    )

    _, context = _launch_placed(app, client, platform, "student", _placed(platform, project["id"]))

    assert context["placement"]["grade_note"] == project_placements.GRADED_RELEASED


def test_a_draft_project_is_not_open_yet_for_students(app, client, services_platform):
    platform = services_platform
    course_id, teacher = _teacher_course(app, client, platform)
    project = _project(client, course_id, teacher, title="Bridge")

    response, context = _launch_placed(
        app, client, platform, "student", _placed(platform, project["id"])
    )

    placement = context["placement"]
    assert placement["project_id"] is None and placement["title"] == "Bridge"
    assert "not opened this project yet" in placement["note"]
    page = response.get_data(as_text=True)
    assert "not opened this project yet" in page
    assert _session_of(page)["project_id"] is None


def _deleted_and_foreign(app, client, platform) -> tuple[int, int]:
    """The ids of a project deleted from the launched course and of an open project
    ("Canal") of another course of the same institution, as a copied LMS course names."""
    from masteryai_lti.courses.models import Course
    from masteryai_lti.identity.models import Institution
    from masteryai_lti.pbl.models import Project
    from tests.factories import make_course

    course_id, teacher = _teacher_course(app, client, platform)
    deleted = _project(client, course_id, teacher, status="open")
    gone = client.delete(f"/api/v1/courses/{course_id}/projects/{deleted['id']}", headers=teacher)
    assert gone.status_code == 204
    with app.app_context():
        course = db.session.get(Course, course_id)
        other = make_course(db.session.get(Institution, course.institution_id))
        copied = Project(
            institution_id=other.institution_id,
            course_id=other.id,
            title="Canal",
            status="open",
            rubric={"criteria": []},
        )
        db.session.add(copied)
        db.session.commit()
        return deleted["id"], copied.id


def test_a_deleted_project_or_one_of_another_course_is_explained_not_an_error(
    app, client, services_platform
):
    platform = services_platform
    deleted_id, copied_id = _deleted_and_foreign(app, client, platform)

    cases = {
        deleted_id: "no longer in MasteryAI",
        copied_id: "project of another course",
        "not-a-number": "no longer in MasteryAI",
    }
    for project_id, says in cases.items():
        response, context = _launch_placed(
            app, client, platform, "student", _placed(platform, project_id)
        )
        placement = context["placement"]
        assert placement["project_id"] is None, project_id
        assert says in placement["note"]
        assert says in response.get_data(as_text=True)
        assert "Canal" not in response.get_data(as_text=True)


def test_a_teacher_launch_of_a_placed_project_lands_on_the_teacher_page(
    app, client, services_platform
):
    platform = services_platform
    course_id, teacher = _teacher_course(app, client, platform)
    project = _project(client, course_id, teacher, status="open")

    with rendered(app) as pages:
        response = launch(
            client, platform, "teacher", extra_claims=_placed(platform, project["id"])
        )

    assert response.status_code == 200
    assert [name for name, _ in pages][0] == "lti/teacher.html"
    session = _session_of(response.get_data(as_text=True))
    # The LMS's due date is not declared as work the tool sees submitted.
    assert session["activity"] is None
    # The Projects panel opens on the placed project, a draft too.
    assert (session["project_id"], session["project_note"]) == (project["id"], "")


def test_a_teacher_launch_of_a_draft_opens_it_and_other_launches_name_no_project(
    app, client, services_platform
):
    platform = services_platform
    course_id, teacher = _teacher_course(app, client, platform)
    draft = _project(client, course_id, teacher)

    placed = launch(client, platform, "teacher", extra_claims=_placed(platform, draft["id"]))
    assert _session_of(placed.get_data(as_text=True))["project_id"] == draft["id"]
    # The course's own link (no project target): the panel opens on no project.
    plain = _session_of(launch(client, platform, "teacher").get_data(as_text=True))
    assert "project_id" not in plain and "project_note" not in plain


def test_a_teacher_launch_of_a_deleted_or_foreign_project_says_why_it_opens_none(
    app, client, services_platform
):
    platform = services_platform
    deleted_id, foreign_id = _deleted_and_foreign(app, client, platform)

    cases = {
        deleted_id: project_placements.TEACHER_NOTES[project_placements.GONE],
        foreign_id: project_placements.TEACHER_NOTES[project_placements.ELSEWHERE],
        "not-a-number": project_placements.TEACHER_NOTES[project_placements.GONE],
    }
    for project_id, note in cases.items():
        response = launch(client, platform, "teacher", extra_claims=_placed(platform, project_id))
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        session = _session_of(page)
        assert (session["project_id"], session["project_note"]) == (None, note), project_id
        assert "Canal" not in page


# -- grades --------------------------------------------------------------------------


def _evaluate(client, course_id: int, project_id: int, group_id: int, teacher, ratings) -> None:
    _api(
        client,
        "put",
        f"/api/v1/courses/{course_id}/projects/{project_id}/groups/{group_id}/evaluation",
        teacher,
        json={"ratings": ratings},
    )


def _class_with_a_closed_project(app, client, platform):
    """A course where Sam (the platform's student) and Ada launched the placed project,
    and Zed (a MasteryAI-only account) did not; Sam and Ada in Red, Zed in Blue; both
    groups evaluated; the project closed. Returns (course id, project, teacher, ids)."""
    from masteryai_lti.courses.models import Course
    from masteryai_lti.identity.models import Institution
    from tests.factories import make_enrollment, make_user

    _add_students(platform, "ada")
    course_id, teacher = _teacher_course(app, client, platform)
    project = _project(client, course_id, teacher, title="Bridge", status="open")
    for who in ("student", "ada"):
        _launch_placed(app, client, platform, who, _placed(platform, project["id"]))
    sam, ada = (lti_user(app, platform, who).id for who in ("student", "ada"))
    with app.app_context():
        course = db.session.get(Course, course_id)
        zed = make_user(db.session.get(Institution, course.institution_id), full_name="Zed")
        make_enrollment(course, zed)
        zed_id = zed.id
    base = f"/api/v1/courses/{course_id}/projects/{project['id']}"
    red = _api(
        client, "post", base + "/groups", teacher, json={"name": "Red", "member_ids": [sam, ada]}
    )
    blue = _api(
        client, "post", base + "/groups", teacher, json={"name": "Blue", "member_ids": [zed_id]}
    )
    _evaluate(client, course_id, project["id"], red["id"], teacher, FAIR)
    _evaluate(client, course_id, project["id"], blue["id"], teacher, GOOD)
    _api(client, "patch", base, teacher, json={"status": "closed"})
    ids = {"sam": sam, "ada": ada, "zed": zed_id, "red": red["id"]}
    return course_id, project, teacher, ids


def _release(client, course_id: int, project_id: int, teacher) -> dict:
    """Release the scores; returns ``{student id: (score, comment)}`` as released."""
    url = f"/api/v1/courses/{course_id}/projects/{project_id}/scores/release"
    return {r["student_id"]: (r["score"], r["comment"]) for r in _api(client, "post", url, teacher)}


def test_released_scores_reach_the_placement_column_for_students_known_to_the_lms(
    app, client, services_platform, caplog
):
    platform = services_platform
    course_id, project, teacher, ids = _class_with_a_closed_project(app, client, platform)
    # The adaptive practice link of the course (line item 1) is not the project's.
    assert platform.scores == []

    with caplog.at_level(logging.INFO, logger=project_placements.__name__):
        released = _release(client, course_id, project["id"], teacher)

    assert set(released) == {ids["sam"], ids["ada"], ids["zed"]}
    by_user = {s["userId"]: s for s in platform.scores}
    assert set(by_user) == {"student-sub-1", "ada-sub"}, "Zed has no account on the LMS"
    for sub, student in (("student-sub-1", ids["sam"]), ("ada-sub", ids["ada"])):
        score = by_user[sub]
        assert score["lineitem"] == 2
        assert score["scoreGiven"] == released[student][0] == 75.0
        assert score["scoreMaximum"] == 100.0
        assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
        assert score["comment"] == released[student][1]
        assert "Your group's work scored 75" in score["comment"]
    [line] = [r.getMessage() for r in caplog.records if "released scores queued" in r.getMessage()]
    assert "2 released scores queued" in line and "1 skipped (no account on its LMS)" in line
    with app.app_context():
        entries = db.session.scalars(select(ScoreOutboxEntry)).all()
        assert {(e.status, e.source) for e in entries} == {("sent", "project")}
        assert {e.user_id for e in entries} == {ids["sam"], ids["ada"]}


def test_every_graded_placement_of_the_project_gets_the_scores(app, client, services_platform):
    platform = services_platform
    course_id, project, teacher, ids = _class_with_a_closed_project(app, client, platform)
    # The project placed a second time (another section of the LMS course), graded in
    # its own column, and a third time without a grade service.
    second = _placed(platform, project["id"], link_id="rl-project-2", lineitem=3)
    ungraded = _placed(platform, project["id"], link_id="rl-project-3", graded=False)
    _launch_placed(app, client, platform, "student", second)
    _launch_placed(app, client, platform, "student", ungraded)
    # A teacher's link to another project of the course gets nothing either.
    other = _project(client, course_id, teacher, title="Tower", status="open")
    launch(
        client,
        platform,
        "teacher",
        extra_claims=_placed(platform, other["id"], link_id="rl-tower", lineitem=4),
    )

    _release(client, course_id, project["id"], teacher)

    columns = sorted((s["lineitem"], s["userId"]) for s in platform.scores)
    assert columns == [(2, "ada-sub"), (2, "student-sub-1"), (3, "ada-sub"), (3, "student-sub-1")]


def test_releasing_again_sends_the_scores_as_they_now_are(app, client, services_platform):
    platform = services_platform
    course_id, project, teacher, ids = _class_with_a_closed_project(app, client, platform)
    _release(client, course_id, project["id"], teacher)
    assert {s["scoreGiven"] for s in platform.scores} == {75.0}

    # The teacher looks again at Red's work and marks it higher.
    _evaluate(client, course_id, project["id"], ids["red"], teacher, GOOD)
    released = _release(client, course_id, project["id"], teacher)

    assert released[ids["sam"]][0] == 100.0
    assert len(platform.scores) == 4 and platform.ignored_scores == []
    results = {user: r["resultScore"] for (n, user), r in platform.results.items() if n == 2}
    assert results == {"student-sub-1": 100.0, "ada-sub": 100.0}


def test_scores_released_while_the_lms_is_down_wait_in_the_outbox(app, client, services_platform):
    platform = services_platform
    course_id, project, teacher, ids = _class_with_a_closed_project(app, client, platform)
    platform.down = True

    released = _release(client, course_id, project["id"], teacher)

    assert platform.scores == []
    with app.app_context():
        entries = db.session.scalars(select(ScoreOutboxEntry)).all()
        assert [e.status for e in entries] == ["pending", "pending"]
        # One was tried; the other waits for the same retry instead of a second timeout.
        assert sorted(e.attempts for e in entries) == [0, 1]

    platform.down = False
    with app.app_context():
        report = outbox.drain_outbox(now=datetime.now(UTC) + timedelta(hours=1))

    assert report["sent"] == 2
    assert {s["userId"]: s["scoreGiven"] for s in platform.scores} == {
        "student-sub-1": released[ids["sam"]][0],
        "ada-sub": released[ids["ada"]][0],
    }


def test_a_placement_in_another_course_gets_none_of_the_scores(app, client, services_platform):
    """A course copied in the LMS keeps links naming the old course's project: the
    release of that project's scores is for its own course's placements only."""
    platform = services_platform
    course_id, project, teacher, ids = _class_with_a_closed_project(app, client, platform)
    copy_context = {
        LTI + "context": {"id": "course-ctx-copy", "label": "ALG1", "title": "Algebra I (copy)"}
    }
    copied = {**_placed(platform, project["id"], link_id="rl-copy", lineitem=5), **copy_context}
    _, context = _launch_placed(app, client, platform, "student", copied)
    assert "another course" in context["placement"]["note"]

    _release(client, course_id, project["id"], teacher)

    assert {s["lineitem"] for s in platform.scores} == {2}


def test_a_long_explanation_is_cut_at_a_sentence_for_the_gradebook():
    sentence = "Your teammates' ratings put your contribution at an equal share. "
    long = sentence * 40

    comment = project_placements.gradebook_comment(long)

    assert len(comment) <= project_placements.COMMENT_MAX_CHARS
    assert comment.endswith("share.") and long.startswith(comment)
    assert project_placements.gradebook_comment("Short.\n  Two lines.") == "Short. Two lines."
    assert project_placements.gradebook_comment("") is None
    unbroken = "word " * 300
    cut = project_placements.gradebook_comment(unbroken)
    assert cut.endswith("word…") and len(cut) <= project_placements.COMMENT_MAX_CHARS
