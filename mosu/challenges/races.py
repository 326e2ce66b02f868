"""The 赛马 race of a challenge: stages, entries, submissions, limits, cuts and winners.

Rules (also in the README):

* A stage is open from ``opens_at`` to ``closes_at`` (stored in UTC, shown in
  Asia/Shanghai). Submissions are taken only while the stage is open and the challenge is
  racing, from active entries.
* Limits are per entry (the team, not the user): ``daily_limit`` per Asia/Shanghai day and
  ``total_limit`` per stage. Failed and cancelled submissions do not count against them, but
  failed ones count against the stage's failure budget (``MOSU_SUBMISSION_FAILURE_LIMIT``):
  once it is spent the team's submissions are refused, so a failing endpoint cannot be
  submitted without end.
* The public leaderboard ranks each entry's best public submission. The final ranking of a
  stage uses the private part: each entry's selected submissions (at most
  ``max_selected``) or, if it selected none, its best public one; the best private score of
  those counts. Ties go to the earlier submission.
* Closing a stage applies its published cut rule to the final ranking; entries cut see why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.accounts.models import Role
from mosu.challenges import lifecycle
from mosu.challenges.models import (
    Application,
    ApplicationMember,
    Challenge,
    ChallengeState,
    CutRule,
    Entry,
    EntryState,
    Stage,
    StageState,
    Submission,
    SubmissionMode,
    SubmissionState,
)
from mosu.challenges.scoring import (
    Contender,
    board,
    not_worse_than_best,
    outcomes_of,
    stage_data,
)
from mosu.core import clock
from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.core.settings import SUBMISSION_FAILURE_LIMIT
from mosu.corpus.models import DatasetVersion
from mosu.jobs import queue
from mosu.jobs.models import Job, JobState
from mosu.permissions import (
    Actor,
    can_read_race_report,
    can_run_race,
    can_see_entry,
    can_submit_for,
    ensure,
)
from mosu.registry.models import ModelEndpoint

SYSTEM = Actor(role=Role.operator, username="system")  # scheduled jobs act as the operator
BASELINES = ("baseline:majority", "baseline:tfidf")
SUBMISSION_JOB = "challenge.submission"
CLOSE_JOB = "challenge.close_stage"
COUNTED_STATES = (SubmissionState.queued, SubmissionState.running, SubmissionState.succeeded)
PENDING_STATES = (SubmissionState.queued, SubmissionState.running)
FINISHED_CHALLENGE = (
    ChallengeState.decided,
    ChallengeState.delivery,
    ChallengeState.accepted,
    ChallengeState.closed,
)


def get_challenge(session: Session, challenge_id: int) -> Challenge:
    challenge = session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("没有这个榜单 / no such challenge")
    return challenge


def get_stage(session: Session, stage_id: int) -> Stage:
    stage = session.get(Stage, stage_id)
    if stage is None:
        raise NotFound("没有这个阶段 / no such stage")
    return stage


def stage_status(stage: Stage, now: dt.datetime | None = None) -> str:
    """``scheduled``, ``open``, ``closing`` (past its close, not yet closed) or ``closed``."""
    if stage.state is StageState.closed:
        return "closed"
    moment = now or clock.now()
    if moment < stage.opens_at:
        return "scheduled"
    return "open" if moment < stage.closes_at else "closing"


# ---------------------------------------------------------------- stages and entries


@dataclass(frozen=True)
class StageSpec:
    """What an operator gives to add a stage."""

    name: str
    task: dict[str, Any]
    dataset_version_id: int
    mode: SubmissionMode
    opens_at: dt.datetime
    closes_at: dt.datetime
    cut_rule: CutRule
    cut_value: float = 0.0
    public_fraction: float = 0.5
    daily_limit: int = 5
    total_limit: int = 20
    max_selected: int = 2
    split_seed: int = 0
    compute_pool_id: int | None = None


def add_stage(session: Session, *, actor: Actor, challenge_id: int, spec: StageSpec) -> Stage:
    """Add the next stage to a challenge's race (operators, before the race is decided)."""
    ensure(can_run_race(actor), "只有运营方可以设置赛马阶段 / only operators set up race stages")
    challenge = get_challenge(session, challenge_id)
    if challenge.state in FINISHED_CHALLENGE:
        raise Conflict("榜单已结束，不能再加阶段 / the challenge is over")
    if spec.opens_at.tzinfo is None or spec.closes_at.tzinfo is None:
        raise Invalid("开始和截止时间需要带时区 / times need a time zone")
    if spec.closes_at <= spec.opens_at:
        raise Invalid("截止时间须晚于开始时间 / a stage must close after it opens")
    if not 0.05 <= spec.public_fraction <= 0.95:
        raise Invalid("公开部分比例须在 0.05 到 0.95 之间 / public fraction must be 0.05–0.95")
    if spec.daily_limit < 1 or spec.total_limit < spec.daily_limit or spec.max_selected < 1:
        raise Invalid("提交次数限制不合理 / limits: daily ≥ 1, total ≥ daily, selected ≥ 1")
    if spec.cut_rule is CutRule.top_k and (spec.cut_value < 1 or spec.cut_value % 1):
        raise Invalid("“前 k 名晋级”的 k 须为正整数 / top-k needs a whole k ≥ 1")
    if not spec.name.strip():
        raise Invalid("阶段名称不能为空 / a stage needs a name")
    previous = challenge.stages[-1] if challenge.stages else None
    if previous is not None and spec.opens_at < previous.closes_at:
        raise Invalid("阶段须在上一阶段截止之后开始 / a stage opens after the previous one closes")
    if session.get(DatasetVersion, spec.dataset_version_id) is None:
        raise Invalid("没有这个数据集版本 / no such data set version")
    if spec.compute_pool_id is not None:
        from mosu.supply.offers import get_pool

        get_pool(session, spec.compute_pool_id)  # 404 for a pool that does not exist
    stage = Stage(
        challenge_id=challenge.id,
        position=(previous.position + 1) if previous else 1,
        name=spec.name.strip(),
        task=spec.task,
        dataset_version_id=spec.dataset_version_id,
        mode=spec.mode,
        opens_at=spec.opens_at,
        closes_at=spec.closes_at,
        cut_rule=spec.cut_rule,
        cut_value=spec.cut_value,
        public_fraction=spec.public_fraction,
        split_seed=spec.split_seed,
        daily_limit=spec.daily_limit,
        total_limit=spec.total_limit,
        max_selected=spec.max_selected,
        compute_pool_id=spec.compute_pool_id,
        state=StageState.scheduled,
    )
    stage_data(session, stage)  # the task must fit the data: refused here, not mid-race
    challenge.stages.append(stage)
    session.flush()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="stage_added",
        details={"stage": stage.position, "name": stage.name, "rule": cut_rule_text(stage)},
    )
    if challenge.state is ChallengeState.racing:
        _schedule_close(session, stage)
    return stage


