"""Experts on races (专家复核): a seeded, blind sample of a generative stage's answers graded
by experts, beside the automatic score, and the judge model checked against them.

An operator opens a :class:`~mosu.review.models.GradingRound` on a closed stage whose task
has a generative scorer (``judge``, ``rouge_l``, ``bleu``). ``random.Random(seed)`` draws
``sample_size`` test samples among those every counted submission (the final board's)
answered, then orders the items and gives each a blind code: on a rubric one item per
counted submission and sample, graded 0 … ``scale`` on each criterion; pairwise one item per
pair of entries and sample, their order (which answer is A) drawn too. So the same seed on
the same stage gives the same items and codes. Experts see a code, the question and the
answer(s): never the entry, its model or organisation, nor the judge's grade.

Which experts grade is fixed when the round opens (the challenge panel's confirmed members,
or the experts the operator names) and written in the audit log line that opens it. When the
round closes, each entry's mean expert grade stands beside its automatic score, and where
the stage's judge graded the same answers, its agreement with the experts
(:mod:`mosu.review.agreement`) is reported and flagged below ``min_agreement``.
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.challenges import lifecycle
from mosu.challenges.models import Stage, StageState, Submission
from mosu.core import clock
from mosu.evals.tasks import Task
from mosu.permissions import Actor, can_run_race, ensure, grades_race_answers
from mosu.race.perf_spec import perf_stage
from mosu.race.scoring import outcomes_of, stage_data
from mosu.race.stages import get_stage
from mosu.registry.schemas import Strict
from mosu.review import agreement
from mosu.review.errors import (
    CHOOSE_PREFERENCE,
    CLOSE_GRADING_OPERATORS_ONLY,
    CRITERIA_NEEDED,
    CRITERION_KEYS_REPEAT,
    GRADE_EVERY_CRITERION,
    GRADE_OUT_OF_RANGE,
    GRADING_CLOSED,
    NO_COMMON_SAMPLE,
    NO_CONFIRMED_EXPERTS,
    NO_SUCH_GRADING_ITEM,
    NO_SUCH_GRADING_ROUND,
    NO_SUCH_USERS,
    NOT_EXPERTS,
    OPEN_GRADING_OPERATORS_ONLY,
    PERF_STAGE_NOT_GRADED,
    SCALE_NOT_JUDGES,
    STAGE_NOT_CLOSED,
    STAGE_NOT_GENERATIVE,
    TOO_FEW_SUBMISSIONS,
)
from mosu.review.grading_results import (
    OPENED,
    EntryGrades,
    JudgeOf,
    RoundResults,
    judge_of,
    round_experts,
    round_results,
)
from mosu.review.models import (
    Grade,
    GradingItem,
    GradingMode,
    GradingRound,
    MemberState,
    Panel,
    PanelMember,
    PanelState,
)

GENERATIVE_SCORERS = frozenset({"judge", "rouge_l", "bleu"})
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 6
CLOSED = "grading_round_closed"
OVERALL = "overall"


class GradingCriterionIn(Strict):
    """A criterion experts grade each answer on, from 0 to the round's scale."""

    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)


class GradingRoundIn(Strict):
    """What an operator gives to open a round. ``criteria`` (rubric mode): omitted, the
    stage's judge's single overall grade; ``scale`` is the judge's when it has one (default
    10); ``experts``: user ids, omitted, the challenge panel's confirmed members."""

    mode: GradingMode
    sample_size: int = Field(ge=1, le=500)
    seed: int | None = Field(default=None, ge=0, le=2**62)
    criteria: list[GradingCriterionIn] | None = None
    scale: int | None = Field(default=None, ge=1, le=100)
    min_agreement: float = Field(default=0.4, ge=-1, le=1)
    experts: list[int] | None = None


def scorer_names(definition: Mapping[str, Any]) -> list[str]:
    """The scorer names of a stage's task definition as written (no task is built)."""
    names = []
    for scorer in definition.get("scorers") or []:
        name = scorer if isinstance(scorer, str) else dict(scorer).get("name", "")
        names.append(str(name))
    return names


def is_generative(task: Task) -> bool:
    """Whether a stage's task grades free text (a judge, ROUGE-L or BLEU scorer)."""
    return any(s.name in GENERATIVE_SCORERS or s.judge is not None for s in task.scorers)


def get_round(session: Session, round_id: int) -> GradingRound:
    found = session.get(GradingRound, round_id)
    if found is None:
        raise NO_SUCH_GRADING_ROUND()
    return found


def counted_submissions(session: Session, stage: Stage) -> list[Submission]:
    """The submissions on the stage's final board (ranked and unranked), by entry id."""
    board = stage.leaderboard_final or {}
    ids = [r["submission_id"] for r in [*board.get("rows", []), *board.get("unranked", [])]]
    found = [s for i in ids if (s := session.get(Submission, i)) is not None]
    return sorted(found, key=lambda s: s.entry_id)


