"""The README's run command, for real: a subprocess serving on the embedded default."""

from __future__ import annotations

import os
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
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        process.stdout.close()
