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
from mosu.race.errors import (
    BASELINE_TAKES_NO_INPUT,
    CHOOSE_ENDPOINT,
    DAILY_LIMIT_REACHED,
    ENTRY_CUT,
    ENTRY_FINISHED,
    FAILURE_BUDGET_SPENT,
    NO_ENTRY_HERE,
    NO_JOB,
    NO_RERUN_AFTER_CLOSE,
    NO_SUCH_ENDPOINT,
    NO_SUCH_ENTRY,
    NO_SUCH_STAGE,
    NO_SUCH_SUBMISSION,
    NOT_RACING,
    ONLY_FINISHED_SELECTED,
    ONLY_OPERATORS_RERUN,
    ONLY_TEAM_CHOOSES,
    ONLY_TEAM_OR_OPERATOR_CANCELS,
    PREDICTIONS_PROBLEMS,
    STAGE_CLOSED,
    STAGE_NOT_OPEN,
    STAGE_PAST_CLOSE,
    SUBMISSION_FINISHED,
    TOO_MANY_SELECTED,
    TOTAL_LIMIT_REACHED,
    UPLOAD_PREDICTIONS,
)
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
            raise NO_SUCH_ENTRY()
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
            raise NO_ENTRY_HERE()
        entry = mine[0]
    if entry.state is not EntryState.active:
        ended = ENTRY_CUT if entry.state is EntryState.cut else ENTRY_FINISHED
        raise ended(reason=entry.cut_reason)
    return entry


def _check_limits(used: Quota) -> None:
    """Refuse a submission once the failure budget, the total or the daily limit is spent."""
    if used.failed >= used.failure_limit:
        raise FAILURE_BUDGET_SPENT(
            failed=used.failed,
            limit=used.failure_limit,
            details={"failure_limit": used.failure_limit, "failed": used.failed},
        )
    if used.used_total >= used.total_limit:
        raise TOTAL_LIMIT_REACHED(limit=used.total_limit, details={"total_limit": used.total_limit})
    if used.used_today >= used.daily_limit:
        raise DAILY_LIMIT_REACHED(
            limit=used.daily_limit,
            resets_at=f"{used.resets_at:%Y-%m-%d %H:%M}",
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
        raise NO_SUCH_STAGE()
    challenge = stage.challenge
    if challenge.state is not ChallengeState.racing:
        raise NOT_RACING()
    status = stage_status(stage, moment)
    if status is not StageStatus.open:
        raise STAGE_NOT_OPEN() if status is StageStatus.scheduled else STAGE_PAST_CLOSE()
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
            raise BASELINE_TAKES_NO_INPUT()
    elif stage.mode is SubmissionMode.endpoint:
        if endpoint_id is None:
            raise CHOOSE_ENDPOINT()
        endpoint = session.get(ModelEndpoint, endpoint_id)
        if endpoint is None or endpoint.organisation_id != entry.organisation_id:
            raise NO_SUCH_ENDPOINT()
        submission.endpoint_id = endpoint.id
    else:
        if predictions is None:
            raise UPLOAD_PREDICTIONS()
        ids = [s.id for s in stage_data(session, stage).task.samples()]
        _found, problems = check_predictions(predictions, ids)
        if problems:
            raise PREDICTIONS_PROBLEMS(
                count=len(problems),
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
        raise NO_SUCH_SUBMISSION()
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
        ONLY_TEAM_OR_OPERATOR_CANCELS,
    )
    if submission.state not in PENDING_STATES and not can_cancel_finished_submission(actor):
        raise SUBMISSION_FINISHED()
    if submission.job_id is not None:
        queue.cancel(session, submission.job_id)
    submission.state = SubmissionState.cancelled
    submission.finished_at = clock.now()
    return submission


def rerun_submission(session: Session, *, actor: Actor, submission_id: int) -> Submission:
    """Operators run a submission's job again; finished samples are not sent again."""
    ensure(can_run_race(actor), ONLY_OPERATORS_RERUN)
    submission = get_submission(session, actor=actor, submission_id=submission_id)
    if submission.stage.state is StageState.closed:
        raise NO_RERUN_AFTER_CLOSE()
    if submission.job_id is None:
        raise NO_JOB()
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
        raise NO_SUCH_ENTRY()
    ensure(can_submit_for(actor, entry.organisation_id), ONLY_TEAM_CHOOSES)
    if stage.state is StageState.closed:
        raise STAGE_CLOSED()
    if len(set(submission_ids)) > stage.max_selected:
        raise TOO_MANY_SELECTED(count=stage.max_selected)
    own = {s.id: s for s in submissions_of(session, actor=actor, entry=entry, stage=stage)}
    unknown = sorted(set(submission_ids) - set(own))
    if unknown:
        raise NO_SUCH_SUBMISSION()
    chosen = []
    for sid, submission in own.items():
        submission.selected = sid in submission_ids
        if submission.selected:
            if submission.state is not SubmissionState.succeeded:
                raise ONLY_FINISHED_SELECTED(submission_id=sid)
            chosen.append(submission)
    return chosen
