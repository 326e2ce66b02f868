"""Workers: claim a job, run its handler beside a heartbeat, record how it ended.

A handler is registered for a job ``kind`` with :func:`handler`; it receives a
:class:`JobContext` and returns a JSON-able result. A sync handler should look at
``ctx.stopping`` between steps; an async one is cancelled when the job must stop (its
lease lost, its cancellation requested, or the worker shutting down). A handler that raises
:class:`~mosu.core.errors.MosuError` (bad input: retrying cannot help) fails at once; any other
exception is retried after a backoff while attempts remain.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import inspect
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from mosu.core import clock, logs
from mosu.core.errors import MosuError
from mosu.core.metrics import metrics
from mosu.core.settings import Settings
from mosu.evals import aio
from mosu.evals.netpolicy import STRICT, AddressPolicy
from mosu.jobs import beats, queue
from mosu.jobs.models import Job, JobState

log = logging.getLogger("mosu.jobs")

Clock = Callable[[], dt.datetime]
SecretLookup = Callable[[str], str | None]
Handler = Callable[["JobContext"], Any]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register ``function`` as the handler of jobs of ``kind`` (e.g. ``eval.race``)."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


class JobStopped(Exception):
    """Raised inside a handler (by :meth:`JobContext.check`) when the job must stop."""


@dataclass
class JobContext:
    """What a handler knows about its job, and how it reports progress or notices a stop."""

    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    worker_id: str
    data_dir: Path
    engine: Engine | None = None
    secrets: SecretLookup | None = None
    ray_address: str | None = None
    eval_loop: str = "uvloop"
    address_policy: AddressPolicy = STRICT
    settings: Settings | None = None
    """The worker's settings (the e-mail server of notices, the site's address), if given."""
    stop: threading.Event = field(default_factory=threading.Event)
    _progress: tuple[int, int] | None = None

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    def check(self) -> None:
        """Raise :class:`JobStopped` when the job must stop (call between steps)."""
        if self.stop.is_set():
            raise JobStopped

    def progress(self, done: int, total: int) -> None:
        """Report progress; it is written with the next heartbeat, not on every call."""
        self._progress = (done, total)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs jobs one at a time: claim → handler with a heartbeat → complete or fail.

    ``clock`` and ``wait`` (how idle polling sleeps; it returns True when told to stop) are
    injectable so tests can move time without sleeping. ``address_policy`` says which
    addresses model endpoints may have (private networks refused unless the settings allow
    them: ``MOSU_ALLOW_PRIVATE_ENDPOINTS``).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        handlers: Mapping[str, Handler] | None = None,
        kinds: Sequence[str] | None = None,
        worker_id: str | None = None,
        lease_seconds: float = 30.0,
        heartbeat_seconds: float | None = None,
        poll_seconds: float = 1.0,
        data_dir: Path = Path("mosu-data"),
        ray_address: str | None = None,
        eval_loop: str = "uvloop",
        clock: Clock = clock.now,
        secrets: SecretLookup | None = None,
        address_policy: AddressPolicy = STRICT,
        settings: Settings | None = None,
        periodic: Sequence[beats.Periodic] = (),
        beat_seconds: float = 15.0,
    ) -> None:
        self.engine = engine
        self.beat_seconds = beat_seconds
        self.started_at = clock()
        self._last_beat: dt.datetime | None = None
        self.secrets = secrets
        self.address_policy = address_policy
        self.settings = settings
        self.handlers = dict(HANDLERS if handlers is None else handlers)
        self.kinds = [k for k in (kinds or self.handlers) if k in self.handlers]
        self.periodic = [p for p in periodic if p.kind in self.kinds]  # only jobs it runs
        self.worker_id = worker_id or default_worker_id()
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds or lease_seconds / 3
        self.poll_seconds = poll_seconds
        self.data_dir = data_dir
        self.ray_address = ray_address
        self.eval_loop = eval_loop
        self.clock = clock
        self.stopped = threading.Event()
        self._current: JobContext | None = None

    def stop(self) -> None:
        """Stop claiming; a running job is given back to the queue for another worker."""
        self.stopped.set()
        current = self._current
        if current is not None:
            current.stop.set()

    def run(self) -> None:
        """Work until :meth:`stop`; sleeps ``poll_seconds`` when the queue is empty."""
        while not self.stopped.is_set():
            try:
                self.beat()
                ran = self.run_once()
            except Exception:
                log.exception("worker %s: queue error", self.worker_id)
                ran = False
            if not ran:
                self.stopped.wait(self.poll_seconds)

    def beat(self) -> None:
        """Every ``beat_seconds``: say this worker is alive and queue the periodic jobs due."""
        now = self.clock()
        if self._last_beat is not None and (now - self._last_beat).total_seconds() < (
            self.beat_seconds
        ):
            return
        self._last_beat = now
        beats.beat(
            self.engine,
            self.worker_id,
            started_at=self.started_at,
            periodic=self.periodic,
            now=now,
        )

    def run_once(self) -> bool:
        """Claim one job and run it to its end; False when there was nothing to claim."""
        job = queue.claim(
            self.engine,
            worker_id=self.worker_id,
            kinds=self.kinds,
            lease_seconds=self.lease_seconds,
            now=self.clock(),
        )
        if job is None:
            return False
        race = job.payload.get("race_id")
        with logs.bound(job_id=job.id, race_id=race if isinstance(race, int) else None):
            log.debug("job %s (%s) started, attempt %s", job.id, job.kind, job.attempts)
            self._execute(job)
        return True

    def _execute(self, job: Job) -> None:
        ctx = JobContext(
            job_id=job.id,
            kind=job.kind,
            payload=dict(job.payload),
            attempt=job.attempts,
            worker_id=self.worker_id,
            data_dir=self.data_dir,
            engine=self.engine,
            secrets=self.secrets,
            ray_address=self.ray_address,
            eval_loop=self.eval_loop,
            address_policy=self.address_policy,
            settings=self.settings,
        )
        self._current = ctx
        if self.stopped.is_set():
            ctx.stop.set()
        verdict: dict[str, bool] = {"lost": False, "cancel": False}
        finished = threading.Event()
        context = contextvars.copy_context()  # the heartbeat's lines name the job too
        beater = threading.Thread(
            target=context.run,
            args=(self._beat, ctx, verdict, finished),
            name=f"mosu-heartbeat-{job.id}",
            daemon=True,
        )
        beater.start()
        outcome: tuple[str, Any]
        try:
            outcome = ("ok", _call(self.handlers[job.kind], ctx))
        except (JobStopped, asyncio.CancelledError):
            outcome = ("stopped", None)
        except MosuError as exc:
            outcome = ("invalid", exc.message)
        except Exception as exc:
            outcome = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
        finally:
            finished.set()
            beater.join()
            self._current = None
        self._record(ctx, outcome, verdict)

    def _record(self, ctx: JobContext, outcome: tuple[str, Any], verdict: dict[str, bool]) -> None:
        ended = self._settle(ctx, outcome, verdict)
        metrics().jobs_finished.labels(ctx.kind, ended).inc()
        if ended in ("failed", "retried"):
            first_line = str(outcome[1]).splitlines()[0] if outcome[1] else ""
            log.warning("job %s (%s) %s: %s", ctx.job_id, ctx.kind, ended, first_line)
        else:
            level = logging.DEBUG if ended == "succeeded" else logging.INFO
            log.log(level, "job %s (%s) %s", ctx.job_id, ctx.kind, ended)

    def _settle(self, ctx: JobContext, outcome: tuple[str, Any], verdict: dict[str, bool]) -> str:
        """Record how the job ended in the queue; the outcome's name for the metrics."""
        kind, value = outcome
        if verdict["lost"]:
            log.warning(
                "job %s: lease lost by %s; its result is dropped", ctx.job_id, ctx.worker_id
            )
            return "lost"
        now = self.clock()
        if kind == "ok":
            if not queue.complete(
                self.engine,
                ctx.job_id,
                self.worker_id,
                result=value,
                progress=ctx._progress,
                now=now,
            ):
                log.warning("job %s: lease lost before completion", ctx.job_id)
                return "lost"
            return "succeeded"
        if verdict["cancel"]:
            queue.acknowledge_cancel(self.engine, ctx.job_id, self.worker_id, now=now)
            return "cancelled"
        if kind == "stopped" or self.stopped.is_set():
            queue.release(self.engine, ctx.job_id, self.worker_id)
            return "released"
        state = queue.fail(
            self.engine,
            ctx.job_id,
            self.worker_id,
            error=str(value)[:4000],
            retry=kind != "invalid",
            now=now,
        )
        return {None: "lost", JobState.queued: "retried"}.get(state, "failed")

    def _beat(self, ctx: JobContext, verdict: dict[str, bool], finished: threading.Event) -> None:
        """Extend the lease every ``heartbeat_seconds``; stop the job when it is lost,
        cancelled, or the worker stops."""
        last_held = self.clock()
        while not finished.wait(self.heartbeat_seconds):
            if self.stopped.is_set():
                ctx.stop.set()
            try:
                beat = queue.heartbeat(
                    self.engine,
                    ctx.job_id,
                    self.worker_id,
                    lease_seconds=self.lease_seconds,
                    progress=ctx._progress,
                    now=self.clock(),
                )
            except Exception:
                log.exception("job %s: heartbeat failed", ctx.job_id)
                if (self.clock() - last_held).total_seconds() >= self.lease_seconds:
                    verdict["lost"] = True
                    ctx.stop.set()
                continue
            if not beat:
                verdict["lost"] = True
                ctx.stop.set()
                return
            last_held = self.clock()
            if beat.cancel_requested:
                verdict["cancel"] = True
                ctx.stop.set()


