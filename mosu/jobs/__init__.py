"""Durable background jobs (任务队列): a queue in the database, workers, handlers.

>>> from mosu.jobs import enqueue
>>> enqueue(session, kind="eval.race", payload={...})   # a `mosu worker` runs it
"""

from mosu.jobs.models import FINISHED_STATES, Job, JobState
from mosu.jobs.queue import (
    Beat,
    JobChange,
    acknowledge_cancel,
    cancel,
    claim,
    complete,
    enqueue,
    fail,
    heartbeat,
    on_change,
    position,
    progress,
    release,
    rerun,
)
from mosu.jobs.worker import (
    HANDLERS,
    JobContext,
    JobStopped,
    Worker,
    WorkerPool,
    handler,
    make_pool,
)

__all__ = [
    "FINISHED_STATES",
    "HANDLERS",
    "Beat",
    "Job",
    "JobChange",
    "JobContext",
    "JobState",
    "JobStopped",
    "Worker",
    "WorkerPool",
    "acknowledge_cancel",
    "cancel",
    "claim",
    "complete",
    "enqueue",
    "fail",
    "handler",
    "heartbeat",
    "make_pool",
    "on_change",
    "position",
    "progress",
    "release",
    "rerun",
]
