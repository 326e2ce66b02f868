"""Race stages (赛马阶段): adding one, its status, its published cut rule, scheduling its close."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from mosu.challenges import lifecycle
from mosu.challenges.deadlines import schedule_reminder
from mosu.challenges.errors import NO_SUCH_CHALLENGE
from mosu.challenges.models import (
    Challenge,
    ChallengeState,
    CutRule,
    Stage,
    StageState,
    SubmissionMode,
    SubmissionState,
)
from mosu.core import clock
from mosu.core.text import Text
from mosu.corpus.models import DatasetVersion
from mosu.i18n import N_
from mosu.jobs import queue
from mosu.jobs.models import Job
from mosu.permissions import Actor, Role, can_run_race, ensure
from mosu.race.errors import (
    CLOSES_AFTER_WINDOW,
    CLOSES_BEFORE_OPENING,
    LIMITS,
    MIN_COVERAGE,
    NO_MORE_STAGES,
    NO_SUCH_STAGE,
    NO_SUCH_VERSION,
    ONLY_OPERATORS_SET_UP,
    OPENS_BEFORE_PREVIOUS_CLOSES,
    OPENS_BEFORE_WINDOW,
    PUBLIC_FRACTION,
    STAGE_NEEDS_NAME,
    TIMES_NEED_ZONE,
    TOP_K_WHOLE,
)
from mosu.race.perf_spec import check_mode
from mosu.race.rules import parse_rule, rule_text
from mosu.race.scoring import stage_data

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
        raise NO_SUCH_CHALLENGE(challenge_id=challenge_id)
    return challenge


def get_stage(session: Session, stage_id: int) -> Stage:
    stage = session.get(Stage, stage_id)
    if stage is None:
        raise NO_SUCH_STAGE()
    return stage


class StageStatus(StrEnum):
    """Where a stage is in time: ``closing`` is past its close but not yet closed."""

    scheduled = "scheduled"
    open = "open"
    closing = "closing"
    closed = "closed"


def stage_status(stage: Stage, now: dt.datetime | None = None) -> StageStatus:
    """``scheduled``, ``open``, ``closing`` (past its close, not yet closed) or ``closed``."""
    if stage.state is StageState.closed:
        return StageStatus.closed
    moment = now or clock.now()
    if moment < stage.opens_at:
        return StageStatus.scheduled
    return StageStatus.open if moment < stage.closes_at else StageStatus.closing


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
    min_coverage: float = 0.9
    rule: dict[str, Any] | None = None  # a scoring rule (mosu.race.rules), None: quality


def add_stage(session: Session, *, actor: Actor, challenge_id: int, spec: StageSpec) -> Stage:
    """Add the next stage to a challenge's race (operators, before the race is decided)."""
    ensure(can_run_race(actor), ONLY_OPERATORS_SET_UP)
    challenge = get_challenge(session, challenge_id)
    if challenge.state in FINISHED_CHALLENGE:
        raise NO_MORE_STAGES()
    if spec.opens_at.tzinfo is None or spec.closes_at.tzinfo is None:
        raise TIMES_NEED_ZONE()
    if spec.closes_at <= spec.opens_at:
        raise CLOSES_BEFORE_OPENING()
    if not 0.05 <= spec.public_fraction <= 0.95:
        raise PUBLIC_FRACTION()
    if spec.daily_limit < 1 or spec.total_limit < spec.daily_limit or spec.max_selected < 1:
        raise LIMITS()
    if spec.cut_rule is CutRule.top_k and (spec.cut_value < 1 or spec.cut_value % 1):
        raise TOP_K_WHOLE()
    if not 0 <= spec.min_coverage <= 1:
        raise MIN_COVERAGE(details={"field": "min_coverage"})
    rule = parse_rule(spec.rule)
    if not spec.name.strip():
        raise STAGE_NEEDS_NAME()
    previous = challenge.stages[-1] if challenge.stages else None
    if previous is not None and spec.opens_at < previous.closes_at:
        raise OPENS_BEFORE_PREVIOUS_CLOSES()
    _check_window(challenge, spec)
    if session.get(DatasetVersion, spec.dataset_version_id) is None:
        raise NO_SUCH_VERSION()
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
        min_coverage=spec.min_coverage,
        rule=rule.model_dump(exclude_none=True) if rule is not None else None,
        state=StageState.scheduled,
    )
    check_mode(spec.task, spec.mode)
    stage_data(session, stage)  # the task must fit the data: refused here, not mid-race
    challenge.stages.append(stage)
    session.flush()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="stage_added",
        details={
            "stage": stage.position,
            "name": stage.name,
            "rule": cut_rule_text(stage).to_json(),
            "scoring": scoring_rule_text(stage).to_json(),
            "min_coverage": stage.min_coverage,
        },
    )
    if challenge.state is ChallengeState.racing:
        from mosu.race.baselines import schedule_baselines  # it submits: stages come first

        schedule_close(session, stage)
        schedule_baselines(session, stage)
    return stage


def _check_window(challenge: Challenge, spec: StageSpec) -> None:
    """A stage lies within the challenge's validity window (its dates in Beijing time)."""
    opens, closes = clock.local(spec.opens_at).date(), clock.local(spec.closes_at).date()
    if opens < challenge.valid_from:
        raise OPENS_BEFORE_WINDOW(
            opens=opens, valid_from=challenge.valid_from, details={"field": "opens_at"}
        )
    if closes > challenge.valid_until:
        raise CLOSES_AFTER_WINDOW(
            closes=closes, valid_until=challenge.valid_until, details={"field": "closes_at"}
        )


def cut_rule_text(stage: Stage) -> Text:
    """The published cut rule, in words."""
    if stage.cut_rule is CutRule.top_k:
        return Text(N_("前 {k} 名晋级"), {"k": int(stage.cut_value)})
    if stage.cut_rule is CutRule.threshold:
        shown = f"{stage.cut_value * 100:.2f}"  # on the board's scale
        return Text(N_("得分不低于 {score} 晋级"), {"score": shown})
    return Text(N_("与最佳无显著差异者晋级"))


def scoring_rule_text(stage: Stage) -> Text:
    """The stage's published scoring rule over quality, speed and cost, in words. Set when
    the stage is added and never changed (there is no way to edit a stage)."""
    return rule_text(parse_rule(stage.rule))


def schedule_close(session: Session, stage: Stage) -> Job:
    job = queue.enqueue(
        session,
        kind=CLOSE_JOB,
        payload={"stage_id": stage.id, "race_id": stage.challenge_id},
        priority=10,
    )
    job.available_at = stage.closes_at
    schedule_reminder(session, stage.closes_at)
    return job
