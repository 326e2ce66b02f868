"""Race submissions (提交): limits, queueing one, reading it live, cancelling, re-running and
choosing which count."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from mosu.challenges.models import (
    ChallengeState,
    Entry,
    EntryState,
    Stage,
    StageState,
    Submission,
    SubmissionMode,
    SubmissionState,
)
from mosu.core import clock
from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.core.files import FileStore
from mosu.core.settings import SUBMISSION_FAILURE_LIMIT
from mosu.core.text import Bilingual
from mosu.jobs import queue
from mosu.jobs.models import Job, JobState
from mosu.jobs.queue import JobChange
from mosu.permissions import (
    Actor,
    can_cancel_finished_submission,
    can_cancel_submission,
    can_run_race,
    can_see_entry,
    can_submit_for,
    ensure,
)
from mosu.race.entries import entries_of, entry_organisations
from mosu.race.predictions import check_predictions
from mosu.race.scoring import stage_data
from mosu.race.stages import (
    COUNTED_STATES,
    PENDING_STATES,
    SUBMISSION_JOB,
    StageStatus,
    get_stage,
    stage_status,
)
from mosu.registry.models import ModelEndpoint


@dataclass(frozen=True)
class Quota:
    """What an entry has used of a stage's limits and failure budget, and when the daily
    count resets."""

    used_today: int
    daily_limit: int
    used_total: int
    total_limit: int
    resets_at: dt.datetime
    failed: int
    failure_limit: int

    @property
    def left(self) -> int:
        if self.failed >= self.failure_limit:
            return 0
        return max(0, min(self.daily_limit - self.used_today, self.total_limit - self.used_total))


def quota(
    session: Session,
    stage: Stage,
    entry: Entry,
    now: dt.datetime | None = None,
    *,
    failure_limit: int = SUBMISSION_FAILURE_LIMIT,
) -> Quota:
    """Submissions that count (not failed, not cancelled) today and in total, and the failed
    ones, against ``failure_limit`` (``MOSU_SUBMISSION_FAILURE_LIMIT``)."""
    moment = clock.local(now or clock.now())
    day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    base = select(func.count(Submission.id)).where(
        Submission.stage_id == stage.id,
        Submission.entry_id == entry.id,
        Submission.state.in_([s.value for s in COUNTED_STATES]),
    )
    total = session.scalar(base) or 0
    today = session.scalar(base.where(Submission.created_at >= day_start)) or 0
    failed = session.scalar(
        select(func.count(Submission.id)).where(
            Submission.stage_id == stage.id,
            Submission.entry_id == entry.id,
            Submission.state == SubmissionState.failed.value,
        )
    )
    return Quota(
        used_today=today,
        daily_limit=stage.daily_limit,
        used_total=total,
        total_limit=stage.total_limit,
        resets_at=day_start + dt.timedelta(days=1),
        failed=failed or 0,
        failure_limit=failure_limit,
    )


def _entry_for_submission(
    session: Session, actor: Actor, stage: Stage, entry_id: int | None
) -> Entry:
    entries = entries_of(session, stage.challenge_id)
    if entry_id is not None:
        entry = next((e for e in entries if e.id == entry_id), None)
        if entry is None or not can_submit_for(actor, entry.organisation_id):
            raise NotFound("没有这个参赛队 / no such entry")
    else:
        mine = sorted(
            (
                e
                for e in entries
                if e.organisation_id is not None and actor.belongs_to(e.organisation_id)
            ),
            key=lambda e: e.state is not EntryState.active,
        )
        if not mine:
            raise NotFound("你的机构没有参加这个赛马 / your organisation has no entry here")
        entry = mine[0]
    if entry.state is not EntryState.active:
        why = "已被淘汰" if entry.state is EntryState.cut else "已结束"
        raise Conflict(f"该参赛队{why}：{entry.cut_reason} / the entry is no longer racing")
    return entry


def _check_limits(used: Quota) -> None:
    """Refuse a submission once the failure budget, the total or the daily limit is spent."""
    if used.failed >= used.failure_limit:
        raise Conflict(
            f"本阶段已有 {used.failed} 次提交失败（上限 {used.failure_limit} 次），不能再提交；"
            f"请检查接入点 / failure budget spent: {used.failed} failed submissions at this "
            f"stage (limit {used.failure_limit})",
            details={"failure_limit": used.failure_limit, "failed": used.failed},
        )
    if used.used_total >= used.total_limit:
        raise Conflict(
            f"本阶段提交次数已用完（共 {used.total_limit} 次）/ total limit reached",
            details={"total_limit": used.total_limit},
        )
    if used.used_today >= used.daily_limit:
        raise Conflict(
            f"今日提交次数已用完（每日 {used.daily_limit} 次），"
            f"{used.resets_at:%Y-%m-%d %H:%M} 重置 / daily limit reached",
            details={"daily_limit": used.daily_limit, "resets_at": used.resets_at.isoformat()},
        )


def submit(
    session: Session,
    *,
    actor: Actor,
    stage_id: int,
    data_dir: Path | None,
    entry_id: int | None = None,
    endpoint_id: int | None = None,
    predictions: bytes | None = None,
    note: str = "",
    now: dt.datetime | None = None,
    failure_limit: int = SUBMISSION_FAILURE_LIMIT,
) -> Submission:
    """Queue a submission of the actor's entry at an open stage, within the team's limits
    and failure budget (``failure_limit`` failed submissions at the stage)."""
    moment = now or clock.now()
    stage = session.scalars(select(Stage).where(Stage.id == stage_id).with_for_update()).first()
    if stage is None:
        raise NotFound("没有这个阶段 / no such stage")
    challenge = stage.challenge
    if challenge.state is not ChallengeState.racing:
        raise Conflict("榜单不在赛马阶段 / the challenge is not racing")
    status = stage_status(stage, moment)
    if status is not StageStatus.open:
        raise Conflict(
            "本阶段尚未开始 / the stage has not opened"
            if status is StageStatus.scheduled
            else "本阶段已截止 / the stage is closed"
        )
    entry = _entry_for_submission(session, actor, stage, entry_id)
    _check_limits(quota(session, stage, entry, moment, failure_limit=failure_limit))
    submission = Submission(
        stage_id=stage.id,
        entry_id=entry.id,
        mode=SubmissionMode.endpoint,
        note=note.strip()[:300],
        submitted_by_id=actor.user_id,
        created_at=moment,
        state=SubmissionState.queued,
    )
    if entry.baseline is not None:
        if endpoint_id is not None or predictions is not None:
            raise Invalid("基线由平台运行，不需要端点或预测文件 / baselines take no input")
    elif stage.mode is SubmissionMode.endpoint:
        if endpoint_id is None:
            raise Invalid("请选择模型端点 / choose a model endpoint")
        endpoint = session.get(ModelEndpoint, endpoint_id)
        if endpoint is None or endpoint.organisation_id != entry.organisation_id:
            raise NotFound("没有这个端点 / no such endpoint of your organisation")
        submission.endpoint_id = endpoint.id
    else:
        if predictions is None:
            raise Invalid("请上传预测文件 / upload a predictions file")
        ids = [s.id for s in stage_data(session, stage).task.samples()]
        _found, problems = check_predictions(predictions, ids)
        if problems:
            raise Invalid(
                f"预测文件有 {len(problems)} 处问题，未提交 / the predictions file has problems",
                details=[{"line": p.line, "message": p.message} for p in problems[:200]],
            )
        submission.mode = SubmissionMode.predictions
        submission.predictions_sha256 = hashlib.sha256(predictions).hexdigest()
    session.add(submission)
    session.flush()
    if predictions is not None:
        assert data_dir is not None, "a predictions file is kept under the data directory"
        submission.predictions_file = (
            predictions_store(data_dir, stage.id)
            .put(session, predictions, prefix=f"predictions-{submission.id}", suffix=".jsonl")
            .name
        )
    job = queue.enqueue(
        session,
        kind=SUBMISSION_JOB,
        payload={"submission_id": submission.id, "race_id": stage.challenge_id},
        created_by_id=actor.user_id,
    )
    submission.job_id = job.id
    return submission


def predictions_store(data_dir: Path, stage_id: int) -> FileStore:
    """Where a stage's uploaded predictions are kept (``races/stage-N`` under ``data_dir``)."""
    return FileStore(data_dir, f"races/stage-{stage_id}")


