"""xAPI ingest benchmark: gunicorn + PostgreSQL + Redis, single POSTs and batches of 100.

Run:  .venv/bin/python bench/xapi_ingest.py [--single 3000] [--batches 300] [--workers 3]

What it does, so the figures can be reproduced and judged:
1. creates a scratch PostgreSQL database, runs the migrations, seeds one institution with
   a course, ``--learners`` enrolled students linked to xAPI mboxes, a concept map for the
   course with every bench activity mapped to a concept, and an LRS credential;
2. starts gunicorn (``wsgi:app``, production settings, Redis for cache and jobs) and one RQ
   worker that drains the projection outbox;
3. posts generated statements (the quarter with verb "answered" carry a scored result on
   a mapped activity, so they become mastery attempts as well as engagement events) from
   ``--clients`` threads: first one statement per request, then arrays of 100;
4. prints statements/s and p50/p95/p99 request latency for each phase and the CPU the
   server side (gunicorn workers + their PostgreSQL backends) spent per statement, then
   verifies that every accepted statement is in PostgreSQL, that the projection outbox
   drained (no row left ``pending``) and that every scored statement became exactly one
   mastery attempt — a run that loses or fails to project anything exits 1.

The client runs on the same 2 cores as the server, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VERBS = [
    (
        "http://adlnet.gov/expapi/verbs/answered",
        "http://adlnet.gov/expapi/activities/cmi.interaction",
    ),
    ("http://adlnet.gov/expapi/verbs/experienced", "http://adlnet.gov/expapi/activities/lesson"),
    ("http://id.tincanapi.com/verb/viewed", "http://adlnet.gov/expapi/activities/media"),
    ("http://adlnet.gov/expapi/verbs/attended", "http://adlnet.gov/expapi/activities/meeting"),
]


def make_statement(rng: random.Random, learners: int) -> dict:
    verb, activity_type = rng.choice(VERBS)
    n = rng.randrange(learners)
    statement = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "mbox": f"mailto:bench{n}@example.org", "name": f"L{n}"},
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": {
            "objectType": "Activity",
            "id": f"http://example.org/activity/{rng.randrange(ACTIVITIES)}",
            "definition": {"type": activity_type, "name": {"en-US": "Bench activity"}},
        },
        "context": {
            "registration": str(uuid.uuid4()),
            "contextActivities": {"parent": [{"id": "http://example.org/course/bench"}]},
        },
        "timestamp": "2026-11-24T10:00:00.000Z",
    }
    if verb.endswith("answered"):
        statement["result"] = {
            "success": rng.random() < 0.7,
            "score": {"scaled": round(rng.random(), 2)},
            "duration": "PT42S",
        }
    return statement


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[index]


def setup_database(url: str, learners: int) -> tuple[str, str]:
    import sqlalchemy as sa

    from config.settings import normalise_database_url

    name = url.rsplit("/", 1)[-1]
    admin = sa.create_engine(
        normalise_database_url(url.rsplit("/", 1)[0] + "/postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi.py"}
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    from masteryai_lti import create_app
    from masteryai_lti.courses.models import Course
    from masteryai_lti.extensions import db
    from masteryai_lti.identity import service as identities
    from masteryai_lti.identity.models import User
    from masteryai_lti.xapi.credentials import issue_credential

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "REDIS_URL": "",
            "JOBS_INLINE": True,
        }
    )
    with app.app_context():
        # Tables whose models landed before their migration: the bench measures
        # ingest, not the migration chain.
        db.create_all()
        institution = identities.create_institution("Bench School", slug="bench")
        course = Course(
            institution_id=institution.id,
            title="Bench course",
            join_code="BENCH01",
            lti_context_id="http://example.org/course/bench",
        )
        db.session.add(course)
        db.session.flush()
        from masteryai_lti.courses import service as courses

        for n in range(learners):
            user = User(
                institution_id=institution.id,
                email=f"bench{n}@school.example",
                full_name=f"Learner {n}",
                role="student",
            )
            db.session.add(user)
            db.session.flush()
            courses.enroll(institution.id, course.id, user.id, "student", "api")
            identities.link_identity(
                institution.id, user.id, "mbox", f"mailto:bench{n}@example.org"
            )
        db.session.commit()
        _seed_concepts(institution.id, course.id)
        issued = issue_credential(institution.id, "bench")
    return issued.key, issued.secret


ACTIVITIES = 200
CONCEPTS = 10


def _seed_concepts(institution_id: int, course_id: int) -> None:
    """A concept map for the bench course; every bench activity practises one concept."""
    from masteryai_lti.extensions import db
    from masteryai_lti.mastery.models import (
        ActivityMapping,
        Concept,
        ConceptMap,
        CourseConceptMap,
    )

    concept_map = ConceptMap(institution_id=institution_id, name="Bench concepts")
    db.session.add(concept_map)
    db.session.flush()
    db.session.add(
        CourseConceptMap(
            course_id=course_id, institution_id=institution_id, concept_map_id=concept_map.id
        )
    )
    for n in range(CONCEPTS):
        db.session.add(
            Concept(
                institution_id=institution_id,
                concept_map_id=concept_map.id,
                key=f"c{n}",
                name=f"Concept {n}",
            )
        )
    for n in range(ACTIVITIES):
        db.session.add(
            ActivityMapping(
                institution_id=institution_id,
                concept_map_id=concept_map.id,
                activity_id=f"http://example.org/activity/{n}",
                concept_keys=[f"c{n % CONCEPTS}"],
                difficulty_label="medium",
                difficulty=0.0,
            )
        )
    db.session.commit()


def scored(payloads: list) -> set[str]:
    """Ids of the statements that carry a result (each must become a mastery attempt)."""
    flat = [s for p in payloads for s in (p if isinstance(p, list) else [p])]
    return {s["id"] for s in flat if "result" in s}


class Client:
    """Posts over plain http.client, one persistent connection per thread."""

    def __init__(self, host: str, port: int, key: str, secret: str, version: str) -> None:
        self.host, self.port = host, port
        token = base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.headers = {
            "Authorization": f"Basic {token}",
            "X-Experience-API-Version": version,
            "Content-Type": "application/json",
        }
        self.local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.local.connection = connection
        return connection

    def post(self, body: bytes) -> tuple[int, float, bytes]:
        start = time.perf_counter()
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("POST", "/xapi/statements", body=body, headers=self.headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # The server closed an idle keep-alive connection: reconnect once.
                connection.close()
                self.local.connection = None
                if attempt == 2:
                    raise
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            self.local.connection = None
        return response.status, time.perf_counter() - start, data


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
    return seconds


WEB_APPLICATION_NAME = "xapi-bench-web"
_web_pids: set[int] = set()


def server_pids(master: int, database_url: str) -> list[int]:
    """gunicorn workers plus the PostgreSQL backends serving them (not the RQ worker's)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    _web_pids.update(int(pid) for pid in children)
    import sqlalchemy as sa

    from config.settings import normalise_database_url

    name = database_url.rsplit("/", 1)[-1]
    engine = sa.create_engine(normalise_database_url(database_url))
    with engine.connect() as connection:
        backends = connection.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :n AND application_name = :a"
            ),
            {"n": name, "a": WEB_APPLICATION_NAME},
        ).all()
    engine.dispose()
    return [int(pid) for pid in children] + list(backends)


