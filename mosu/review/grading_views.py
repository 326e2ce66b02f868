"""What each reader sees of expert grading: an expert's own blind items and queue, and a
stage's grading results (closed rounds) beside its automatic scores.

An expert's item carries its blind code, the question and the answer(s) and the expert's
own grade: never the entry, its submission, model or organisation, nor the judge's grade,
nor another expert's grade. A round's results are shown once it closes, to whoever may see
the stage; operators also see the rounds still open and how far they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import Challenge, Stage, StageState
from mosu.i18n import N_
from mosu.permissions import Actor, can_run_race
from mosu.race.scoring import outcomes_of, stage_data
from mosu.race.views import visible_stage
from mosu.review.errors import (
    NO_SUCH_GRADING_ROUND,
)
from mosu.review.grading import (
    GENERATIVE_SCORERS,
    RoundResults,
    get_round,
    round_experts,
    round_results,
    scorer_names,
)
from mosu.review.models import Grade, GradingRound, PanelState
from mosu.review.queue import QueueItem, QueueSection, register_section


@dataclass(frozen=True)
class ExpertItem:
    """One item as its expert sees it: code, question, answer A (and B), their own grade."""

    id: int
    code: str
    question: str
    answer_a: str
    answer_b: str | None
    scores: dict[str, float] | None
    preference: str | None
    comment: str


@dataclass(frozen=True)
class ExpertRound:
    """A round as an expert grades it: the criteria (or a / b / tie) and their items."""

    round_id: int
    challenge: str
    stage: str
    mode: str
    state: str
    scale: int
    criteria: list[dict[str, Any]]
    items: list[ExpertItem]

    @property
    def graded(self) -> int:
        return sum(1 for i in self.items if i.scores is not None or i.preference is not None)


@dataclass(frozen=True)
class QueueRow:
    """An open round waiting for an expert, with how many of its items they graded."""

    round_id: int
    challenge_id: int
    challenge: str
    stage_id: int
    stage: str
    mode: str
    items: int
    graded: int


@dataclass(frozen=True)
class OpenRound:
    """A round still open, as operators follow it."""

    round_id: int
    mode: str
    items: int
    graded: int
    experts: int


@dataclass(frozen=True)
class StageGrading:
    """A stage's expert grading: closed rounds' results; open rounds for operators only."""

    stage_id: int
    rounds: list[RoundResults] = field(default_factory=list)
    open: list[OpenRound] = field(default_factory=list)
    generative: bool = False

    @property
    def flagged(self) -> bool:
        return any(r.flagged for r in self.rounds)


def _readable_round(session: Session, actor: Actor, round_id: int) -> GradingRound:
    """A round its experts (and operators) may open; anyone else gets 404."""
    round_ = get_round(session, round_id)
    if not can_run_race(actor) and actor.user_id not in round_experts(session, round_):
        raise NO_SUCH_GRADING_ROUND()
    return round_


def expert_round(session: Session, *, actor: Actor, round_id: int, data_dir: Path) -> ExpertRound:
    """The round's items, blind, with the reader's own grades."""
    round_ = _readable_round(session, actor, round_id)
    stage = round_.stage
    task = stage_data(session, stage).task
    questions = {s.id: task.messages(s)[-1]["content"] for s in task.samples()}
    answers: dict[int, dict[str, str]] = {}

    def answer(submission_id: int | None, sample_id: str) -> str:
        if submission_id is None:
            return ""
        if submission_id not in answers:
            item = next(
                i for i in round_.items if submission_id in (i.submission_id, i.other_submission_id)
            )
            sub = item.submission if item.submission_id == submission_id else item.other_submission
            assert sub is not None
            answers[submission_id] = {
                sid: task.answer_text(o.output) or ""
                for sid, o in outcomes_of(data_dir, sub).items()
                if o.output is not None
            }
        return answers[submission_id].get(sample_id, "")

    mine = {
        g.item_id: g
        for g in session.scalars(
            select(Grade).where(
                Grade.item_id.in_([i.id for i in round_.items]),
                Grade.expert_id == actor.user_id,
            )
        )
    }
    items = []
    for item in sorted(round_.items, key=lambda i: i.id):
        own = mine.get(item.id)
        items.append(
            ExpertItem(
                id=item.id,
                code=item.code,
                question=questions.get(item.sample_id, ""),
                answer_a=answer(item.submission_id, item.sample_id),
                answer_b=answer(item.other_submission_id, item.sample_id)
                if item.other_submission_id is not None
                else None,
                scores=dict(own.scores) if own is not None and own.preference is None else None,
                preference=own.preference if own is not None else None,
                comment=own.comment if own is not None else "",
            )
        )
    return ExpertRound(
        round_id=round_.id,
        challenge=stage.challenge.title,
        stage=stage.name,
        mode=round_.mode.value,
        state=round_.state.value,
        scale=round_.scale,
        criteria=list(round_.criteria),
        items=items,
    )


def grading_queue(session: Session, *, actor: Actor) -> list[QueueRow]:
    """The open rounds the actor grades, with their progress (empty for non-experts)."""
    rows = []
    for round_ in session.scalars(
        select(GradingRound).where(GradingRound.state == PanelState.open).order_by(GradingRound.id)
    ):
        if actor.user_id is None or actor.user_id not in round_experts(session, round_):
            continue
        ids = [i.id for i in round_.items]
        graded = len(
            session.scalars(
                select(Grade.id).where(Grade.item_id.in_(ids), Grade.expert_id == actor.user_id)
            ).all()
        )
        stage = round_.stage
        rows.append(
            QueueRow(
                round_id=round_.id,
                challenge_id=stage.challenge_id,
                challenge=stage.challenge.title,
                stage_id=stage.id,
                stage=stage.name,
                mode=round_.mode.value,
                items=len(ids),
                graded=graded,
            )
        )
    return rows


@register_section
def to_grade(session: Session, actor: Actor) -> QueueSection:
    """The expert's queue section of race answers to grade: each open round with answers
    left."""
    items = [
        QueueItem(
            title=f"{row.challenge} · {row.stage}",
            link=f"/grading-rounds/{row.round_id}",
            detail=f"待复核 {row.items - row.graded} 条 / {row.items - row.graded} left to grade",
        )
        for row in grading_queue(session, actor=actor)
        if row.graded < row.items
    ]
    return QueueSection(key="grade", title=N_("待复核的赛马答案"), items=items)


def stage_grading(session: Session, *, actor: Actor, stage_id: int, data_dir: Path) -> StageGrading:
    """A stage's closed rounds' results (for whoever may see the stage) and, for
    operators, its open rounds."""
    stage = visible_stage(session, actor, stage_id)
    return grading_of(session, actor, stage, data_dir)


def grading_of(session: Session, actor: Actor, stage: Stage, data_dir: Path) -> StageGrading:
    rounds = session.scalars(
        select(GradingRound).where(GradingRound.stage_id == stage.id).order_by(GradingRound.id)
    ).all()
    closed = [round_results(session, r, data_dir) for r in rounds if r.state is PanelState.closed]
    opened = []
    if can_run_race(actor):
        for r in rounds:
            if r.state is not PanelState.open:
                continue
            ids = [i.id for i in r.items]
            graded = session.scalars(select(Grade.item_id).where(Grade.item_id.in_(ids))).all()
            opened.append(
                OpenRound(
                    r.id, r.mode.value, len(ids), len(set(graded)), len(round_experts(session, r))
                )
            )
    generative = bool(GENERATIVE_SCORERS & set(scorer_names(stage.task)))
    return StageGrading(stage_id=stage.id, rounds=closed, open=opened, generative=generative)


def race_grading(
    session: Session, actor: Actor, challenge: Challenge, data_dir: Path
) -> dict[int, StageGrading]:
    """Each closed stage's grading, by stage id, for the race page."""
    return {
        s.id: grading_of(session, actor, s, data_dir)
        for s in challenge.stages
        if s.state is StageState.closed
    }


__all__ = [
    "ExpertItem",
    "ExpertRound",
    "OpenRound",
    "QueueRow",
    "StageGrading",
    "expert_round",
    "grading_of",
    "grading_queue",
    "race_grading",
    "stage_grading",
]
