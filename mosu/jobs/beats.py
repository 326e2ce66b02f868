"""Workers' heartbeats, the queue's state at a glance, and jobs a worker queues on a schedule.

A worker writes its heartbeat (:func:`beat`) as it polls, so ``/readyz`` and ``mosu doctor``
can tell that some worker is alive even while the queue is empty. On each beat it also
queues the periodic jobs that are due (:class:`Periodic`, e.g. the retention clean-up): a
job of that kind is queued only when none is waiting or running and none was queued within
its interval, so any number of workers queue it once.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.settings import Settings
from mosu.jobs import queue
from mosu.jobs.models import Job, JobState, WorkerBeat

STALE_BEATS = dt.timedelta(days=1)
"""A worker silent this long is forgotten (its row deleted by the next beat of another)."""


@dataclass(frozen=True)
class Periodic:
    """A job of ``kind`` (with ``payload``) that workers queue every ``every`` seconds."""

    kind: str
    every: float
    payload: dict[str, Any] = field(default_factory=dict)


Schedule = Callable[[Settings], Periodic]
SCHEDULES: dict[str, Schedule] = {}


def scheduled(kind: str) -> Callable[[Schedule], Schedule]:
    """Register how ``settings`` make the periodic job of ``kind`` (domains do, at start)."""

    def register(function: Schedule) -> Schedule:
        SCHEDULES[kind] = function
        return function

    return register


def periodic_jobs(settings: Settings) -> list[Periodic]:
    """Every registered periodic job, as ``settings`` configure it."""
    return [make(settings) for make in SCHEDULES.values()]


def beat(
    engine: Engine,
    worker_id: str,
    *,
    started_at: dt.datetime,
    periodic: Sequence[Periodic] = (),
    now: dt.datetime | None = None,
) -> None:
    """Record that ``worker_id`` is alive, forget long-silent workers, queue due jobs."""
    moment = now or clock.now()
    with Session(engine) as session, session.begin():
        seen = session.execute(
            update(WorkerBeat).where(WorkerBeat.worker_id == worker_id).values(seen_at=moment)
        )
        if not seen.rowcount:  # type: ignore[attr-defined]
            session.execute(
                insert(WorkerBeat).values(
                    worker_id=worker_id,
                    host=socket.gethostname()[:200],
                    pid=os.getpid(),
                    started_at=started_at,
                    seen_at=moment,
                )
            )
        session.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < moment - STALE_BEATS))
        for job in periodic:
            _queue_if_due(session, job, moment)


def _queue_if_due(session: Session, job: Periodic, now: dt.datetime) -> None:
    pending = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.kind == job.kind,
            (Job.state.in_([JobState.queued, JobState.running]))
            | (Job.created_at > now - dt.timedelta(seconds=job.every)),
        )
    )
    if not pending:
        queue.enqueue(session, kind=job.kind, payload=dict(job.payload), now=now)


def last_beat(session: Session) -> dt.datetime | None:
    """When any worker last beat (``None``: never, or forgotten)."""
    return session.scalar(select(func.max(WorkerBeat.seen_at)))


@dataclass(frozen=True)
class QueueState:
    """How many jobs wait and run, by kind, and how long the oldest has waited."""

    queued: dict[str, int]
    running: dict[str, int]
    oldest_queued_seconds: float


def queue_state(session: Session, *, now: dt.datetime | None = None) -> QueueState:
    """The queue as it stands (two aggregate queries on the queue's own index)."""
    moment = now or clock.now()
    counts: dict[JobState, dict[str, int]] = {JobState.queued: {}, JobState.running: {}}
    rows = session.execute(
        select(Job.state, Job.kind, func.count())
        .where(Job.state.in_([JobState.queued, JobState.running]))
        .group_by(Job.state, Job.kind)
    )
    for state, kind, count in rows:
        counts[state][kind] = int(count)
    oldest = session.scalar(
        select(func.min(Job.available_at)).where(
            Job.state == JobState.queued, Job.available_at <= moment
        )
    )
    age = (moment - clock.local(oldest)).total_seconds() if oldest is not None else 0.0
    return QueueState(counts[JobState.queued], counts[JobState.running], max(0.0, age))
