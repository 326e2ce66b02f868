"""`mosu worker` and the in-process worker of `mosu serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mosu import migrate, platform_cli
from mosu.cli import app
from mosu.core.db import make_engine
from mosu.jobs import queue
from mosu.jobs.models import JobState
from tests.conftest import TEST_SECRET
from tests.helpers.processes import job_state
from tests.helpers.waiting import wait_until
from tests.jobs import handlers

runner = CliRunner()


def _env(tmp_path: Path) -> dict[str, str]:
    return {"MOSU_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "MOSU_SECRET_KEY": TEST_SECRET}


def test_worker_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = runner.invoke(app, ["worker"], env=_env(tmp_path))
    assert result.exit_code == 1
    assert "mosu db upgrade" in result.output


def test_worker_refuses_an_unknown_kind(tmp_path: Path) -> None:
    env = _env(tmp_path)
    migrate.upgrade(make_engine(env["MOSU_DATABASE_URL"]))
    result = runner.invoke(app, ["worker", "--kind", "no.such"], env=env)
    assert result.exit_code == 1
    assert "no.such" in result.output


def test_serve_runs_jobs_in_process_and_stops_its_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert handlers.append  # registers test.append
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    ledger = tmp_path / "ledger.txt"
    seen: dict[str, Any] = {}

    def fake_uvicorn_run(app: object, **options: object) -> None:
        with Session(engine) as session:
            job_id = queue.enqueue(session, kind="test.append", payload={"file": str(ledger)}).id
            session.commit()
            wait_until(
                lambda: job_state(session, job_id).state == JobState.succeeded,
                timeout=20,
                what="the in-process worker to run the job",
            )
            seen["state"] = job_state(session, job_id).state

    monkeypatch.setattr(platform_cli.uvicorn, "run", fake_uvicorn_run)
    before = _worker_threads()
    settings = platform_cli.Settings.from_env({}, database_url=url, secret_key=TEST_SECRET)
    platform_cli._serve(settings)
    assert seen == {"state": JobState.succeeded}
    assert len(ledger.read_text(encoding="utf-8").splitlines()) == 1
    assert _worker_threads() == before  # the in-process worker stopped with the server
    engine.dispose()


def _worker_threads() -> int:
    import threading

    return sum(t.name.startswith("mosu-worker") for t in threading.enumerate())
