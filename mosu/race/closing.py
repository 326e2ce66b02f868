"""Starting a race, closing its stages by their published cut rules, and naming the winners."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.challenges import lifecycle
from mosu.challenges.models import (
    Application,
    ApplicationState,
    Challenge,
    ChallengeState,
    CutRule,
    Entry,
    EntryState,
    Stage,
    StageState,
    Submission,
)
from mosu.core import clock
from mosu.core.text import Text
from mosu.i18n import N_
from mosu.permissions import Actor, can_run_race, ensure
from mosu.race import notices
from mosu.race.baselines import schedule_baselines
from mosu.race.board import compute_board
from mosu.race.entries import entries_of
from mosu.race.errors import (
    BASELINE_CANNOT_WIN,
    CHOOSE_WINNERS,
    CLOSE_EARLIER_STAGES_FIRST,
    CLOSE_EVERY_STAGE,
    DECIDED_ELSEWHERE,
    EARLY_CLOSE_NEEDS_REASON,
    ENTRY_NOT_RACING,
    NO_ENTRY_YET,
    NO_STAGE_YET,
    NO_SUCH_ENTRY,
    NO_SUCH_STAGE,
    NOT_RACING,
    ONLY_OPERATORS_CLOSE,
    STAGE_CLOSED,
    SUBMISSIONS_RUNNING,
    TOO_MANY_WINNERS,
)
from mosu.race.perf_spec import perf_stage
from mosu.race.scoring import Board, BoardRow, not_worse_than_best
from mosu.race.stages import PENDING_STATES, cut_rule_text, get_challenge, schedule_close


def start_race(session: Session, *, actor: Actor, challenge_id: int, reason: str = "") -> None:
    """Move a shortlisted challenge to racing; each stage's close is scheduled as a job."""
    challenge = get_challenge(session, challenge_id)
    if not challenge.stages:
        raise NO_STAGE_YET(challenge_id=challenge.id)
    if not any(e.state is EntryState.active for e in entries_of(session, challenge.id)):
        raise NO_ENTRY_YET()
    lifecycle.transition(session, challenge, "start_race", actor=actor, reason=reason)
    for stage in challenge.stages:
        schedule_close(session, stage)
        schedule_baselines(session, stage)
    notices.race_started(session, challenge, entries_of(session, challenge.id))


lifecycle.carried_out_by("start_race", start_race)


def pending(session: Session, stage: Stage) -> int:
    """How many of the stage's submissions are still queued or running."""
    return (
        session.scalar(
            select(func.count(Submission.id)).where(
                Submission.stage_id == stage.id,
                Submission.state.in_([s.value for s in PENDING_STATES]),
            )
        )
        or 0
    )


def _kept(stage: Stage, final: Board) -> set[int]:
    """The entries that go on by the stage's published cut rule; unranked entries
    (incomplete, or missing the scoring rule) never do."""
    if stage.cut_rule is CutRule.top_k:
        return {r.entry_id for r in final.rows if r.position <= int(stage.cut_value)}
    if stage.cut_rule is CutRule.threshold:
        return {r.entry_id for r in final.rows if r.score >= stage.cut_value}
    return not_worse_than_best(final)


