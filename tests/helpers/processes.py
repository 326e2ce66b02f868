"""Real `mosu worker` processes for the tests that kill them, and what they leave behind."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from mosu.jobs.models import Job
from tests.conftest import TEST_SECRET

REPO = Path(__file__).resolve().parents[2]
MAIN = "from mosu.cli import main; main()"


def worker_env(database_url: str, tmp_path: Path, lease: float) -> dict[str, str]:
    """The environment of a `mosu worker` on ``database_url`` with a job lease of ``lease`` s."""
    return {
        **os.environ,
        "MOSU_DATABASE_URL": database_url,
        "MOSU_SECRET_KEY": TEST_SECRET,
        "MOSU_DATA_DIR": str(tmp_path / "data"),
        "MOSU_JOB_LEASE_SECONDS": str(lease),
        "MOSU_ALLOW_PRIVATE_ENDPOINTS": "true",  # the fake endpoints are on loopback
    }


@contextmanager
def worker_process(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """A `mosu worker` polling every 50 ms; killed (if still running) and reaped on exit."""
    child = subprocess.Popen(
        [sys.executable, "-c", MAIN, "worker", "--poll", "0.05", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()


def result_rows(store: Path) -> int:
    """How many results an evaluation run's SQLite store holds now (0 before it exists)."""
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def job_state(session: Session, job_id: int) -> Job:
    """The job as the database has it now (the session's transaction is ended after)."""
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    session.rollback()
    return job