def answers_of(data_dir: Path, task: Task, submission: Submission) -> dict[str, str]:
    """A submission's answers by sample id, as a judge reads them (thinking removed)."""
    out = {}
    for sample_id, outcome in outcomes_of(data_dir, submission).items():
        text = task.answer_text(outcome.output) if outcome.output is not None else None
        if text is not None:
            out[sample_id] = text
    return out


def experts_by_username(session: Session, names: list[str]) -> list[int]:
    """The user ids of ``names`` (usernames), in their order; 422 naming the unknown."""
    users = {
        u.username: u.id for u in session.scalars(select(User).where(User.username.in_(names)))
    }
    missing = [n for n in names if n not in users]
    if missing:
        raise NO_SUCH_USERS(usernames=", ".join(missing), details={"field": "experts"})
    return [users[n] for n in names]


def _experts(session: Session, challenge_id: int, named: list[int] | None) -> list[int]:
    if named:
        ids = sorted(set(named))
        users = session.scalars(select(User).where(User.id.in_(ids))).all()
        ok = {u.id for u in users if grades_race_answers(u.role) and u.is_active}
        missing = [i for i in ids if i not in ok]
        if missing:
            raise NOT_EXPERTS(
                user_ids=", ".join(str(i) for i in missing), details={"field": "experts"}
            )
        return ids
    panel = session.scalar(select(Panel).where(Panel.challenge_id == challenge_id))
    members = (
        session.scalars(
            select(PanelMember.expert_id).where(
                PanelMember.panel_id == panel.id, PanelMember.state == MemberState.confirmed
            )
        ).all()
        if panel is not None
        else []
    )
    if not members:
        raise NO_CONFIRMED_EXPERTS(details={"field": "experts"})
    return sorted(members)


def _codes(rng: random.Random, n: int) -> list[str]:
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < n:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in seen:
            seen.add(code)
            codes.append(code)
    return codes


def _criteria(data: GradingRoundIn, judge: JudgeOf | None, scale: int) -> list[dict[str, Any]]:
    if data.mode is GradingMode.pairwise:
        return []
    if data.criteria:
        keys = [c.key for c in data.criteria]
        if len(set(keys)) != len(keys):
            raise CRITERION_KEYS_REPEAT(details={"field": "criteria"})
        return [c.model_dump() for c in data.criteria]
    if judge is None:
        raise CRITERIA_NEEDED(details={"field": "criteria"})
    return [
        {
            "key": OVERALL,
            "name": "总体质量",
            "description": f"与评审模型相同的要求：对照问题给出 0–{scale} 的整体评分",
        }
    ]


def _draw(
    round_: GradingRound,
    task: Task,
    submissions: list[Submission],
    sample_size: int,
    data_dir: Path,
) -> None:
    """Draw the round's items by its seed: the samples every submission answered, one item
    per submission (rubric) or per pair of them in a drawn order (pairwise), shuffled, each
    under a blind code."""
    needed = 2 if round_.mode is GradingMode.pairwise else 1
    if len(submissions) < needed:
        raise TOO_FEW_SUBMISSIONS(details={"counted": len(submissions)})
    answers = {s.id: answers_of(data_dir, task, s) for s in submissions}
    candidates = [x.id for x in task.samples() if all(x.id in answers[s.id] for s in submissions)]
    if not candidates:
        raise NO_COMMON_SAMPLE()
    rng = random.Random(round_.seed)
    chosen = rng.sample(candidates, min(sample_size, len(candidates)))
    drawn: list[tuple[str, int, int | None]] = []
    for sample_id in chosen:
        if round_.mode is GradingMode.rubric:
            drawn += [(sample_id, s.id, None) for s in submissions]
            continue
        for a, b in itertools.combinations(submissions, 2):
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            drawn.append((sample_id, first.id, second.id))
    rng.shuffle(drawn)
    round_.sample_size = len(chosen)
    for code, (sample_id, first_id, second_id) in zip(_codes(rng, len(drawn)), drawn, strict=True):
        round_.items.append(
            GradingItem(
                code=code,
                sample_id=sample_id,
                submission_id=first_id,
                other_submission_id=second_id,
            )
        )