def cut_rule_text(stage: Stage) -> str:
    """The published cut rule, in words."""
    if stage.cut_rule is CutRule.top_k:
        return f"前 {int(stage.cut_value)} 名晋级 / top {int(stage.cut_value)} go on"
    if stage.cut_rule is CutRule.threshold:
        return f"得分不低于 {stage.cut_value:g} 晋级 / score ≥ {stage.cut_value:g} goes on"
    return "与最佳无显著差异者晋级 / entries not significantly worse than the best go on"


def add_house_entry(
    session: Session, *, actor: Actor, challenge_id: int, name: str, baseline: str
) -> Entry:
    """A reference entry run by the platform (a built-in baseline), like Kaggle's benchmarks."""
    ensure(can_run_race(actor), "只有运营方可以添加基线 / only operators add baselines")
    if baseline not in BASELINES:
        raise Invalid(f"未知基线 {baseline!r}，可选 {', '.join(BASELINES)}")
    challenge = get_challenge(session, challenge_id)
    if challenge.state in FINISHED_CHALLENGE:
        raise Conflict("榜单已结束 / the challenge is over")
    _check_unique_name(session, challenge.id, name)
    entry = Entry(challenge_id=challenge.id, name=name.strip(), baseline=baseline)
    session.add(entry)
    session.flush()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="baseline_added",
        details={"entry": entry.name, "baseline": baseline},
    )
    return entry


