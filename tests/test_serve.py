"""`mosu serve --workers N`: several web processes on one port, sharing the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mosu import migrate
from mosu.db import make_engine
from tests.conftest import TEST_SECRET, free_port

REPO = Path(__file__).resolve().parents[1]


def test_serve_with_several_web_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mosu.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "MOSU_DATABASE_URL": url,
        "MOSU_SECRET_KEY": TEST_SECRET,
        "MOSU_EMBEDDED_WORKER": "false",
        "MOSU_DATA_DIR": str(tmp_path / "data"),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", "from mosu.cli import main; main()", "serve", "--workers", "2"],
        env={**env, "MOSU_PORT": str(port)},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/overview", timeout=5)
                break
            except httpx.TransportError:
                assert child.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200 and "organisations" in response.text
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert all(client.get("/api/v1/orgs").status_code == 200 for _ in range(20))
    finally:
        child.send_signal(signal.SIGTERM)
        _, errors = child.communicate(timeout=30)
    log = errors.decode()
    assert log.count("Started server process") == 2, log
