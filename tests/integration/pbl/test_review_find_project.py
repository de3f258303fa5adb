"""The trusted read of a project by id takes any integer: the LTI launch passes the id
its link names, which comes from the link's custom parameters (a Moodle teacher can
edit them)."""

from __future__ import annotations

import pytest

from masteryai_lti.pbl import service
from tests.integration.pbl.world import create_project


@pytest.mark.parametrize("project_id", [10**20, 2**63, -(2**63) - 1, 0, -5])
def test_an_id_no_project_can_have_finds_nothing(app, project_id):
    with app.app_context():
        assert service.find_project(project_id) is None


def test_a_project_is_found_by_its_id(app, client, world):
    project = create_project(client, world)
    with app.app_context():
        assert service.find_project(project["id"]).title == "Build a bridge"
