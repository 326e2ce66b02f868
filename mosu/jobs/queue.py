"""The durable job queue: enqueue, claim with a lease, heartbeat, finish, cancel, rerun.

Two kinds of callers:

* operators and pages (``enqueue``, ``cancel``, ``rerun``, ``position``, ``progress``) pass
  their own :class:`~sqlalchemy.orm.Session` and commit it themselves;
* workers (``claim``, ``heartbeat``, ``complete``, ``fail``, ``release``,
  ``acknowledge_cancel``) pass the :class:`~sqlalchemy.engine.Engine`; each call is one short
  transaction of its own, so that a lease is taken or given up the moment the call returns.

A job kind may follow its jobs' states with :func:`on_change`: the hook runs inside the very
transaction that changes a job's state, so what it writes (a submission's state) commits or
rolls back with the job.

Every worker-side write is conditioned on ``lease_owner`` and ``state = 'running'``: a
worker whose lease ran out and whose job went to another worker changes nothing.

Claiming is safe with any number of workers on any number of machines: PostgreSQL takes the
next job with ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite, whose writers are serialised,
with one ``UPDATE … WHERE id = (SELECT …) RETURNING``. Times come from the caller's clock
(``now``); workers on several machines need clocks far closer together than a lease.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.db import UTCDateTime
from mosu.jobs.errors import NO_SUCH_JOB, STILL_QUEUED, STILL_RUNNING
from mosu.jobs.models import FINISHED_STATES, Job, JobState

DEFAULT_MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0
REAP_BATCH = 100
_RUNNING = JobState.running.value


@dataclass(frozen=True)
class JobChange:
    """A job's new state, as seen inside the transaction that changed it."""

    job_id: int
    kind: str
    state: JobState
    error: str | None
    finished_at: dt.datetime | None


ChangeHook = Callable[[Connection, JobChange], None]
_HOOKS: dict[str, list[ChangeHook]] = {}
_CHANGE = (Job.id, Job.kind, Job.state, Job.error, Job.finished_at)


def on_change(kind: str, hook: ChangeHook) -> ChangeHook:
    """Call ``hook(connection, change)`` whenever a job of ``kind`` changes state, inside the
    transaction that changes it (registering the same hook twice changes nothing)."""
    hooks = _HOOKS.setdefault(kind, [])
    if hook not in hooks:
        hooks.append(hook)
    return hook


def _changed(conn: Connection, rows: Iterable[Sequence[Any]]) -> None:
    """Run the hooks of each changed job (rows of ``_CHANGE``)."""
    for job_id, kind, state, error, finished_at in rows:
        for hook in _HOOKS.get(kind, ()):
            hook(conn, JobChange(job_id, kind, JobState(state), error, finished_at))


