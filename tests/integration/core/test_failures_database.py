"""PostgreSQL restarts, stops and connections that die under a running app.

A private PostgreSQL cluster (its own data directory and port) stands in for the
production server, so it can be restarted and stopped without touching the shared one;
the shared server only ever loses the connections to this run's own test database.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import uuid
from glob import glob

import pytest
import sqlalchemy as sa

from tests.conftest import DATABASE_URL
from tests.factories import bearer, make_course, make_institution, make_user
from tests.redis_server import free_port


def _postgres_binaries() -> str | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free loopback port, trust authentication."""

    def __init__(self, binaries: str) -> None:
        self.binaries = binaries
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="masteryai-pg-")
        self.data = os.path.join(self.directory, "data")
        # PostgreSQL refuses to run as root: run it as the postgres account then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.directory, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/masteryai"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, os.path.join(self.binaries, "pg_ctl"), "-D", self.data, *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def create(self) -> PrivatePostgres:
        subprocess.run(
            [
                *self.as_user,
                os.path.join(self.binaries, "initdb"),
                "-D",
                self.data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.start()
        admin = sa.create_engine(
            f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE masteryai"))
        admin.dispose()
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = os.path.join(self.directory, "server.log")
        self._ctl("-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        subprocess.run(
            [*self.as_user, os.path.join(self.binaries, "pg_ctl"), "-D", self.data]
            + ["-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def private_postgres():
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = PrivatePostgres(binaries).create()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def private_app(app, make_app, private_postgres):
    """An app whose database is the private cluster; the shared extensions are given
    back to the session's app afterwards."""
    from masteryai_lti.extensions import cache, db, jobs

    built = make_app(SQLALCHEMY_DATABASE_URI=private_postgres.url)
    with built.app_context():
        db.create_all()
    try:
        yield built
    finally:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()
        cache.init_app(app)
        jobs.init_app(app)


def _statement() -> dict:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:learner@school.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://school.example/activities/1"},
    }


def _world(app):
    from masteryai_lti.xapi.credentials import issue_credential

    with app.app_context():
        school = make_institution(slug=f"school-{uuid.uuid4().hex[:6]}")
        teacher = make_user(school, role="teacher")
        course = make_course(school, teacher)
        issued = issue_credential(school.id, "LRS")
        lrs = {
            "Authorization": "Basic "
            + base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode(),
            "X-Experience-API-Version": "1.0.3",
        }
        return school.id, course.id, bearer(teacher), lrs


def _stored_ids(app, institution_id: int) -> set[str]:
    from masteryai_lti.extensions import db
    from masteryai_lti.xapi.models import XapiStatement

    with app.app_context():
        rows = db.session.scalars(
            sa.select(XapiStatement.statement_id).where(
                XapiStatement.institution_id == institution_id
            )
        )
        ids = {str(statement_id) for statement_id in rows}
        db.session.remove()
        return ids


@pytest.mark.postgres
def test_requests_after_a_postgres_restart_succeed(private_app, private_postgres):
    client = private_app.test_client()
    institution_id, course_id, teacher, lrs = _world(private_app)
    first = _statement()
    assert client.get(f"/api/v1/courses/{course_id}", headers=teacher).status_code == 200
    assert client.post("/xapi/statements", json=first, headers=lrs).status_code == 200

    # Every connection the app holds (its pool, the statement writer's own) dies.
    private_postgres.restart()

    assert client.get(f"/api/v1/courses/{course_id}", headers=teacher).status_code == 200
    second = _statement()
    posted = client.post("/xapi/statements", json=second, headers=lrs)
    assert posted.status_code == 200, posted.get_data(as_text=True)
    assert client.get("/readyz").json["checks"]["database"]["status"] == "up"
    assert _stored_ids(private_app, institution_id) == {first["id"], second["id"]}


@pytest.mark.postgres
def test_a_stopped_database_answers_503_with_retry_after_and_stores_nothing(
    private_app, private_postgres
):
    client = private_app.test_client()
    institution_id, course_id, teacher, lrs = _world(private_app)
    assert client.get(f"/api/v1/courses/{course_id}", headers=teacher).status_code == 200

    private_postgres.stop()
    lost = _statement()
    answers = {
        "api": client.get(f"/api/v1/courses/{course_id}", headers=teacher),
        "xapi": client.post("/xapi/statements", json=lost, headers=lrs),
        "login": client.post(
            "/api/v1/auth/login", json={"email": "x@school.example", "password": "x" * 12}
        ),
    }
    ready = client.get("/readyz")
    private_postgres.start()

    for where, answer in answers.items():
        assert answer.status_code == 503, (where, answer.get_data(as_text=True))
        assert answer.mimetype == "application/problem+json", where
        assert answer.json["status"] == 503
        assert answer.json["type"].endswith("/database-unavailable")
        assert int(answer.headers["Retry-After"]) > 0
    assert ready.status_code == 503
    # Once the database is back, the same statement is taken: the client's retry works.
    assert client.post("/xapi/statements", json=lost, headers=lrs).status_code == 200
    assert _stored_ids(private_app, institution_id) == {lost["id"]}


@pytest.fixture
def own_database(app):
    from masteryai_lti.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("terminating server connections needs PostgreSQL")


def _terminate_connections_to_this_test_database() -> int:
    # Only this run's own database (MASTERYAI_TEST_DB): nobody else's connections.
    admin = sa.create_engine(
        DATABASE_URL.replace("postgresql://", "postgresql+psycopg2://", 1),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            return connection.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_pooled_connections_killed_by_the_server_are_replaced(make_app, own_database):
    """A proxy reaping idle connections, or an admin terminating them, leaves dead
    connections in the pool; the next requests must not be the ones to find out."""
    built = make_app()
    client = built.test_client()
    institution_id, course_id, teacher, lrs = _world(built)
    assert client.get(f"/api/v1/courses/{course_id}", headers=teacher).status_code == 200
    assert client.post("/xapi/statements", json=_statement(), headers=lrs).status_code == 200

    assert _terminate_connections_to_this_test_database() > 0

    assert client.get(f"/api/v1/courses/{course_id}", headers=teacher).status_code == 200
    after = _statement()
    assert client.post("/xapi/statements", json=after, headers=lrs).status_code == 200
    assert after["id"] in _stored_ids(built, institution_id)