def _call(function: Handler, ctx: JobContext) -> Any:
    """Run a sync handler, or an async one on a loop of its own, cancelled when ``ctx`` stops.

    The loop is the engine's (``ctx.eval_loop``: uvloop where installed), so races run as
    jobs spend no more CPU per request than ``mosu eval run``."""
    if not inspect.iscoroutinefunction(function):
        return function(ctx)

    async def supervised() -> Any:
        task = asyncio.ensure_future(function(ctx))
        while not task.done():
            await asyncio.wait({task}, timeout=0.05)
            if ctx.stopping and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                raise JobStopped
        return task.result()

    return aio.run(supervised(), ctx.eval_loop)


class WorkerPool:
    """``concurrency`` workers in threads of this process, sharing one engine."""

    def __init__(self, workers: Sequence[Worker], *, owns_engine: bool = False) -> None:
        self.workers = list(workers)
        self.owns_engine = owns_engine
        self.threads = [
            threading.Thread(target=w.run, name=f"mosu-worker-{i}", daemon=True)
            for i, w in enumerate(self.workers)
        ]

    def start(self) -> WorkerPool:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, give running jobs back, and wait for the threads to end."""
        for worker in self.workers:
            worker.stop()
        for thread in self.threads:
            thread.join(timeout)
        if self.owns_engine and self.workers:
            self.workers[0].engine.dispose()

    def join(self) -> None:
        for thread in self.threads:
            while thread.is_alive():
                thread.join(0.5)


def make_pool(
    engine: Engine,
    *,
    concurrency: int,
    kinds: Sequence[str] | None = None,
    lease_seconds: float,
    poll_seconds: float = 1.0,
    data_dir: Path,
    secrets: Callable[[str], str | None] | None = None,
    ray_address: str | None = None,
    eval_loop: str = "uvloop",
    address_policy: AddressPolicy = STRICT,
    settings: Settings | None = None,
    periodic: Sequence[beats.Periodic] = (),
) -> WorkerPool:
    """A pool of ``concurrency`` workers for the registered handlers (registered by
    :func:`mosu.startup.load_registrations`); ``secrets`` looks up model API keys by reference
    (``endpoint:ID``) for the evaluation engine."""
    prefix = default_worker_id()
    return WorkerPool(
        [
            Worker(
                engine,
                kinds=kinds,
                worker_id=f"{prefix}/{i}",
                lease_seconds=lease_seconds,
                poll_seconds=poll_seconds,
                data_dir=data_dir,
                secrets=secrets,
                ray_address=ray_address,
                eval_loop=eval_loop,
                address_policy=address_policy,
                settings=settings,
                periodic=periodic if i == 0 else (),
            )
            for i in range(concurrency)
        ]
    )
