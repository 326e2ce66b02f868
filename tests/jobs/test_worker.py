"""Workers in this process: handlers, heartbeats, cancellation, lost leases, eval.race."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.credentials import CredentialBox
from mosu.evals.fakeserver import serve_in_thread
from mosu.evals.netpolicy import LOCAL
from mosu.jobs import queue
from mosu.jobs.handlers import eval_race
from mosu.jobs.models import Job, JobState
from mosu.jobs.worker import JobContext, Worker, make_pool
from mosu.registry.endpoints import endpoint_secrets
from mosu.registry.models import ModelEndpoint
from tests.conftest import TEST_SECRET, make_org
from tests.helpers.evals import answer_config, toy_task, toy_task_file


def _job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    return job


def _worker(engine: Engine, handlers: dict[str, Any], **kw: Any) -> Worker:
    options: dict[str, Any] = {"lease_seconds": 5, "heartbeat_seconds": 0.02, "poll_seconds": 0.01}
    options["address_policy"] = LOCAL  # the fake endpoints are on loopback
    options.update(kw)
    return Worker(engine, handlers=handlers, **options)


def _enqueue(session: Session, kind: str = "k", **kw: Any) -> int:
    job_id = queue.enqueue(session, kind=kind, **kw).id
    session.commit()
    return job_id


def test_worker_runs_a_handler_to_success(engine: Engine, session: Session) -> None:
    def double(ctx: JobContext) -> dict[str, int]:
        ctx.progress(1, 1)
        return {"twice": ctx.payload["n"] * 2}

    job_id = _enqueue(session, payload={"n": 21})
    worker = _worker(engine, {"k": double})
    assert worker.run_once()
    assert not worker.run_once()
    job = _job(session, job_id)
    assert job.state == JobState.succeeded and job.result == {"twice": 42}


def test_async_handlers_run_too(engine: Engine, session: Session) -> None:
    async def hello(ctx: JobContext) -> str:
        return f"hello {ctx.payload['who']}"

    job_id = _enqueue(session, payload={"who": "模速"})
    assert _worker(engine, {"k": hello}).run_once()
    assert _job(session, job_id).result == "hello 模速"


def test_a_raising_handler_is_retried_then_failed(engine: Engine, session: Session) -> None:
    calls: list[int] = []

    def broken(ctx: JobContext) -> None:
        calls.append(ctx.attempt)
        raise RuntimeError("endpoint exploded")

    job_id = _enqueue(session, max_attempts=2)
    now = [clock.now()]
    worker = _worker(engine, {"k": broken}, clock=lambda: now[0])
    assert worker.run_once()
    job = _job(session, job_id)
    assert job.state == JobState.queued and "endpoint exploded" in (job.error or "")
    assert not worker.run_once()  # backing off
    now[0] += dt.timedelta(minutes=10)
    assert worker.run_once()
    job = _job(session, job_id)
    assert job.state == JobState.failed and calls == [1, 2]


def test_cancelling_a_running_job_stops_it(engine: Engine, session: Session) -> None:
    started = threading.Event()
    steps: list[int] = []

    def long(ctx: JobContext) -> None:
        started.set()
        for i in range(10_000):
            ctx.check()
            steps.append(i)
            threading.Event().wait(0.005)

    job_id = _enqueue(session)
    worker = _worker(engine, {"k": long})
    runner = threading.Thread(target=worker.run_once)
    runner.start()
    assert started.wait(10)
    queue.cancel(session, job_id)
    session.commit()
    runner.join(30)
    assert not runner.is_alive()
    assert _job(session, job_id).state == JobState.cancelled
    assert len(steps) < 10_000


def test_a_worker_that_lost_its_lease_stops_and_writes_nothing(
    engine: Engine, session: Session
) -> None:
    started = threading.Event()
    stopped = threading.Event()

    def blocking(ctx: JobContext) -> str:
        started.set()
        ctx.stop.wait(30)
        stopped.set()
        return "stale result"

    job_id = _enqueue(session)
    slow = _worker(engine, {"k": blocking}, worker_id="slow")
    runner = threading.Thread(target=slow.run_once)
    runner.start()
    assert started.wait(10)
    later = clock.now() + dt.timedelta(minutes=5)  # the lease has long expired by this clock
    stolen = queue.claim(engine, worker_id="thief", kinds=["k"], lease_seconds=600, now=later)
    assert stolen is not None and stolen.attempts == 2
    runner.join(30)
    assert stopped.is_set() and not runner.is_alive()
    job = _job(session, job_id)
    assert job.state == JobState.running and job.lease_owner == "thief" and job.result is None


def test_stopping_a_worker_gives_its_job_back(engine: Engine, session: Session) -> None:
    started = threading.Event()

    def blocking(ctx: JobContext) -> None:
        started.set()
        ctx.stop.wait(30)
        ctx.check()

    job_id = _enqueue(session)
    worker = _worker(engine, {"k": blocking})
    runner = threading.Thread(target=worker.run)
    runner.start()
    assert started.wait(10)
    worker.stop()
    runner.join(30)
    job = _job(session, job_id)
    assert job.state == JobState.queued and job.attempts == 0 and job.lease_owner is None


def test_eval_race_handler_runs_the_engine(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    def requests_counted() -> float:
        labels = {"race": "", "endpoint": "fake"}
        return REGISTRY.get_sample_value("mosu_race_requests_total", labels) or 0.0

    counted = requests_counted()
    task = toy_task(tmp_path, 40)
    with serve_in_thread(answer_config(task, accuracy=0.8)) as (url, server):
        job_id = _enqueue(
            session,
            kind="eval.race",
            payload={
                "task": str(toy_task_file(tmp_path, 40)),
                "models": {"fake": f"openai:{url}#m", "majority": "baseline:majority"},
                "store": "races/1/run.sqlite",
                "results": "races/1/results.json",
                "replicates": 50,
            },
        )
        worker = _worker(engine, {"eval.race": eval_race}, data_dir=tmp_path / "data")
        assert worker.run_once()
        assert server.requests == 40
    job = _job(session, job_id)
    assert job.state == JobState.succeeded, job.error
    assert job.result is not None and job.result["samples"] == 40
    assert {m["name"] for m in job.result["models"]} == {"fake", "majority"}
    assert (tmp_path / "data" / "races" / "1" / "results.json").exists()
    assert requests_counted() - counted == 40  # the platform's races tell /metrics


def test_eval_race_reads_a_stored_endpoint_key(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    """``key_ref=endpoint:ID`` reaches the registered endpoint's encrypted key through a pool
    made with the settings' secret key; the endpoint refuses calls without it."""
    org = make_org(session, 1, "甲智能科技有限公司")
    box = CredentialBox(TEST_SECRET)
    endpoint = ModelEndpoint(
        organisation_id=org, name="主力", base_url="http://x/v1", model_name="m",
        api_key_encrypted=box.seal("sk-stored"),
    )  # fmt: skip
    session.add(endpoint)
    session.commit()
    task = toy_task(tmp_path, 20)
    config = answer_config(task, api_key="sk-stored")
    with serve_in_thread(config) as (url, server):
        payloads = [
            {
                "models": {"m": f"openai:{url}#m?key_ref=endpoint:{endpoint.id}"},
                "store": "a.sqlite",
            },
            {"models": {"m": f"openai:{url}#m?retries=0"}, "store": "b.sqlite"},
            {"models": {"m": f"openai:{url}#m?key_ref=endpoint:999"}, "store": "c.sqlite"},
        ]
        ids = [
            _enqueue(
                session, kind="eval.race", payload={"task": str(toy_task_file(tmp_path, 20)), **p}
            )
            for p in payloads
        ]
        pool = make_pool(
            engine,
            concurrency=1,
            lease_seconds=5,
            data_dir=tmp_path / "data",
            secrets=endpoint_secrets(engine, box),
            address_policy=LOCAL,
        )
        for _ in ids:
            assert pool.workers[0].run_once()
    stored, keyless, unknown = (_job(session, i) for i in ids)
    assert stored.state == JobState.succeeded and stored.result is not None
    assert stored.result["models"][0]["value"] == 1.0 and stored.result["models"][0]["errors"] == 0
    assert keyless.state == JobState.succeeded and keyless.result is not None
    # HTTP 401 stops the model at once; it is listed as failed, not ranked
    assert keyless.result["models"] == []
    assert keyless.result["failed"] == [
        {"name": "m", "reason": "stopped: HTTP 401 from the endpoint"}
    ]
    assert unknown.state == JobState.failed and "no stored key named 'endpoint:999'" in (
        unknown.error or ""
    )
    assert server.requests == 20  # the refused calls were never answered


def test_bad_input_fails_at_once_without_retries(engine: Engine, session: Session) -> None:
    job_id = _enqueue(session, kind="eval.race", payload={"task": "no_such_task"})
    assert _worker(engine, {"eval.race": eval_race}).run_once()
    job = _job(session, job_id)
    assert job.state == JobState.failed and job.attempts == 1
    assert job.error == "eval.race 任务的参数缺少 models, store"