def _machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has spent (all of /proc/stat but idle)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICKS


def run_phase(client: Client, payloads: list, clients: int, pids=None) -> dict:
    """Post ``payloads``; ``pids()`` lists the server processes whose CPU is counted (taken
    at the start and the end, so backends opened during the phase count from birth).

    Bodies are encoded before the clock starts and responses parsed after it stops: a
    real LRS forwarder encodes on its own machine, and here the client shares the cores.
    """
    latencies: list[float] = []
    failures: list[str] = []
    responses: list[bytes] = []
    lock = threading.Lock()
    queue = [json.dumps(payload).encode() for payload in reversed(payloads)]

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            status, elapsed, data = client.post(body)
            with lock:
                latencies.append(elapsed)
                if status == 200:
                    responses.append(data)
                else:
                    failures.append(f"{status} {data[:200]!r}")

    threads = [threading.Thread(target=work) for _ in range(clients)]
    cpu_before = _cpu_seconds(pids()) if pids else {}
    machine_before, client_before = _machine_busy_seconds(), time.process_time()
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    machine = _machine_busy_seconds() - machine_before
    client_cpu = time.process_time() - client_before
    accepted = [statement_id for data in responses for statement_id in json.loads(data)]
    cpu_after = _cpu_seconds(pids()) if pids else {}
    spent = {pid: after - cpu_before.get(pid, 0.0) for pid, after in cpu_after.items()}
    cpu = sum(spent.values())
    web = sum(seconds for pid, seconds in spent.items() if pid in _web_pids)
    return {
        "server_cpu_ms_per_statement": 1000 * cpu / max(1, len(accepted)),
        "web_cpu_ms_per_statement": 1000 * web / max(1, len(accepted)),
        "client_cpu_ms_per_statement": 1000 * client_cpu / max(1, len(accepted)),
        "machine_cpu_ms_per_statement": 1000 * machine / max(1, len(accepted)),
        "requests": len(latencies),
        "statements": len(accepted),
        "failures": failures,
        "ids": accepted,
        "wall_s": wall,
        "statements_per_s": len(accepted) / wall,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def wait_for(host: str, port: int, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection(host, port, timeout=1)
            connection.request("GET", "/xapi/about")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def verify(url: str, ids: list[str], scored_ids: set[str], timeout_s: float) -> dict:
    import sqlalchemy as sa

    from config.settings import normalise_database_url

    engine = sa.create_engine(normalise_database_url(url))
    deadline = time.time() + timeout_s
    with engine.connect() as connection:
        stored = connection.scalar(sa.text("SELECT count(*) FROM xapi_statements"))
        wanted = set(ids)
        found = set()
        chunk = list(wanted)
        for start in range(0, len(chunk), 5000):
            rows = connection.execute(
                sa.text(
                    "SELECT statement_id::text FROM xapi_statements"
                    " WHERE statement_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": chunk[start : start + 5000]},
            )
            found.update(row[0] for row in rows)
        drain_start = time.time()
        while True:
            pending = connection.scalar(
                sa.text("SELECT count(*) FROM xapi_statements WHERE projection_state = 'pending'")
            )
            connection.commit()
            if pending == 0 or time.time() > deadline:
                break
            time.sleep(0.5)
        states = dict(
            connection.execute(
                sa.text("SELECT projection_state, count(*) FROM xapi_statements GROUP BY 1")
            ).all()
        )
        events = (
            connection.scalar(sa.text("SELECT count(*) FROM engagement_events"))
            if _has(connection, "engagement_events")
            else None
        )
        attempts = (
            connection.scalar(sa.text("SELECT count(*) FROM mastery_attempts"))
            if _has(connection, "mastery_attempts")
            else None
        )
        # Every accepted scored statement on a mapped activity, exactly once.
        wanted_attempts = sorted(scored_ids & found)
        attempts_of_scored = connection.scalar(
            sa.text(
                "SELECT count(DISTINCT source_id) FROM mastery_attempts"
                " WHERE source = 'xapi' AND source_id = ANY(:ids)"
            ),
            {"ids": wanted_attempts},
        )
    engine.dispose()
    return {
        "stored_rows": stored,
        "accepted_ids_missing": len(wanted - found),
        "pending_after_drain": pending,
        "drain_wait_s": round(time.time() - drain_start, 1),
        "projection_states": states,
        "engagement_events": events,
        "mastery_attempts": attempts,
        "scored_statements": len(wanted_attempts),
        "scored_without_attempt": len(wanted_attempts) - attempts_of_scored,
    }


def _has(connection, table: str) -> bool:
    import sqlalchemy as sa

    return bool(connection.scalar(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default="postgresql://postgres@127.0.0.1:5432/masteryai_bench_xapi"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes (one per core)"
    )
    parser.add_argument(
        "--worker-class", default="gthread", help="gunicorn worker class (gthread keeps alive)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gthread worker (they overlap the commit's fsync wait)",
    )
    parser.add_argument("--clients", type=int, default=6, help="client threads")
    parser.add_argument("--single", type=int, default=3000, help="single-statement POSTs")
    parser.add_argument("--batches", type=int, default=300, help="POSTs of 100 statements")
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--version", default="1.0.3")
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument(
        "--project-after",
        action="store_true",
        help="start the projection worker only after posting (the outbox is still drained "
        "and checked; the posting phases then do not share the cores with projection)",
    )
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "bench-secret-" + "x" * 40)
    key, secret = setup_database(args.database, args.learners)
    env = {
        **os.environ,
        "MASTERYAI_ENV": "production",
        "DATABASE_URL": args.database,
        "REDIS_URL": args.redis,
        "JOBS_INLINE": "false",
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi.py",
    }
    # The web's backends are told apart from the projection worker's by application_name.
    web_env = {**env, "DATABASE_URL": f"{args.database}?application_name={WEB_APPLICATION_NAME}"}
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "-k",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=web_env,
    )
    subprocess.run(
        ["redis-cli", "-n", args.redis.rsplit("/", 1)[-1], "FLUSHDB"], capture_output=True
    )

    def start_worker() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "masteryai", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    processes = [gunicorn]
    if not args.project_after:
        processes.append(start_worker())
    try:
        wait_for("127.0.0.1", args.port)
        client = Client("127.0.0.1", args.port, key, secret, args.version)
        rng = random.Random(7)
        run_phase(client, [make_statement(rng, args.learners) for _ in range(200)], args.clients)
        # CPU the server side (gunicorn workers + their PostgreSQL backends) spends per
        # statement does not depend on what else the shared machine is doing.

        def pids() -> list[int]:
            return server_pids(gunicorn.pid, args.database)

        single_payloads = [make_statement(rng, args.learners) for _ in range(args.single)]
        batch_payloads = [
            [make_statement(rng, args.learners) for _ in range(100)] for _ in range(args.batches)
        ]
        scored_ids = scored(single_payloads) | scored(batch_payloads)
        single = run_phase(client, single_payloads, args.clients, pids)
        batched = run_phase(client, batch_payloads, args.clients, pids)
        if args.project_after:
            processes.append(start_worker())
        ids = single["ids"] + batched["ids"]
        checks = verify(args.database, ids, scored_ids, args.drain_timeout)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    print("xAPI ingest benchmark")
    print(f"  machine load average at the end (1/5/15 min): {os.getloadavg()}")
    print(
        f"  conditions: {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
        f"gunicorn {args.worker_class} x{args.workers} (threads {args.threads}), keep-alive, "
        f"{args.clients} client threads on the same machine, "
        f"PostgreSQL (synchronous_commit on), Redis {args.redis}, xAPI {args.version}, "
        f"{args.learners} linked learners, 1 RQ projection worker "
        + ("started after posting" if args.project_after else "running while posting")
    )
    for name, phase in (("single", single), ("batch of 100", batched)):
        print(
            f"  {name:>12}: {phase['statements']:>6} statements in {phase['requests']} requests, "
            f"{phase['statements_per_s']:8.0f} statements/s, latency p50 {phase['p50_ms']:.1f} ms "
            f"p95 {phase['p95_ms']:.1f} ms p99 {phase['p99_ms']:.1f} ms, "
            f"failures {len(phase['failures'])}"
        )
        cpu_ms = phase["server_cpu_ms_per_statement"]
        print(
            f"      server CPU {cpu_ms:.2f} ms per statement (gunicorn workers "
            f"{phase['web_cpu_ms_per_statement']:.2f} + their PostgreSQL backends "
            f"{cpu_ms - phase['web_cpu_ms_per_statement']:.2f}): "
            f"at most {2000 / cpu_ms:,.0f} statements/s on 2 idle cores"
        )
        print(
            f"      whole machine {phase['machine_cpu_ms_per_statement']:.2f} ms CPU per "
            f"statement (this client {phase['client_cpu_ms_per_statement']:.2f}; the rest is the "
            "server, PostgreSQL's own processes and anything else running)"
        )
        for failure in phase["failures"][:3]:
            print(f"      e.g. {failure}")
    print(f"  durability and projection: {json.dumps(checks)}")
    ok = (
        checks["accepted_ids_missing"] == 0
        and checks["pending_after_drain"] == 0
        and checks["scored_statements"] > 0
        and checks["scored_without_attempt"] == 0
        and not checks["projection_states"].get("failed")
        and not single["failures"]
        and not batched["failures"]
    )
    print(
        "  verdict: "
        + (
            "every accepted statement stored and projected, every scored one a mastery attempt"
            if ok
            else "FAILED"
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