def backoff(
    attempt: int, *, base: float = BACKOFF_SECONDS, cap: float = BACKOFF_CAP_SECONDS
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after attempt ``attempt`` failed."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Beat:
    """What a heartbeat learned. False when the lease is lost: the worker must stop and
    write nothing more; ``cancel_requested`` when an operator asked the job to stop."""

    held: bool
    cancel_requested: bool = False

    def __bool__(self) -> bool:
        return self.held


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any] | None = None,
    priority: int = 0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    created_by_id: int | None = None,
    now: dt.datetime | None = None,
) -> Job:
    """Queue a job for the handler registered as ``kind`` (higher ``priority`` runs first)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    moment = now or clock.now()
    job = Job(
        kind=kind,
        payload=payload or {},
        state=JobState.queued,
        priority=priority,
        attempts=0,
        max_attempts=max_attempts,
        available_at=moment,
        created_at=moment,
        created_by_id=created_by_id,
        cancel_requested=False,
    )
    session.add(job)
    session.flush()
    return job


def _at(moment: dt.datetime) -> ColumnElement[dt.datetime]:
    return literal(moment, UTCDateTime())


def _reap(session: Session, now: dt.datetime) -> None:
    """Jobs whose lease ran out: failed when out of attempts, cancelled when asked, else
    queued again. On PostgreSQL only rows no other transaction holds are touched."""
    expired = and_(Job.state == JobState.running, Job.lease_expires_at < now)
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                select(Job.id).where(expired).limit(REAP_BATCH).with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return
        target: ColumnElement[bool] = and_(Job.id.in_(ids), expired)
    else:
        target = expired
    rows = session.execute(
        update(Job)
        .where(target)
        .values(
            state=case(
                (Job.cancel_requested, JobState.cancelled.value),
                (Job.attempts >= Job.max_attempts, JobState.failed.value),
                else_=JobState.queued.value,
            ),
            error=case(
                (Job.cancel_requested, Job.error),
                else_=literal("lease expired: worker ")
                + func.coalesce(Job.lease_owner, "?")
                + literal(" stopped heartbeating (attempt ")
                + cast(Job.attempts, String)
                + literal(")"),
            ),
            finished_at=case(
                (or_(Job.cancel_requested, Job.attempts >= Job.max_attempts), _at(now)),
                else_=None,
            ),
            lease_owner=None,
            lease_expires_at=None,
        )
        .returning(*_CHANGE)
        .execution_options(synchronize_session=False)
    )
    _changed(session.connection(), rows.all())


def _claimable(kinds: Sequence[str], now: dt.datetime) -> ColumnElement[bool]:
    return and_(Job.state == JobState.queued, Job.kind.in_(kinds), Job.available_at <= now)


def claim(
    engine: Engine,
    *,
    worker_id: str,
    kinds: Sequence[str],
    lease_seconds: float,
    now: dt.datetime | None = None,
) -> Job | None:
    """Take the next job of one of ``kinds`` (highest priority, then oldest) for
    ``worker_id`` with a lease of ``lease_seconds``, or None when there is none.

    First gives back jobs whose lease ran out, so a job whose worker died runs again
    (``attempts`` counted; one past ``max_attempts`` fails with the reason).
    """
    if not kinds:
        return None
    moment = now or clock.now()
    lease = moment + dt.timedelta(seconds=lease_seconds)
    values = {
        "state": _RUNNING,
        "lease_owner": worker_id,
        "lease_expires_at": lease,
        "heartbeat_at": moment,
        "started_at": moment,
        "attempts": Job.attempts + 1,
        "cancel_requested": False,
    }
    order = (Job.priority.desc(), Job.id)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        _reap(session, moment)
        if engine.dialect.name == "postgresql":
            job_id = session.scalar(
                select(Job.id)
                .where(_claimable(kinds, moment))
                .order_by(*order)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if job_id is None:
                return None
            row = session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(**values)
                .returning(*_CHANGE)
                .execution_options(synchronize_session=False)
            ).one()
        else:
            next_id = (
                select(Job.id)
                .where(_claimable(kinds, moment))
                .order_by(*order)
                .limit(1)
                .scalar_subquery()
            )
            found = session.execute(
                update(Job)
                .where(Job.id == next_id, Job.state == JobState.queued)
                .values(**values)
                .returning(*_CHANGE)
                .execution_options(synchronize_session=False)
            ).first()
            if found is None:
                return None
            row = found
        _changed(session.connection(), [row])
        return session.get(Job, row[0], populate_existing=True)


def _owned(job_id: int, worker_id: str) -> ColumnElement[bool]:
    return and_(Job.id == job_id, Job.lease_owner == worker_id, Job.state == JobState.running)


def heartbeat(
    engine: Engine,
    job_id: int,
    worker_id: str,
    *,
    lease_seconds: float,
    progress: tuple[int, int] | None = None,
    now: dt.datetime | None = None,
) -> Beat:
    """Extend the lease of ``worker_id`` on a running job (and record its progress).

    Falsy when the worker no longer owns the job: it must stop and not write results.
    """
    moment = now or clock.now()
    values: dict[str, Any] = {
        "lease_expires_at": moment + dt.timedelta(seconds=lease_seconds),
        "heartbeat_at": moment,
    }
    if progress is not None:
        values["progress"] = {"done": progress[0], "total": progress[1]}
    with engine.begin() as conn:
        row = conn.execute(
            update(Job)
            .where(_owned(job_id, worker_id))
            .values(**values)
            .returning(Job.cancel_requested)
        ).first()
    if row is None:
        return Beat(held=False)
    return Beat(held=True, cancel_requested=bool(row[0]))


def _finish(engine: Engine, job_id: int, worker_id: str, **values: Any) -> bool:
    with engine.begin() as conn:
        row = conn.execute(
            update(Job).where(_owned(job_id, worker_id)).values(**values).returning(*_CHANGE)
        ).first()
        if row is not None:
            _changed(conn, [row])
    return row is not None


def complete(
    engine: Engine,
    job_id: int,
    worker_id: str,
    *,
    result: Any = None,
    progress: tuple[int, int] | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Mark the job succeeded with ``result``; False (nothing written) if the lease is lost."""
    extra = {"progress": {"done": progress[0], "total": progress[1]}} if progress else {}
    return _finish(
        engine,
        job_id,
        worker_id,
        **extra,
        state=JobState.succeeded.value,
        result=result,
        error=None,
        finished_at=now or clock.now(),
        lease_owner=None,
        lease_expires_at=None,
    )


