"""Project-based learning use cases: projects, groups, evaluations, evidence, scores.

The PBL API, the dashboards and the LTI feature call the functions exported here.
The modules hold one use case each, and each imports only modules listed above it:

- ``access``: the course and project an actor works in, groups, the rubric in force;
- ``activity``: project work recorded as engagement signals;
- ``groups``: a project's groups and their members;
- ``projects``: a course's projects and their settings;
- ``evaluations``: teachers' evaluations of group work, students' peer ratings;
- ``evidence``: files, links and notes a group shows for its work;
- ``scores``: group and individual scores, and releasing them to the gradebook;
- ``sign_up``: students joining and leaving a group themselves, where allowed.
"""

from masteryai_lti.pbl.service.evaluations import (
    delete_group_evaluation,
    evaluate_group,
    group_evaluations,
    peer_ratings,
    rate_peer,
    withdraw_peer_rating,
)
from masteryai_lti.pbl.service.evidence import (
    EvidenceUpload,
    add_evidence,
    delete_evidence,
    evidence_file,
    list_evidence,
    max_file_bytes,
)
from masteryai_lti.pbl.service.groups import (
    GroupView,
    create_group,
    delete_group,
    get_group,
    list_groups,
    update_group,
)
from masteryai_lti.pbl.service.projects import (
    course_projects,
    create_project,
    delete_project,
    find_project,
    get_project,
    list_projects,
    project_changed,
    update_project,
)
from masteryai_lti.pbl.service.scores import (
    GroupResult,
    ProjectScores,
    ReleasedScore,
    ScoreSheet,
    project_scores,
    project_scores_released,
    release_scores,
    scores_sheet,
)
from masteryai_lti.pbl.service.sign_up import join_group, leave_group

__all__ = [
    "EvidenceUpload",
    "GroupResult",
    "GroupView",
    "ProjectScores",
    "ReleasedScore",
    "ScoreSheet",
    "add_evidence",
    "course_projects",
    "create_group",
    "create_project",
    "delete_evidence",
    "delete_group",
    "delete_group_evaluation",
    "delete_project",
    "evaluate_group",
    "evidence_file",
    "find_project",
    "get_group",
    "get_project",
    "group_evaluations",
    "join_group",
    "leave_group",
    "list_evidence",
    "list_groups",
    "list_projects",
    "max_file_bytes",
    "peer_ratings",
    "project_changed",
    "project_scores",
    "project_scores_released",
    "rate_peer",
    "release_scores",
    "scores_sheet",
    "update_group",
    "update_project",
    "withdraw_peer_rating",
]
