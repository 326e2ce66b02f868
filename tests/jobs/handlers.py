"""Handlers the worker-process tests load with ``mosu worker --import tests.jobs.handlers``."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mosu.jobs.worker import JobContext, handler


@handler("test.append")
def append(ctx: JobContext) -> dict[str, int]:
    """Append one line per execution (job id, attempt, pid) to the payload's file."""
    time.sleep(float(ctx.payload.get("sleep", 0.0)))
    line = f"{ctx.job_id} {ctx.attempt} {os.getpid()}\n"
    with Path(ctx.payload["file"]).open("a", encoding="utf-8") as f:
        f.write(line)
    return {"pid": os.getpid()}