def fail(
    engine: Engine,
    job_id: int,
    worker_id: str,
    *,
    error: str,
    retry: bool = True,
    now: dt.datetime | None = None,
    backoff_seconds: float = BACKOFF_SECONDS,
) -> JobState | None:
    """Record a failed attempt: queued again after a backoff while attempts remain (and
    ``retry``), else failed. Returns the new state, or None if the lease was lost."""
    moment = now or clock.now()
    limit = 32
    retry_at = case(
        {
            n: _at(moment + dt.timedelta(seconds=backoff(n, base=backoff_seconds)))
            for n in range(limit)
        },
        value=Job.attempts,
        else_=_at(moment + dt.timedelta(seconds=backoff(limit, base=backoff_seconds))),
    )
    again = and_(Job.attempts < Job.max_attempts, literal(retry))
    with engine.begin() as conn:
        row = conn.execute(
            update(Job)
            .where(_owned(job_id, worker_id))
            .values(
                state=case((again, JobState.queued.value), else_=JobState.failed.value),
                available_at=case((again, retry_at), else_=Job.available_at),
                finished_at=case((again, None), else_=_at(moment)),
                error=error,
                lease_owner=None,
                lease_expires_at=None,
            )
            .returning(*_CHANGE)
        ).first()
        if row is not None:
            _changed(conn, [row])
    return None if row is None else JobState(row[2])


def release(engine: Engine, job_id: int, worker_id: str) -> bool:
    """Give a running job back to the queue without counting the attempt (a worker
    shutting down); the next worker resumes it from its durable state."""
    return _finish(
        engine,
        job_id,
        worker_id,
        state=JobState.queued.value,
        attempts=Job.attempts - 1,
        lease_owner=None,
        lease_expires_at=None,
    )


def acknowledge_cancel(
    engine: Engine, job_id: int, worker_id: str, *, now: dt.datetime | None = None
) -> bool:
    """The worker stopped a job whose cancellation was requested: mark it cancelled."""
    return _finish(
        engine,
        job_id,
        worker_id,
        state=JobState.cancelled.value,
        finished_at=now or clock.now(),
        lease_owner=None,
        lease_expires_at=None,
    )


def _get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NO_SUCH_JOB(job_id=job_id)
    return job


def cancel(session: Session, job_id: int, *, now: dt.datetime | None = None) -> Job:
    """Cancel a job in any state: a queued job at once; a running job is asked to stop and
    its worker sees that at its next heartbeat; a finished job stays as it is."""
    job = _get(session, job_id)
    moment = now or clock.now()
    if job.state == JobState.queued:
        rows = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.queued)
            .values(state=JobState.cancelled.value, finished_at=moment)
            .returning(*_CHANGE)
            .execution_options(synchronize_session=False)
        )
        _changed(session.connection(), rows.all())
    elif job.state == JobState.running:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.running)
            .values(cancel_requested=True)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return _get(session, job_id)


def rerun(session: Session, job_id: int, *, now: dt.datetime | None = None) -> Job:
    """Queue a finished, failed or cancelled job again, with its attempts renewed.

    A durable handler (``eval.race``) repeats no completed work on the rerun.
    """
    job = _get(session, job_id)
    if job.state not in FINISHED_STATES:
        still = STILL_QUEUED if job.state == JobState.queued else STILL_RUNNING
        raise still(job_id=job_id)
    moment = now or clock.now()
    rows = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_([s.value for s in FINISHED_STATES]))
        .values(
            state=JobState.queued.value,
            attempts=0,
            available_at=moment,
            started_at=None,
            finished_at=None,
            error=None,
            result=None,
            progress=None,
            cancel_requested=False,
            lease_owner=None,
            lease_expires_at=None,
            heartbeat_at=None,
        )
        .returning(*_CHANGE)
        .execution_options(synchronize_session=False)
    )
    _changed(session.connection(), rows.all())
    session.flush()
    return _get(session, job_id)


def position(session: Session, job_id: int, *, now: dt.datetime | None = None) -> int | None:
    """1 for the next job to run, 2 for the one after, …; None when the job is not queued.

    Jobs scheduled for later (a stage's close) are not ahead of a job that can run now.
    """
    job = _get(session, job_id)
    if job.state != JobState.queued:
        return None
    horizon = max(now or clock.now(), job.available_at)
    ahead = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.state == JobState.queued,
            Job.available_at <= _at(horizon),
            or_(
                Job.priority > job.priority,
                and_(Job.priority == job.priority, Job.id < job.id),
            ),
        )
    )
    return int(ahead or 0) + 1


def progress(session: Session, job_id: int, done: int, total: int) -> None:
    """Record how far a job is (``done`` of ``total``), for pages that show it live."""
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(progress={"done": done, "total": total})
        .execution_options(synchronize_session=False)
    )