def open_round(
    session: Session, *, actor: Actor, stage_id: int, data: GradingRoundIn, data_dir: Path
) -> GradingRound:
    """Open a grading round on a closed generative stage (operators): draw its items."""
    ensure(can_run_race(actor), OPEN_GRADING_OPERATORS_ONLY)
    stage = get_stage(session, stage_id)
    if stage.state is not StageState.closed:
        raise STAGE_NOT_CLOSED()
    if perf_stage(stage.task) is not None:
        raise PERF_STAGE_NOT_GRADED()
    task = stage_data(session, stage).task
    if not is_generative(task):
        raise STAGE_NOT_GENERATIVE()
    judge = judge_of(task)
    scale = judge.scale if judge is not None else (data.scale or 10)
    if judge is not None and data.scale is not None and data.scale != judge.scale:
        raise SCALE_NOT_JUDGES(scale=judge.scale, details={"field": "scale"})
    criteria = _criteria(data, judge, scale)
    experts = _experts(session, stage.challenge_id, data.experts)
    seed = data.seed if data.seed is not None else secrets.randbelow(2**62)
    round_ = GradingRound(
        stage_id=stage.id,
        mode=data.mode,
        criteria=criteria,
        scale=scale,
        seed=seed,
        min_agreement=data.min_agreement,
        created_by_id=actor.user_id,
    )
    _draw(round_, task, counted_submissions(session, stage), data.sample_size, data_dir)
    drawn = round_.items
    chosen = {i.sample_id for i in drawn}
    session.add(round_)
    session.flush()
    lifecycle.record(
        session,
        stage.challenge,
        actor=actor,
        action=OPENED,
        details={
            "round": round_.id,
            "stage": stage.position,
            "mode": data.mode.value,
            "sample_size": len(chosen),
            "seed": seed,
            "items": len(drawn),
            "experts": experts,
        },
    )
    return round_


def assigned_item(session: Session, actor: Actor, item_id: int) -> GradingItem:
    """An item of a round the actor grades; 404 for anyone else (ids reveal nothing)."""
    item = session.get(GradingItem, item_id)
    if item is None or actor.user_id not in round_experts(session, item.round):
        raise NO_SUCH_GRADING_ITEM()
    return item


def grade(
    session: Session,
    *,
    actor: Actor,
    item_id: int,
    scores: Mapping[str, float] | None = None,
    preference: str | None = None,
    comment: str = "",
) -> Grade:
    """An expert grades one item of a round they sit on (again, until the round closes):
    a score 0 … scale per criterion, or a preference a / b / tie."""
    item = assigned_item(session, actor, item_id)
    round_ = item.round
    if round_.state is PanelState.closed:
        raise GRADING_CLOSED()
    if round_.mode is GradingMode.rubric:
        keys = {c["key"] for c in round_.criteria}
        given = dict(scores or {})
        if set(given) != keys:
            raise GRADE_EVERY_CRITERION(keys=", ".join(sorted(keys)), details={"field": "scores"})
        if any(not 0 <= float(v) <= round_.scale for v in given.values()):
            raise GRADE_OUT_OF_RANGE(scale=round_.scale, details={"field": "scores"})
        values: dict[str, float] = {k: float(v) for k, v in given.items()}
        choice = None
    else:
        if preference not in agreement.PREFERENCES:
            raise CHOOSE_PREFERENCE(details={"field": "preference"})
        values, choice = {}, preference
    found = session.scalar(
        select(Grade).where(Grade.item_id == item.id, Grade.expert_id == actor.user_id)
    )
    if found is None:
        assert actor.user_id is not None
        found = Grade(item_id=item.id, expert_id=actor.user_id)
        session.add(found)
    found.scores = values
    found.preference = choice
    found.comment = comment.strip()[:2000]
    found.graded_at = clock.now()
    session.flush()
    return found


def close_round(session: Session, *, actor: Actor, round_id: int, data_dir: Path) -> GradingRound:
    """Close a round (operators): grades are final and its results shown on the stage."""
    ensure(can_run_race(actor), CLOSE_GRADING_OPERATORS_ONLY)
    round_ = get_round(session, round_id)
    if round_.state is PanelState.closed:
        raise GRADING_CLOSED()
    round_.state = PanelState.closed
    round_.closed_at = clock.now()
    session.flush()
    results = round_results(session, round_, data_dir)
    summary: dict[str, Any] = {"round": round_.id, "graded": results.graded, "items": results.items}
    if results.judge:
        summary["flagged"] = results.flagged
        if results.pairwise is not None:
            summary["agreement_rate"] = results.pairwise.rate
        else:
            summary["kappa"] = {a.key: a.kappa for a in results.criteria_agreement}
    lifecycle.record(session, round_.stage.challenge, actor=actor, action=CLOSED, details=summary)
    return round_


__all__ = [
    "GENERATIVE_SCORERS",
    "EntryGrades",
    "GradingCriterionIn",
    "GradingRoundIn",
    "RoundResults",
    "assigned_item",
    "close_round",
    "counted_submissions",
    "experts_by_username",
    "get_round",
    "grade",
    "is_generative",
    "judge_of",
    "open_round",
    "round_experts",
    "round_results",
    "scorer_names",
]
