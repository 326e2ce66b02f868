"""The job table: durable work that workers claim with leases and heartbeats; and the run
store of the races jobs run (``run_*``: :mod:`mosu.jobs.run_store`)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mosu.core import clock
from mosu.core.db import Base


class JobState(enum.StrEnum):
    """Where a job is in its life: queued → running → succeeded, failed or cancelled."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


FINISHED_STATES = frozenset({JobState.succeeded, JobState.failed, JobState.cancelled})


class Job(Base):
    """One unit of background work (任务), run by the handler registered for ``kind``.

    A worker owns a running job while ``lease_expires_at`` is in the future and it is the
    ``lease_owner``; it extends the lease by heartbeats. A job whose lease ran out is
    claimed again (its ``attempts`` counted) until ``max_attempts`` is spent.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "state", "priority", "available_at", "id"),
        Index("ix_jobs_lease", "state", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, native_enum=False, length=16, validate_strings=True),
        default=JobState.queued,
    )
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    available_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column()
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any | None] = mapped_column(JSON)
    progress: Mapped[dict[str, int] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class WorkerBeat(Base):
    """A job worker's last sign of life (心跳): written as it polls, read by ``/readyz`` and
    ``mosu doctor`` to tell whether any worker is running."""

    __tablename__ = "worker_beats"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    seen_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class RunMeta(Base):
    """What a run in the database is bound to (its task, the model behind each name)."""

    __tablename__ = "run_meta"

    run: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RunResult(Base):
    """One finished sample (answered or erred) of one model in a run: the columns of a run
    store file's ``results`` (:mod:`mosu.evals.store`), kept where every worker reaches them."""

    __tablename__ = "run_results"

    run: Mapped[str] = mapped_column(String(200), primary_key=True)
    model: Mapped[str] = mapped_column(String(300), primary_key=True)
    sample_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    cached: Mapped[bool] = mapped_column(Boolean)
    latency: Mapped[float] = mapped_column(Float)
    ttft: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(20))


class RunPrompt(Base):
    """A rendered prompt of a run, by the hash its outcomes name it by."""

    __tablename__ = "run_prompts"

    run: Mapped[str] = mapped_column(String(200), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    messages: Mapped[str] = mapped_column(Text)
