from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mosu.evals import run
from mosu.evals.fakeserver import prompt_key, serve_in_thread
from mosu.evals.tasks import load_task
from tests.helpers.evals import answer_config, toy_task_file
from tests.helpers.processes import result_rows
from tests.helpers.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


def _finished_ids(store: Path) -> set[str]:
    with sqlite3.connect(store) as conn:
        return {r[0] for r in conn.execute("SELECT sample_id FROM results WHERE model = 'm'")}


@pytest.mark.processes
def test_kill_minus_9_then_resume_repeats_no_completed_request(tmp_path: Path) -> None:
    task_file = toy_task_file(tmp_path, 400)
    task = load_task(task_file)
    key_of = {s.id: prompt_key(task.messages(s)[-1]["content"]) for s in task.samples()}
    config = answer_config(
        task, latency=0.01, accuracy=0.7, faults={"server_error": 0.05}, retry_after=0
    )
    out = tmp_path / "run"
    with serve_in_thread(config) as (url, server):
        spec = f"m=openai:{url}#m?concurrency=4&backoff=0.001&retries=20"
        command = [
            sys.executable,
            "-m",
            "mosu.evals.cli",
            "run",
            str(task_file),
            "--model",
            spec,
            "--out",
            str(out),
            "-q",
        ]
        child = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_until(
            lambda: result_rows(out / "run.sqlite") >= 60 or child.poll() is not None,
            timeout=60,
            interval=0.01,
            what="the first 60 results",
        )
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL, (
            child.stderr.read().decode() if child.stderr else ""
        )
        if child.stderr:
            child.stderr.close()
        done_at_kill = _finished_ids(out / "run.sqlite")
        assert 60 <= len(done_at_kill) < 400
        served_before = server.requests

        resumed = subprocess.run(
            [*command, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=120
        )
        assert resumed.returncode == 0, resumed.stderr
        for sample_id in done_at_kill:
            assert server.counts[key_of[sample_id]] >= 1
        # a completed sample was asked once, before the kill, and never again
        repeated = [
            i for i in done_at_kill if server.counts[key_of[i]] != _attempts(out / "run.sqlite", i)
        ]
        assert repeated == []
        assert server.requests > served_before

    with serve_in_thread(answer_config(task, latency=0.0, accuracy=0.7)) as (url, _):
        clean = run(task, {"m": f"openai:{url}#m"}, store=tmp_path / "clean.sqlite")
    resumed_result = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert resumed_result["models"][0]["metrics"] == clean.model_dump()["models"][0]["metrics"]
    samples = [
        json.loads(line)
        for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(samples) == 400 and all(s["error"] is None for s in samples)


def _attempts(store: Path, sample_id: str) -> int:
    with sqlite3.connect(store) as conn:
        return int(
            conn.execute(
                "SELECT attempts FROM results WHERE sample_id = ?", (sample_id,)
            ).fetchone()[0]
        )
