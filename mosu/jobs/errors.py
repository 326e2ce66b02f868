"""The errors of the job queue: jobs that do not exist or cannot be run again, bad payloads."""

from __future__ import annotations

from mosu.core.errors import Conflict, Error, Invalid, NotFound

NO_SUCH_JOB = Error("jobs.no_such_job", NotFound, "任务 {job_id} 不存在")
STILL_QUEUED = Error("jobs.still_queued", Conflict, "任务 {job_id} 仍在排队，请先取消")
STILL_RUNNING = Error("jobs.still_running", Conflict, "任务 {job_id} 仍在运行，请先取消")
RACE_PAYLOAD_INCOMPLETE = Error(
    "jobs.race_payload_incomplete", Invalid, "eval.race 任务的参数缺少 {fields}"
)
RACE_NEEDS_ENGINE = Error(
    "jobs.race_needs_engine", Invalid, "eval.race 任务需要数据库引擎（保存运行记录）"
)