def _cut_reason(stage: Stage, row: BoardRow | None, unranked: BoardRow | None) -> Text:
    """Why an entry did not go on: its place and score, or why it had none."""
    if row is None and unranked is not None:
        return Text(N_("未排名：{why}"), {"why": unranked.reason_text() or ""})
    if row is None:
        return Text(N_("本阶段没有成功完成的提交"))
    if perf_stage(stage.task) is not None:  # measured under load, not scored
        return Text(
            N_("第 {position} 名，SLO 内最大并发 {concurrency}"),
            {"position": row.position, "concurrency": f"{row.score:.0f}"},
        )
    score, low, high = (f"{v * 100:.2f}" for v in (row.score, row.low, row.high))
    return Text(
        N_("第 {position} 名，得分 {score}（95% 区间 {low}–{high}）"),
        {"position": row.position, "score": score, "low": low, "high": high},
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
    ensure(can_run_race(actor), ONLY_OPERATORS_CLOSE)
    stage = session.scalars(select(Stage).where(Stage.id == stage_id).with_for_update()).first()
    if stage is None:
        raise NO_SUCH_STAGE()
    if stage.state is StageState.closed:
        raise STAGE_CLOSED()
    challenge = stage.challenge
    if challenge.state is not ChallengeState.racing:
        raise NOT_RACING()
    early = moment < stage.closes_at
    if early and not reason.strip():
        raise EARLY_CLOSE_NEEDS_REASON()
    earlier = [s for s in challenge.stages if s.position < stage.position]
    if any(s.state is not StageState.closed for s in earlier):
        raise CLOSE_EARLIER_STAGES_FIRST()
    waiting = pending(session, stage)
    if waiting:
        raise SUBMISSIONS_RUNNING(count=waiting, details={"pending": waiting})
    final = compute_board(session, stage, "private", data_dir)
    stage.leaderboard_public = compute_board(session, stage, "public", data_dir).to_json()
    stage.leaderboard_final = final.to_json()
    stage.state = StageState.closed
    stage.closed_at = moment
    if early:
        stage.closes_at = moment
    rows = {r.entry_id: r for r in final.rows}
    unranked = {r.entry_id: r for r in final.unranked}
    keep = _kept(stage, final)
    kept: list[Entry] = []
    cut: list[Entry] = []
    for entry in entries_of(session, challenge.id):
        if entry.state is not EntryState.active:
            continue
        if entry.id in keep:
            kept.append(entry)
            continue
        why = _cut_reason(stage, rows.get(entry.id), unranked.get(entry.id))
        entry.state = EntryState.cut
        entry.cut_at_stage_id = stage.id
        entry.cut_reason = Text(
            N_("{stage}：{why}；规则：{rule}"),
            {"stage": stage.name, "why": why, "rule": cut_rule_text(stage)},
        )
        cut.append(entry)
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="stage_closed",
        reason=reason,
        details={
            "stage": stage.position,
            "name": stage.name,
            "kept": [e.name for e in kept],
            "cut": [e.name for e in cut],
        },
    )
    notices.stage_closed(session, stage, kept, cut)
    return stage


DecisionOwner = Callable[[Session, Challenge], Text | str | None]
"""Says why a challenge's winners are not named on the race alone (``None``: they are); the
reason is shown in the refusal, so a catalogued :class:`Text` reads in every language."""

_DECISION_OWNERS: list[DecisionOwner] = []


def decided_elsewhere(owner: DecisionOwner) -> None:
    """Let a package built on the race take over some challenges' decisions (a published
    combined rule, :mod:`mosu.review.decision`): :func:`decide` then refuses with 409 and
    the owner's message unless called with ``guarded=False`` by that package."""
    if owner not in _DECISION_OWNERS:
        _DECISION_OWNERS.append(owner)


def decide(
    session: Session,
    *,
    actor: Actor,
    challenge_id: int,
    entry_ids: list[int],
    reason: str = "",
    guarded: bool = True,
) -> list[Entry]:
    """Name the winners (揭榜成功) among the entries still in the race, after every stage.
    ``guarded=False`` is for the package that owns the decision (:func:`decided_elsewhere`)."""
    challenge = get_challenge(session, challenge_id)
    for owner in _DECISION_OWNERS if guarded and can_run_race(actor) else ():
        why = owner(session, challenge)
        if why is not None:
            raise DECIDED_ELSEWHERE(reason=why)
    if any(s.state is not StageState.closed for s in challenge.stages):
        raise CLOSE_EVERY_STAGE(challenge_id=challenge.id)
    ids = list(dict.fromkeys(entry_ids))
    if not ids:
        raise CHOOSE_WINNERS()
    if len(ids) > challenge.winner_places:
        raise TOO_MANY_WINNERS(places=challenge.winner_places)
    entries = {e.id: e for e in entries_of(session, challenge.id)}
    winners = []
    for entry_id in ids:
        entry = entries.get(entry_id)
        if entry is None:
            raise NO_SUCH_ENTRY()
        if entry.state is not EntryState.active:
            raise ENTRY_NOT_RACING(entry=entry.name)
        if entry.baseline is not None:
            raise BASELINE_CANNOT_WIN()
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
    others = [e for e in entries.values() if e.state is EntryState.active]
    settle_results(session, challenge, entries.values())
    notices.decided(session, challenge, winners, others)
    return winners


def settle_results(session: Session, challenge: Challenge, entries: Iterable[Entry]) -> None:
    """The decision's results on every team: entries still racing that were not named are
    未入选, and each shortlisted application follows its entry (揭榜成功 or 未入选)."""
    won = set()
    for entry in entries:
        if entry.state is EntryState.active:
            entry.state = EntryState.not_selected
        if entry.state is EntryState.winner and entry.application_id is not None:
            won.add(entry.application_id)
    shortlisted = session.scalars(
        select(Application).where(
            Application.challenge_id == challenge.id,
            Application.state == ApplicationState.shortlisted,
        )
    )
    for application in shortlisted:
        application.state = (
            ApplicationState.won if application.id in won else ApplicationState.not_selected
        )