def get_submission(session: Session, *, actor: Actor, submission_id: int) -> Submission:
    """A submission, for its own team and operators only (anyone else: not found)."""
    submission = session.get(Submission, submission_id)
    if submission is None or not can_see_entry(
        actor, entry_organisations(session, submission.entry)
    ):
        raise NotFound("没有这个提交 / no such submission")
    return submission


def submissions_of(
    session: Session, *, actor: Actor, entry: Entry, stage: Stage
) -> list[Submission]:
    ensure(can_see_entry(actor, entry_organisations(session, entry)))
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.entry_id == entry.id, Submission.stage_id == stage.id)
            .order_by(Submission.id.desc())
        )
    )


FINISHED_STATES = (SubmissionState.succeeded, SubmissionState.failed, SubmissionState.cancelled)


def follow_job(conn: Connection, change: JobChange) -> None:
    """Mirror a submission job's new state onto its submission, in the job's own transaction
    (failed or cancelled jobs stop counting); a finished submission keeps its state."""
    values: dict[str, Any]
    if change.state is JobState.running:
        values = {"state": SubmissionState.running.value}
    elif change.state is JobState.failed:
        values = {
            "state": SubmissionState.failed.value,
            "failure": Bilingual((change.error or "")[:2000]),  # the job's own words
            "finished_at": change.finished_at,
        }
    elif change.state is JobState.cancelled:
        values = {"state": SubmissionState.cancelled.value, "finished_at": change.finished_at}
    else:
        return
    conn.execute(
        update(Submission)
        .where(
            Submission.job_id == change.job_id,
            Submission.state.not_in([s.value for s in FINISHED_STATES]),
        )
        .values(**values)
    )