def _check_unique_name(session: Session, challenge_id: int, name: str) -> None:
    if not name.strip():
        raise Invalid("参赛名称不能为空 / an entry needs a name")
    taken = session.scalar(
        select(Entry.id).where(Entry.challenge_id == challenge_id, Entry.name == name.strip())
    )
    if taken is not None:
        raise Conflict(f"参赛名称“{name}”已被使用 / the entry name is taken")


def entry_organisations(session: Session, entry: Entry) -> set[int]:
    """The entry's team: its lead organisation and its consortium members."""
    orgs = {entry.organisation_id} if entry.organisation_id is not None else set()
    if entry.application_id is not None:
        application = session.get(Application, entry.application_id)
        if application is not None:
            orgs.update(m.organisation_id for m in application.members)
    return orgs


def entry_teams(session: Session, entries: list[Entry]) -> dict[int, set[int]]:
    """Each entry's team (as :func:`entry_organisations`), for many entries in one query."""
    members: dict[int, set[int]] = {}
    application_ids = {e.application_id for e in entries if e.application_id is not None}
    if application_ids:
        for application_id, organisation_id in session.execute(
            select(ApplicationMember.application_id, ApplicationMember.organisation_id).where(
                ApplicationMember.application_id.in_(application_ids)
            )
        ):
            members.setdefault(application_id, set()).add(organisation_id)
    return {
        e.id: ({e.organisation_id} if e.organisation_id is not None else set())
        | (members.get(e.application_id, set()) if e.application_id is not None else set())
        for e in entries
    }


def entries_of(session: Session, challenge_id: int) -> list[Entry]:
    return list(
        session.scalars(select(Entry).where(Entry.challenge_id == challenge_id).order_by(Entry.id))
    )


def my_entries(session: Session, actor: Actor, challenge_id: int) -> list[Entry]:
    """Entries of the challenge whose team the actor belongs to (all of them for operators)."""
    entries = entries_of(session, challenge_id)
    teams = entry_teams(session, entries)
    return [e for e in entries if can_see_entry(actor, teams[e.id])]


def start_race(session: Session, *, actor: Actor, challenge_id: int, reason: str = "") -> None:
    """Move a shortlisted challenge to racing; each stage's close is scheduled as a job."""
    challenge = get_challenge(session, challenge_id)
    if not challenge.stages:
        raise Conflict("还没有赛马阶段 / add at least one stage first")
    if not any(e.state is EntryState.active for e in entries_of(session, challenge.id)):
        raise Conflict("还没有参赛队 / shortlist at least one entry first")
    lifecycle.transition(session, challenge, "start_race", actor=actor, reason=reason)
    for stage in challenge.stages:
        _schedule_close(session, stage)


def _schedule_close(session: Session, stage: Stage) -> Job:
    job = queue.enqueue(session, kind=CLOSE_JOB, payload={"stage_id": stage.id}, priority=10)
    job.available_at = stage.closes_at
    return job


# ---------------------------------------------------------------- limits


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


# ---------------------------------------------------------------- submissions


@dataclass(frozen=True)
class PredictionProblem:
    line: int
    message: str


