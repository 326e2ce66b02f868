"""The queue's rules on SQLite and PostgreSQL: claims, leases, retries, cancel, rerun."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from mosu.core.errors import Conflict
from mosu.jobs import queue
from mosu.jobs.models import Job, JobState

T0 = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
KINDS = ["k"]


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _enqueue(session: Session, n: int = 1, **kw: object) -> list[int]:
    ids = [queue.enqueue(session, kind="k", payload={"i": i}, now=T0, **kw).id for i in range(n)]  # type: ignore[arg-type]
    session.commit()
    return ids


def _job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    return job


def _claim(engine: Engine, worker: str, now: dt.datetime = T0, lease: float = 10) -> Job | None:
    return queue.claim(engine, worker_id=worker, kinds=KINDS, lease_seconds=lease, now=now)


def test_enqueue_claim_complete(engine: Engine, session: Session) -> None:
    [job_id] = _enqueue(session)
    assert queue.claim(engine, worker_id="w", kinds=["other"], lease_seconds=10, now=T0) is None
    job = _claim(engine, "w")
    assert job is not None and job.id == job_id
    assert job.state == JobState.running and job.attempts == 1 and job.lease_owner == "w"
    assert job.payload == {"i": 0}
    assert _claim(engine, "w2") is None
    assert queue.complete(engine, job_id, "w", result={"score": 0.9}, now=at(1))
    done = _job(session, job_id)
    assert done.state == JobState.succeeded and done.result == {"score": 0.9}
    assert done.finished_at == at(1) and done.lease_owner is None


def test_priority_then_age_and_queue_position(engine: Engine, session: Session) -> None:
    low = _enqueue(session, 3)
    high = queue.enqueue(session, kind="k", priority=5, now=T0).id
    session.commit()
    assert [queue.position(session, i) for i in [high, *low]] == [1, 2, 3, 4]
    first = _claim(engine, "w")
    assert first is not None and first.id == high
    assert queue.position(session, high) is None
    assert [queue.position(session, i) for i in low] == [1, 2, 3]
    queue.progress(session, high, 3, 10)
    session.commit()
    assert _job(session, high).progress == {"done": 3, "total": 10}


@pytest.mark.parametrize("threads", [8])
def test_no_job_is_claimed_twice_under_concurrency(
    engine: Engine, session: Session, threads: int
) -> None:
    ids = _enqueue(session, 200)
    claimed: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def claimer(n: int) -> None:
        try:
            start.wait()
            while (job := _claim(engine, f"w{n}")) is not None:
                claimed[n].append(job.id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=claimer, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    every = [i for c in claimed for i in c]
    assert sorted(every) == ids  # each job exactly once
    assert sum(1 for c in claimed if c) > 1  # the claims really were spread out
    rows = session.query(Job).populate_existing().all()
    assert {j.state for j in rows} == {JobState.running}
    assert all(j.attempts == 1 for j in rows)
    owners = {j.id: j.lease_owner for j in rows}
    for n, mine in enumerate(claimed):
        assert all(owners[i] == f"w{n}" for i in mine)


def test_expired_lease_is_reclaimed_and_attempts_run_out(engine: Engine, session: Session) -> None:
    [job_id] = _enqueue(session, max_attempts=2)
    first = _claim(engine, "dead", lease=10)
    assert first is not None
    assert _claim(engine, "w2", now=at(9)) is None  # the lease still holds
    second = _claim(engine, "w2", now=at(11))
    assert second is not None and second.id == job_id and second.attempts == 2
    # the dead worker comes back: its lease is gone, it may not write anything
    beat = queue.heartbeat(engine, job_id, "dead", lease_seconds=10, now=at(12))
    assert not beat
    assert not queue.complete(engine, job_id, "dead", result="stale", now=at(12))
    assert queue.fail(engine, job_id, "dead", error="x", now=at(12)) is None
    assert _job(session, job_id).lease_owner == "w2"
    # the second worker dies too: no attempts left, so the job fails with the reason
    assert _claim(engine, "w3", now=at(30)) is None
    failed = _job(session, job_id)
    assert failed.state == JobState.failed and failed.attempts == 2
    assert failed.error is not None and "lease expired" in failed.error and "w2" in failed.error
    assert failed.finished_at == at(30)


def test_heartbeat_extends_the_lease_and_reports_progress(engine: Engine, session: Session) -> None:
    [job_id] = _enqueue(session)
    assert _claim(engine, "w", lease=10) is not None
    beat = queue.heartbeat(engine, job_id, "w", lease_seconds=10, progress=(4, 8), now=at(8))
    assert beat and not beat.cancel_requested
    assert _claim(engine, "thief", now=at(15)) is None  # extended to 18 s
    job = _job(session, job_id)
    assert job.lease_expires_at == at(18) and job.progress == {"done": 4, "total": 8}
    assert not queue.heartbeat(engine, job_id, "thief", lease_seconds=10, now=at(16))


def test_failure_retries_with_backoff_then_fails(engine: Engine, session: Session) -> None:
    [job_id] = _enqueue(session, max_attempts=2)
    assert _claim(engine, "w") is not None
    state = queue.fail(engine, job_id, "w", error="boom", now=at(1), backoff_seconds=5)
    assert state == JobState.queued
    job = _job(session, job_id)
    assert job.available_at == at(6) and job.error == "boom" and job.lease_owner is None
    assert _claim(engine, "w", now=at(5)) is None  # backing off
    again = _claim(engine, "w", now=at(6))
    assert again is not None and again.attempts == 2
    assert queue.fail(engine, job_id, "w", error="boom 2", now=at(7)) == JobState.failed
    job = _job(session, job_id)
    assert job.state == JobState.failed and job.error == "boom 2" and job.finished_at == at(7)


def test_fail_without_retry_is_final(engine: Engine, session: Session) -> None:
    [job_id] = _enqueue(session, max_attempts=5)
    assert _claim(engine, "w") is not None
    assert queue.fail(engine, job_id, "w", error="bad payload", retry=False) == JobState.failed


def test_cancel_queued_running_and_finished(engine: Engine, session: Session) -> None:
    queued, running = _enqueue(session, 2)
    assert queue.cancel(session, queued, now=at(1)).state == JobState.cancelled
    session.commit()
    job = _claim(engine, "w")
    assert job is not None and job.id == running
    asked = queue.cancel(session, running)
    session.commit()
    assert asked.state == JobState.running and asked.cancel_requested
    beat = queue.heartbeat(engine, running, "w", lease_seconds=10, now=at(2))
    assert beat and beat.cancel_requested
    assert queue.acknowledge_cancel(engine, running, "w", now=at(3))
    assert _job(session, running).state == JobState.cancelled
    assert queue.cancel(session, running).state == JobState.cancelled  # no-op when finished


def test_a_cancelled_job_whose_worker_died_ends_cancelled(engine: Engine, session: Session) -> None:
    [job_id] = _enqueue(session)
    assert _claim(engine, "dead", lease=10) is not None
    queue.cancel(session, job_id)
    session.commit()
    assert _claim(engine, "w", now=at(20)) is None
    assert _job(session, job_id).state == JobState.cancelled


def test_rerun_finished_failed_cancelled(engine: Engine, session: Session) -> None:
    [job_id] = _enqueue(session, max_attempts=1)
    with pytest.raises(Conflict):
        queue.rerun(session, job_id)
    assert _claim(engine, "w") is not None
    with pytest.raises(Conflict):
        queue.rerun(session, job_id)
    assert queue.fail(engine, job_id, "w", error="boom", now=at(1)) == JobState.failed
    job = queue.rerun(session, job_id, now=at(2))
    session.commit()
    assert job.state == JobState.queued and job.attempts == 0 and job.error is None
    again = _claim(engine, "w", now=at(2))
    assert again is not None and again.attempts == 1
    assert queue.complete(engine, job_id, "w", result=1)
    assert queue.rerun(session, job_id).state == JobState.queued
    session.commit()
    queue.cancel(session, job_id)
    assert queue.rerun(session, job_id).state == JobState.queued


def test_release_gives_the_job_back_without_counting(engine: Engine, session: Session) -> None:
    [job_id] = _enqueue(session)
    assert _claim(engine, "w") is not None
    assert queue.release(engine, job_id, "w")
    job = _job(session, job_id)
    assert job.state == JobState.queued and job.attempts == 0


def test_on_change_runs_in_the_transaction_that_changes_the_job(
    engine: Engine, session: Session
) -> None:
    seen: list[tuple[int, JobState, str | None]] = []

    def follow(conn: Connection, change: queue.JobChange) -> None:
        assert conn.in_transaction()
        if change.error == "refuse":
            raise RuntimeError("the hook refuses")
        seen.append((change.job_id, change.state, change.error))

    queue.on_change("followed", follow)
    queue.on_change("followed", follow)  # registered once
    try:
        job_id = queue.enqueue(session, kind="followed", now=T0).id
        session.commit()
        claimed = queue.claim(engine, worker_id="w", kinds=["followed"], lease_seconds=10, now=T0)
        assert claimed is not None
        assert queue.fail(engine, job_id, "w", error="boom", now=at(1)) is JobState.queued
        assert seen == [(job_id, JobState.running, None), (job_id, JobState.queued, "boom")]
        queue.claim(engine, worker_id="w", kinds=["followed"], lease_seconds=10, now=at(60))
        with pytest.raises(RuntimeError):  # the hook fails: so does the job's change
            queue.fail(engine, job_id, "w", error="refuse", retry=False, now=at(61))
        assert _job(session, job_id).state is JobState.running
        queue.cancel(session, job_id)  # running: only asked to stop, no state change
        session.commit()
        assert queue.acknowledge_cancel(engine, job_id, "w", now=at(62))
        assert seen[-1] == (job_id, JobState.cancelled, "boom")
    finally:
        queue._HOOKS.pop("followed")
