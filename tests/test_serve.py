"""`mosu serve --workers N`: several web processes on one port, sharing the database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mosu import migrate
from mosu.core.db import make_engine
from tests.conftest import TEST_SECRET, free_port
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.processes, pytest.mark.slow]

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
        answered: list[httpx.Response] = []

        def up() -> bool:
            assert child.poll() is None, "mosu serve exited"
            try:
                answered.append(httpx.get(f"http://127.0.0.1:{port}/api/v1/overview", timeout=5))
            except httpx.TransportError:
                return False
            return True

        wait_until(up, timeout=60, interval=0.1, what="mosu serve to answer")
        response = answered[0]
        assert response.status_code == 200 and "organisations" in response.text
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert all(client.get("/api/v1/orgs").status_code == 200 for _ in range(20))
    finally:
        child.send_signal(signal.SIGTERM)
        _, errors = child.communicate(timeout=30)
    log = errors.decode()
    assert log.count("Started server process") == 2, log