@dataclass(frozen=True)
class LiveState:
    state: str
    position: int | None
    done: int | None
    total: int | None


def live_state(session: Session, submission: Submission) -> LiveState:
    """The submission's state, its place in the queue and its progress, for polling pages."""
    position = done = total = None
    if submission.job_id is not None and submission.state in PENDING_STATES:
        job = session.get(Job, submission.job_id)
        if job is not None:
            position = queue.position(session, job.id)
            if job.progress:
                done, total = job.progress.get("done"), job.progress.get("total")
    return LiveState(submission.state.value, position, done, total)


def cancel_submission(session: Session, *, actor: Actor, submission_id: int) -> Submission:
    """The team or an operator stops a queued or running submission; it stops counting."""
    submission = get_submission(session, actor=actor, submission_id=submission_id)
    ensure(
        can_cancel_submission(actor, submission.entry.organisation_id),
        "只有提交方或运营方可以取消 / only the team or an operator may cancel",
    )
    if submission.state not in PENDING_STATES and not can_cancel_finished_submission(actor):
        raise Conflict("提交已结束 / the submission has finished")
    if submission.job_id is not None:
        queue.cancel(session, submission.job_id)
    submission.state = SubmissionState.cancelled
    submission.finished_at = clock.now()
    return submission


def rerun_submission(session: Session, *, actor: Actor, submission_id: int) -> Submission:
    """Operators run a submission's job again; finished samples are not sent again."""
    ensure(can_run_race(actor), "只有运营方可以重跑 / only operators re-run jobs")
    submission = get_submission(session, actor=actor, submission_id=submission_id)
    if submission.stage.state is StageState.closed:
        raise Conflict("阶段已结束，不能重跑 / the stage is closed")
    if submission.job_id is None:
        raise Conflict("提交没有任务 / no job")
    job = session.get(Job, submission.job_id)
    if job is not None and job.state not in (
        JobState.succeeded,
        JobState.failed,
        JobState.cancelled,
    ):
        queue.cancel(session, job.id)
        session.flush()
    queue.rerun(session, submission.job_id)
    submission.state = SubmissionState.queued
    submission.failure = None
    submission.finished_at = None
    return submission


def select_submissions(
    session: Session, *, actor: Actor, stage_id: int, entry_id: int, submission_ids: list[int]
) -> list[Submission]:
    """Choose which of the entry's submissions count for the final ranking."""
    stage = get_stage(session, stage_id)
    entry = session.get(Entry, entry_id)
    if entry is None or entry.challenge_id != stage.challenge_id:
        raise NotFound("没有这个参赛队 / no such entry")
    ensure(
        can_submit_for(actor, entry.organisation_id),
        "只有参赛队自己可以选择 / only the team chooses",
    )
    if stage.state is StageState.closed:
        raise Conflict("阶段已结束 / the stage is closed")
    if len(set(submission_ids)) > stage.max_selected:
        raise Invalid(f"最多选择 {stage.max_selected} 个提交 / at most {stage.max_selected}")
    own = {s.id: s for s in submissions_of(session, actor=actor, entry=entry, stage=stage)}
    unknown = sorted(set(submission_ids) - set(own))
    if unknown:
        raise NotFound("没有这个提交 / no such submission")
    chosen = []
    for sid, submission in own.items():
        submission.selected = sid in submission_ids
        if submission.selected:
            if submission.state is not SubmissionState.succeeded:
                raise Invalid(f"提交 {sid} 未成功完成，不能选择 / only finished submissions")
            chosen.append(submission)
    return chosen
