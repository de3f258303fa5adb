"""The per-process registration cache of logins and launches never outlives a change.

A second app built on the same database and Redis plays "another process": it has
its own in-process cache, so what it sees after the first app changes a row is
what another worker would see.
"""

from __future__ import annotations

import sqlalchemy as sa

from tests.integration.lti.conftest import launch, login
from tests.sql_statements import SqlStatements


def _set_status(app, registration_id: int, status: str) -> None:
    from masteryai_lti.lti.registration import set_registration_status

    with app.app_context():
        set_registration_status(registration_id, status)


def _registration_id(app, platform) -> int:
    from masteryai_lti.lti import registry

    with app.app_context():
        return registry.find_registration(platform.issuer, platform.client_id).id


def test_repeat_login_reads_no_registration_row(app, client, platform):
    login(client, platform)  # fills the cache
    with SqlStatements(app) as counted:
        login(client, platform)
    assert counted.count == 0


def test_a_held_registration_refuses_the_next_login_at_once(app, client, platform):
    assert launch(client, platform).status_code == 200  # cached by login and launch
    _set_status(app, _registration_id(app, platform), "pending")

    response = client.get("/lti/login", query_string=platform.login_params("student"))

    assert response.status_code == 403
    # Held for approval, and said so (not "not registered").
    assert 'data-reason="pending"' in response.get_data(as_text=True)


def test_a_change_in_another_process_reaches_this_one_at_once(app, client, make_app, platform):
    assert launch(client, platform).status_code == 200  # this app has it cached
    other = make_app()
    _set_status(other, _registration_id(app, platform), "pending")

    response = client.get("/lti/login", query_string=platform.login_params("student"))

    assert response.status_code == 403
    _set_status(other, _registration_id(app, platform), "active")
    assert launch(client, platform).status_code == 200


def test_a_held_registration_refuses_a_launch_whose_login_came_before(app, client, platform):
    auth_url = login(client, platform)  # the login cached the active registration
    _set_status(app, _registration_id(app, platform), "pending")
    _, form = platform.authorize(auth_url, "student")

    response = client.post("/lti/launch", data=form)

    assert response.status_code == 403
    assert 'data-reason="issuer"' in response.get_data(as_text=True)


def test_a_deleted_deployment_is_refused_under_the_refusing_policy(make_app, platform):
    from masteryai_lti.extensions import db
    from masteryai_lti.lti.models import LtiDeployment

    app = make_app(LTI_REFUSE_UNKNOWN_DEPLOYMENTS=True)
    client = app.test_client()
    assert launch(client, platform).status_code == 200  # deployment known and cached
    with app.app_context():
        db.session.execute(
            sa.delete(LtiDeployment).where(LtiDeployment.deployment_id == platform.deployment_id)
        )
        db.session.commit()

    response = launch(client, platform)

    assert response.status_code == 403
    assert 'data-reason="deployment"' in response.get_data(as_text=True)


def test_without_the_shared_cache_every_login_reads_the_row(app, client, platform, monkeypatch):
    from masteryai_lti.extensions import cache

    login(client, platform)
    monkeypatch.setattr(cache, "get", lambda key: None)  # Redis not answering
    monkeypatch.setattr(cache, "set_if_absent", lambda *args, **kwargs: False)
    with SqlStatements(app) as counted:
        login(client, platform)
    assert counted.count >= 1
