"""Two writers of one statement id at the same moment: one row, no error (PostgreSQL)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from tests.integration.xapi.conftest import Lrs, statement


def _race(app, credential, bodies):
    barrier = threading.Barrier(len(bodies))
    results = [None] * len(bodies)

    def post(index, body):
        client = app.test_client()
        lrs = Lrs(client, credential.key, credential.secret)
        barrier.wait()
        results[index] = lrs.post(body).status_code

    threads = [threading.Thread(target=post, args=(i, b)) for i, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def on_postgres(app):
    from masteryai_lti.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers are checked on PostgreSQL")


def _rows(statement_id):
    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiStatement

    db.session.rollback()
    return db.session.scalar(
        select(func.count())
        .select_from(XapiStatement)
        .where(XapiStatement.statement_id == uuid.UUID(statement_id))
    )


def test_two_concurrent_posts_of_one_statement_store_one_row(app, credential, on_postgres):
    for _ in range(5):
        sid = str(uuid.uuid4())
        body = {**statement(1), "id": sid}
        assert _race(app, credential, [body, body]) == [200, 200]
        assert _rows(sid) == 1


def test_concurrent_conflicting_posts_store_one_and_refuse_the_other(app, credential, on_postgres):
    sid = str(uuid.uuid4())
    results = _race(app, credential, [{**statement(1), "id": sid}, {**statement(2), "id": sid}])
    assert sorted(results) == [200, 409]
    assert _rows(sid) == 1
