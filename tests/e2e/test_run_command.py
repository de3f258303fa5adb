"""The README's run command, for real: a subprocess serving on the embedded default."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_run_command_serves_docs_and_readiness_on_sqlite(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "MASTERYAI_ENV", "SECRET_KEY"}
    }
    env.update(PORT=str(port), MASTERYAI_INSTANCE_DIR=str(tmp_path))
    process = subprocess.Popen(
        ["bash", "scripts/run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"run command exited early:\n{process.stdout.read()}")
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            raise AssertionError("the app did not come up")
        for path in ("/api/docs", "/api/redoc", "/readyz"):
            assert requests.get(base + path, timeout=5).status_code == 200, path
        ready = requests.get(base + "/readyz", timeout=5).json()
        assert ready["checks"]["database"]["backend"] == "sqlite"
        assert ready["checks"]["cache"]["backend"] == "memory"
        assert (tmp_path / "masteryai.sqlite3").exists()
        login = requests.post(
            base + "/api/v1/auth/login",
            json={"email": "teacher@demo.example", "password": "demo-password"},
            timeout=5,
        )
        assert login.status_code == 200
        _student_launch_lands_in_demo_groups(base)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        process.stdout.close()


def _student_launch_lands_in_demo_groups(base: str) -> None:
    """*Launch as student* on the sandbox LMS, as a browser follows it: the student is
    in a group of each demo project, with teammates."""
    browser = requests.Session()
    page = browser.get(base + "/lti/sandbox/", timeout=10).text
    launches = json.loads(re.search(r"var launches = (\{.*?\});", page).group(1))
    login = browser.get(base + launches["student"], allow_redirects=False, timeout=10)
    assert login.status_code == 302, login.text[:500]
    autopost = browser.get(login.headers["Location"], timeout=10).text
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', autopost)
    }
    landing = browser.post(base + "/lti/launch", data=fields, timeout=10)
    assert landing.status_code == 200, landing.text[:500]
    session = json.loads(
        re.search(
            r'id="masteryai-session" type="application/json">(.*?)</script>', landing.text
        ).group(1)
    )
    assert session["role"] == "student"
    headers = {"Authorization": "Bearer " + session["token"]}
    projects_url = f"{base}/api/v1/courses/{session['course_id']}/projects"
    projects = requests.get(projects_url, headers=headers, timeout=10).json()
    assert sorted(p["status"] for p in projects) == ["closed", "open"]
    for project in projects:
        groups = requests.get(
            f"{projects_url}/{project['id']}/groups", headers=headers, timeout=10
        ).json()
        [group] = groups
        members = [m["user_id"] for m in group["members"]]
        assert session["user_id"] in members and len(members) > 1, group
