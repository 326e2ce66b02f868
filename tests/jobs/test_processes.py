"""Real `mosu worker` processes: killed with SIGKILL mid-race, and several draining a queue."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu.evals.fakeserver import prompt_key, serve_in_thread
from mosu.evals.tasks import load_task
from mosu.jobs import queue
from mosu.jobs.models import Job, JobState
from mosu.jobs.run_store import DatabaseRunStore
from tests.conftest import on_primary_database
from tests.helpers.evals import answer_config, toy_task_file
from tests.helpers.processes import job_state, worker_env, worker_process
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.processes


def _attempts(store: DatabaseRunStore) -> dict[str, int]:
    return {i: o.attempts for i, o in store.finished("m").items()}


APPEND_WORKER = ("--import", "tests.jobs.handlers", "--kind", "test.append", "--concurrency", "2")


@contextmanager
def append_workers(
    env: dict[str, str],
) -> Iterator[tuple[tuple[subprocess.Popen[bytes], ...], list[str]]]:
    """Three ``test.append`` worker processes, started (each has printed its start-up line,
    so its SIGTERM handler is set), and their worker ids."""
    with (
        worker_process(env, *APPEND_WORKER) as a,
        worker_process(env, *APPEND_WORKER) as b,
        worker_process(env, *APPEND_WORKER) as c,
    ):
        names = []
        for child in (a, b, c):
            assert child.stdout is not None
            names.append(child.stdout.readline().decode().split()[1].rstrip(":"))
        yield (a, b, c), names


def _drained(session: Session) -> bool:
    states = {j.state for j in session.query(Job).populate_existing()}
    session.rollback()
    return states == {JobState.succeeded}


def _queue_appends(session: Session, ledger: Path, count: int, *, sleep: float) -> list[int]:
    """``count`` jobs that each sleep, then append a line to ``ledger``; their ids."""
    ledger.touch()
    payload = {"file": str(ledger), "sleep": sleep}
    ids = [queue.enqueue(session, kind="test.append", payload=payload).id for _ in range(count)]
    session.commit()
    return ids


@on_primary_database  # the claims race on both databases in tests/jobs/test_queue*.py
def test_killed_worker_job_is_reclaimed_and_repeats_no_request(
    database_url: str, engine: Engine, session: Session, tmp_path: Path
) -> None:
    task_file = toy_task_file(tmp_path, 300)
    task = load_task(task_file)
    key_of = {s.id: prompt_key(task.messages(s)[-1]["content"]) for s in task.samples()}
    store = DatabaseRunStore(engine, "eval.race:race")
    env = worker_env(database_url, tmp_path, lease=1.5)
    with serve_in_thread(answer_config(task, latency=0.02, accuracy=0.7)) as (url, server):
        job_id = queue.enqueue(
            session,
            kind="eval.race",
            payload={
                "task": str(task_file),
                "models": {"m": f"openai:{url}#m?concurrency=2"},
                "store": "race",
                "replicates": 50,
            },
        ).id
        session.commit()
        with worker_process(env) as first:
            wait_until(
                lambda: store.count() >= 30 or first.poll() is not None,
                what="the first samples",
            )
            assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
            first.send_signal(signal.SIGKILL)
            first.wait()
        done_at_kill = _attempts(store)
        assert 30 <= len(done_at_kill) < 300
        killed = job_state(session, job_id)
        assert killed.state == JobState.running and killed.attempts == 1

        other_disk = {**env, "MOSU_DATA_DIR": str(tmp_path / "second")}  # another machine's
        with worker_process(other_disk, "--kind", "eval.race") as second:
            wait_until(
                lambda: (
                    job_state(session, job_id).state != JobState.running
                    or second.poll() is not None
                ),
                what="the second worker to finish the race",
            )
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, second.stderr.read().decode() if second.stderr else ""

        job = job_state(session, job_id)
        assert job.state == JobState.succeeded, job.error
        assert job.attempts == 2 and job.lease_owner is None
        assert job.result is not None and job.result["samples"] == 300
        assert job.progress == {"done": 300, "total": 300}
        # a sample completed before the kill was sent exactly as often as it was recorded
        # then, and never again by the second worker
        repeated = [i for i, n in done_at_kill.items() if server.counts[key_of[i]] != n]
        assert repeated == []
        assert len(_attempts(store)) == 300


@on_primary_database  # the claims race on both databases in tests/jobs/test_queue*.py
def test_several_worker_processes_drain_the_queue_once_each(
    database_url: str, engine: Engine, session: Session, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.txt"
    ids = _queue_appends(session, ledger, 50, sleep=0.02)
    env = worker_env(database_url, tmp_path, lease=5)
    with append_workers(env) as (children, _names):
        wait_until(
            lambda: _drained(session) or any(p.poll() is not None for p in children),
            what="the queue",
        )
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            assert child.wait(30) == 0, child.stderr.read().decode() if child.stderr else ""
    runs = [line.split() for line in ledger.read_text(encoding="utf-8").splitlines()]
    executed = Counter(int(r[0]) for r in runs)
    assert sorted(executed) == ids
    assert set(executed.values()) == {1}  # no job ran twice
    assert all(r[1] == "1" for r in runs)  # and none needed a second attempt


@on_primary_database  # the claims race on both databases in tests/jobs/test_queue*.py
def test_several_workers_one_killed_lose_no_job_and_run_none_twice_at_once(
    database_url: str, engine: Engine, session: Session, tmp_path: Path
) -> None:
    """Three worker processes share the queue; one is killed with SIGKILL while it runs
    jobs. Its jobs are claimed again once their leases run out; every job succeeds, and
    no job was ever held by two workers (each execution line is a distinct attempt)."""
    ledger = tmp_path / "ledger.txt"
    ids = _queue_appends(session, ledger, 40, sleep=0.3)
    env = worker_env(database_url, tmp_path, lease=1.5)
    with append_workers(env) as (children, names):
        a, b, victim = children

        def victim_running() -> list[int]:
            found = [
                j.id
                for j in session.query(Job).populate_existing()
                if j.state == JobState.running and (j.lease_owner or "").startswith(names[2])
            ]
            session.rollback()
            return found

        def caught_running() -> bool:
            """Freeze the victim; keep it frozen if it holds a job, else let it go on (it
            was between jobs: a job finished between a look and a kill is not orphaned)."""
            victim.send_signal(signal.SIGSTOP)
            if victim_running() or victim.poll() is not None:
                return True
            victim.send_signal(signal.SIGCONT)
            return False

        wait_until(caught_running, what="the victim's jobs")
        orphaned = set(victim_running())
        victim.send_signal(signal.SIGKILL)
        victim.wait()

        wait_until(
            lambda: _drained(session) or any(p.poll() is not None for p in (a, b)), what="the queue"
        )
        for child in (a, b):
            child.send_signal(signal.SIGTERM)
        for child in (a, b):
            assert child.wait(30) == 0, child.stderr.read().decode() if child.stderr else ""
    assert orphaned
    jobs = {j.id: j for j in session.query(Job).populate_existing()}
    assert sorted(jobs) == ids and all(j.state == JobState.succeeded for j in jobs.values())
    retried = {i for i, j in jobs.items() if j.attempts > 1}
    assert orphaned <= retried and len(retried) <= 2  # only what the victim held, at most 2
    runs = [line.split() for line in ledger.read_text(encoding="utf-8").splitlines()]
    executions = Counter((int(r[0]), int(r[1])) for r in runs)
    assert set(executions.values()) == {1}  # never two executions of one attempt
    assert {job for job, _ in executions} == set(ids)  # none lost
    assert all(
        job in retried for (job, attempt) in executions if attempt > 1
    )  # repeats only for the victim's jobs
    assert all(int(r[2]) != victim.pid or int(r[1]) == 1 for r in runs)