def check_predictions(
    content: bytes, ids: list[str]
) -> tuple[dict[str, str], list[PredictionProblem]]:
    """Read a predictions file (JSON lines of ``id`` and ``prediction``) against the test ids.

    Every problem is reported with its line: bad JSON, missing fields, duplicate and unknown
    ids, and (line 0) ids that have no prediction.
    """
    problems: list[PredictionProblem] = []
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}, [PredictionProblem(0, "文件不是 UTF-8 编码 / the file is not UTF-8")]
    known = set(ids)
    found: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(PredictionProblem(number, f"不是合法的 JSON / not JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict) or "id" not in record or "prediction" not in record:
            problems.append(
                PredictionProblem(number, "每行需要 id 和 prediction / needs id and prediction")
            )
            continue
        sid, prediction = str(record["id"]), record["prediction"]
        if not isinstance(prediction, str | int | float):
            problems.append(PredictionProblem(number, "prediction 须为文本 / must be text"))
            continue
        if sid not in known:
            problems.append(PredictionProblem(number, f"未知 id {sid} / unknown id"))
        elif sid in found:
            problems.append(
                PredictionProblem(
                    number, f"重复 id {sid}（首次在第 {first_line[sid]} 行）/ duplicate id"
                )
            )
        else:
            found[sid] = str(prediction)
            first_line[sid] = number
    missing = [i for i in ids if i not in found]
    if missing:
        shown = "、".join(missing[:10]) + ("…" if len(missing) > 10 else "")
        problems.append(
            PredictionProblem(0, f"缺少 {len(missing)} 个 id 的预测：{shown} / missing ids")
        )
    return found, problems


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


def submit(
    session: Session,
    *,
    actor: Actor,
    stage_id: int,
    data_dir: Path,
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
    if status != "open":
        raise Conflict(
            "本阶段尚未开始 / the stage has not opened"
            if status == "scheduled"
            else "本阶段已截止 / the stage is closed"
        )
    entry = _entry_for_submission(session, actor, stage, entry_id)
    used = quota(session, stage, entry, moment, failure_limit=failure_limit)
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
        folder = data_dir / "races" / f"stage-{stage.id}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"predictions-{submission.id}-{secrets.token_hex(8)}.jsonl"
        (folder / name).write_bytes(predictions)
        submission.predictions_file = str(Path("races") / f"stage-{stage.id}" / name)
    job = queue.enqueue(
        session,
        kind=SUBMISSION_JOB,
        payload={"submission_id": submission.id},
        created_by_id=actor.user_id,
    )
    submission.job_id = job.id
    return submission


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


def sync_state(session: Session, submission: Submission) -> Submission:
    """Mirror the job's state onto the submission (failed or cancelled jobs stop counting)."""
    if submission.job_id is None or submission.state in (
        SubmissionState.succeeded,
        SubmissionState.failed,
        SubmissionState.cancelled,
    ):
        return submission
    job = session.get(Job, submission.job_id)
    if job is None:
        return submission
    if job.state is JobState.running:
        submission.state = SubmissionState.running
    elif job.state is JobState.failed:
        submission.state = SubmissionState.failed
        submission.failure = (job.error or "")[:2000]
        submission.finished_at = job.finished_at
    elif job.state is JobState.cancelled:
        submission.state = SubmissionState.cancelled
        submission.finished_at = job.finished_at
    return submission


@dataclass(frozen=True)
class LiveState:
    state: str
    position: int | None
    done: int | None
    total: int | None


def live_state(session: Session, submission: Submission) -> LiveState:
    """The submission's state, its place in the queue and its progress, for polling pages."""
    sync_state(session, submission)
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
        actor.is_operator or can_submit_for(actor, submission.entry.organisation_id),
        "只有提交方或运营方可以取消 / only the team or an operator may cancel",
    )
    if submission.state not in PENDING_STATES and not actor.is_operator:
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
    submission.failure = ""
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


# ---------------------------------------------------------------- boards


def _succeeded(session: Session, stage: Stage) -> dict[int, list[Submission]]:
    by_entry: dict[int, list[Submission]] = {}
    for submission in session.scalars(
        select(Submission)
        .where(Submission.stage_id == stage.id, Submission.state == SubmissionState.succeeded)
        .order_by(Submission.created_at, Submission.id)
    ):
        by_entry.setdefault(submission.entry_id, []).append(submission)
    return by_entry


def _best(submissions: list[Submission], part: str) -> Submission:
    """Highest score on ``part``; the earlier submission wins a tie (the list is in time order)."""
    best = submissions[0]
    for s in submissions[1:]:
        if (getattr(s, f"{part}_score") or 0.0) > (getattr(best, f"{part}_score") or 0.0):
            best = s
    return best


def counted(session: Session, stage: Stage, part: str) -> dict[int, Submission]:
    """Each entry's submission that counts on the ``public`` or the final (``private``) board."""
    chosen: dict[int, Submission] = {}
    entries = {e.id: e for e in entries_of(session, stage.challenge_id)}
    for entry_id, submissions in _succeeded(session, stage).items():
        if entries[entry_id].state is EntryState.withdrawn:
            continue
        if part == "public":
            chosen[entry_id] = _best(submissions, "public")
        else:
            selected = [s for s in submissions if s.selected] or [_best(submissions, "public")]
            chosen[entry_id] = _best(selected, "private")
    return chosen


def compute_board(session: Session, stage: Stage, part: str, data_dir: Path) -> dict[str, Any]:
    data = stage_data(session, stage)
    entries = {e.id: e for e in entries_of(session, stage.challenge_id)}
    contenders = [
        Contender(
            entry_id=entry_id,
            entry_name=entries[entry_id].name,
            submission_id=s.id,
            submitted_at=s.created_at.isoformat(),
            outcomes=outcomes_of(data_dir, s),
        )
        for entry_id, s in counted(session, stage, part).items()
    ]
    result = board(data.part_task("public" if part == "public" else "private"), contenders)
    result["part"] = part
    result["computed_at"] = clock.now().isoformat()
    return result


def refresh_public_board(session: Session, stage_id: int, data_dir: Path) -> None:
    """Recompute the public leaderboard (the stage row is locked so writers take turns)."""
    stage = session.scalars(select(Stage).where(Stage.id == stage_id).with_for_update()).one()
    stage.leaderboard_public = compute_board(session, stage, "public", data_dir)


# ---------------------------------------------------------------- closing and deciding


def pending(session: Session, stage: Stage) -> int:
    for submission in session.scalars(
        select(Submission).where(
            Submission.stage_id == stage.id,
            Submission.state.in_([s.value for s in PENDING_STATES]),
        )
    ):
        sync_state(session, submission)
    session.flush()
    return (
        session.scalar(
            select(func.count(Submission.id)).where(
                Submission.stage_id == stage.id,
                Submission.state.in_([s.value for s in PENDING_STATES]),
            )
        )
        or 0
    )


def close_stage(
    session: Session,
    *,
    actor: Actor,
    stage_id: int,
    data_dir: Path,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Stage:
    """Reveal the stage's final ranking and cut entries by its published rule.

    Refused while submissions made before the close are still queued or running (the
    close job waits for them). An operator may close a stage early, giving a reason.
    """
    moment = now or clock.now()
    ensure(can_run_race(actor), "只有运营方可以结束阶段 / only operators close stages")
    stage = session.scalars(select(Stage).where(Stage.id == stage_id).with_for_update()).first()
    if stage is None:
        raise NotFound("没有这个阶段 / no such stage")
    if stage.state is StageState.closed:
        raise Conflict("阶段已结束 / the stage is already closed")
    challenge = stage.challenge
    if challenge.state is not ChallengeState.racing:
        raise Conflict("榜单不在赛马阶段 / the challenge is not racing")
    early = moment < stage.closes_at
    if early and not reason.strip():
        raise Invalid("提前结束阶段需要填写原因 / closing early needs a reason")
    earlier = [s for s in challenge.stages if s.position < stage.position]
    if any(s.state is not StageState.closed for s in earlier):
        raise Conflict("请先结束前面的阶段 / close the earlier stages first")
    waiting = pending(session, stage)
    if waiting:
        raise Conflict(
            f"还有 {waiting} 个提交在评测，完成后再结束 / {waiting} submissions still running",
            details={"pending": waiting},
        )
    final = compute_board(session, stage, "private", data_dir)
    stage.leaderboard_public = compute_board(session, stage, "public", data_dir)
    stage.leaderboard_final = final
    stage.state = StageState.closed
    stage.closed_at = moment
    if early:
        stage.closes_at = moment
    rows = {r["entry_id"]: r for r in final["rows"]}
    keep: set[int]
    if stage.cut_rule is CutRule.top_k:
        keep = {r["entry_id"] for r in final["rows"] if r["position"] <= int(stage.cut_value)}
    elif stage.cut_rule is CutRule.threshold:
        keep = {r["entry_id"] for r in final["rows"] if r["score"] >= stage.cut_value}
    else:
        keep = not_worse_than_best(final)
    kept, cut = [], []
    for entry in entries_of(session, challenge.id):
        if entry.state is not EntryState.active:
            continue
        if entry.id in keep:
            kept.append(entry.name)
            continue
        row = rows.get(entry.id)
        if row is None:
            why = "本阶段没有成功完成的提交 / no finished submission in this stage"
        else:
            why = (
                f"第 {row['position']} 名，得分 {row['score']:.4f}"
                f"（95% 区间 {row['low']:.4f}–{row['high']:.4f}）/ "
                f"position {row['position']}, score {row['score']:.4f}"
            )
        entry.state = EntryState.cut
        entry.cut_at_stage_id = stage.id
        entry.cut_reason = f"{stage.name}：{why}；规则：{cut_rule_text(stage)}"
        cut.append(entry.name)
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="stage_closed",
        reason=reason,
        details={"stage": stage.position, "name": stage.name, "kept": kept, "cut": cut},
    )
    return stage


def decide(
    session: Session, *, actor: Actor, challenge_id: int, entry_ids: list[int], reason: str = ""
) -> list[Entry]:
    """Name the winners (揭榜成功) among the entries still in the race, after every stage."""
    challenge = get_challenge(session, challenge_id)
    if any(s.state is not StageState.closed for s in challenge.stages):
        raise Conflict("还有未结束的阶段 / close every stage first")
    ids = list(dict.fromkeys(entry_ids))
    if not ids:
        raise Invalid("请选择获胜者 / choose the winners")
    if len(ids) > challenge.winner_places:
        raise Invalid(f"最多 {challenge.winner_places} 名获胜者 / too many winners")
    entries = {e.id: e for e in entries_of(session, challenge.id)}
    winners = []
    for entry_id in ids:
        entry = entries.get(entry_id)
        if entry is None:
            raise NotFound("没有这个参赛队 / no such entry")
        if entry.state is not EntryState.active:
            raise Conflict(f"{entry.name} 已不在赛马中 / {entry.name} is no longer racing")
        if entry.baseline is not None:
            raise Invalid("基线不能获胜 / a baseline cannot win")
        winners.append(entry)
    lifecycle.transition(
        session,
        challenge,
        "decide",
        actor=actor,
        reason=reason,
        details={"winners": [e.name for e in winners]},
    )
    for entry in winners:
        entry.state = EntryState.winner
    return winners


# ---------------------------------------------------------------- what each reader sees

PUBLIC_ROW_KEYS = ("position", "rank", "entry", "entry_id", "score", "low", "high", "submitted_at")


def view_board(
    session: Session, actor: Actor, challenge: Challenge, data: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A board as ``actor`` may see it: full rows for operators, the issuer and the entry's
    own team; everyone else sees ranks and scores with intervals only."""
    if data is None:
        return None
    full = can_read_race_report(actor, challenge.organisation_id)
    listed = entries_of(session, challenge.id)
    entries = {e.id: e for e in listed}
    # only a member of an organisation can own a row that is not everyone's (operators own all)
    teams = entry_teams(session, listed) if actor.organisation_id is not None else {}
    rows = []
    for row in data["rows"]:
        entry = entries.get(row["entry_id"])
        own = entry is not None and can_see_entry(actor, teams.get(entry.id, set()))
        shown = dict(row) if full or own else {k: row[k] for k in PUBLIC_ROW_KEYS}
        shown["own"] = own
        if not (full or own):
            shown.pop("submission_id", None)
        rows.append(shown)
    out = {k: v for k, v in data.items() if k != "comparisons" or full}
    out["rows"] = rows
    out["full"] = full
    return out


__all__ = [
    "BASELINES",
    "CLOSE_JOB",
    "SUBMISSION_JOB",
    "SYSTEM",
    "LiveState",
    "Quota",
    "StageSpec",
    "add_house_entry",
    "add_stage",
    "cancel_submission",
    "check_predictions",
    "close_stage",
    "compute_board",
    "counted",
    "cut_rule_text",
    "decide",
    "entries_of",
    "entry_organisations",
    "entry_teams",
    "get_stage",
    "get_submission",
    "live_state",
    "my_entries",
    "quota",
    "refresh_public_board",
    "rerun_submission",
    "select_submissions",
    "stage_status",
    "start_race",
    "submissions_of",
    "submit",
    "sync_state",
    "view_board",
]
