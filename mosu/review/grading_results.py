"""The figures of a closed grading round (专家复核结果): each entry's mean expert grade
beside its automatic score, and the stage judge's agreement with the experts.

On a rubric an entry's grade is the mean over its items, experts and criteria (on the
round's scale, with the mean per criterion); pairwise it is the share of its pairs that the
experts' majority gave it, a tie counting half. The judge's grades are read from each
submission's run store, where the race kept its verdicts.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import ChallengeEvent, Stage, Submission
from mosu.evals.scorers import judge_grade
from mosu.evals.tasks import Task
from mosu.race.scoring import MODEL_NAME, outcomes_of, stage_data
from mosu.review import agreement
from mosu.review.models import Grade, GradingMode, GradingRound

OPENED = "grading_round_opened"


@dataclass(frozen=True)
class JudgeOf:
    """The stage's judge scorer: its index among the task's scorers (its verdicts are kept
    in each submission's run store as ``entry@judge{index}``) and its scale."""

    index: int
    scale: int


def judge_of(task: Task) -> JudgeOf | None:
    """The task's first judge scorer (the one experts are compared with), if it has one."""
    for index, scorer in enumerate(task.scorers):
        if scorer.judge is not None:
            return JudgeOf(index, max(1, round(scorer.judge.scale)))
    return None


def judge_grades(data_dir: Path, submission: Submission, judge: JudgeOf) -> dict[str, int]:
    """The judge's grade (0 … scale) of each answer of a submission it graded."""
    verdicts = outcomes_of(data_dir, submission, f"{MODEL_NAME}@judge{judge.index}")
    return {
        sid: agreement.on_scale(judge_grade(o.output, judge.scale), judge.scale)
        for sid, o in verdicts.items()
        if o.output is not None
    }


def round_experts(session: Session, round_: GradingRound) -> list[int]:
    """The experts who grade a round, as the audit line that opened it records them."""
    for event in session.scalars(
        select(ChallengeEvent).where(
            ChallengeEvent.challenge_id == round_.stage.challenge_id,
            ChallengeEvent.action == OPENED,
        )
    ):
        if event.details.get("round") == round_.id:
            return [int(i) for i in event.details.get("experts", [])]
    return []


@dataclass(frozen=True)
class EntryGrades:
    """One entry's part of a closed round: the experts' mean grade (rubric: on the scale,
    with the mean per criterion; pairwise: the share of its pairs the experts' majority gave
    it, a tie counting half) beside the stage's automatic score (final board)."""

    entry_id: int
    entry: str
    expert_mean: float | None
    by_criterion: dict[str, float]
    grades: int
    auto_score: float | None


@dataclass(frozen=True)
class RoundResults:
    """A round's figures: entries' expert grades, and the judge's agreement (none without
    a judge); ``flagged`` when the judge's agreement is below the round's level."""

    round_id: int
    mode: str
    state: str
    scale: int
    criteria: list[dict[str, Any]]
    items: int
    graded: int
    experts: int
    seed: int
    min_agreement: float
    entries: list[EntryGrades] = field(default_factory=list)
    judge: bool = False
    criteria_agreement: list[agreement.CriterionAgreement] = field(default_factory=list)
    pairwise: agreement.PairwiseAgreement | None = None
    flagged: bool = False


def _grades_by_item(session: Session, round_: GradingRound) -> dict[int, list[Grade]]:
    out: dict[int, list[Grade]] = defaultdict(list)
    ids = [i.id for i in round_.items]
    for g in session.scalars(select(Grade).where(Grade.item_id.in_(ids)).order_by(Grade.id)):
        out[g.item_id].append(g)
    return out


def _entry_names(round_: GradingRound) -> dict[int, tuple[int, str]]:
    subs = {i.submission for i in round_.items} | {
        i.other_submission for i in round_.items if i.other_submission is not None
    }
    return {s.id: (s.entry_id, s.entry.name) for s in subs}


def _auto_scores(stage: Stage) -> dict[int, float]:
    board = stage.leaderboard_final or {}
    return {
        r["entry_id"]: float(r["score"])
        for r in [*board.get("rows", []), *board.get("unranked", [])]
    }


def round_results(session: Session, round_: GradingRound, data_dir: Path) -> RoundResults:
    """The figures of a round (the caller decides who may see them)."""
    by_item = _grades_by_item(session, round_)
    names = _entry_names(round_)
    auto = _auto_scores(round_.stage)
    base = RoundResults(
        round_id=round_.id,
        mode=round_.mode.value,
        state=round_.state.value,
        scale=round_.scale,
        criteria=list(round_.criteria),
        items=len(round_.items),
        graded=sum(1 for i in round_.items if by_item.get(i.id)),
        experts=len(round_experts(session, round_)),
        seed=round_.seed,
        min_agreement=round_.min_agreement,
    )
    task = stage_data(session, round_.stage).task
    judge = judge_of(task)
    verdicts: dict[int, dict[str, int]] = {}
    if judge is not None:
        subs = {i.submission for i in round_.items} | {
            i.other_submission for i in round_.items if i.other_submission is not None
        }
        verdicts = {s.id: judge_grades(data_dir, s, judge) for s in subs}
    if round_.mode is GradingMode.rubric:
        return _rubric_results(round_, base, by_item, names, auto, judge, verdicts)
    return _pairwise_results(round_, base, by_item, names, auto, judge, verdicts)


def _rubric_results(
    round_: GradingRound,
    base: RoundResults,
    by_item: Mapping[int, Sequence[Grade]],
    names: Mapping[int, tuple[int, str]],
    auto: Mapping[int, float],
    judge: JudgeOf | None,
    verdicts: Mapping[int, Mapping[str, int]],
) -> RoundResults:
    keys = [str(c["key"]) for c in round_.criteria]
    per_entry: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[int, int] = defaultdict(int)
    experts: dict[int, dict[str, list[float]]] = {}
    judged: dict[int, int] = {}
    for item in round_.items:
        entry_id = names[item.submission_id][0]
        grades = by_item.get(item.id, [])
        counts[entry_id] += len(grades)
        for g in grades:
            for key in keys:
                per_entry[entry_id][key].append(float(g.scores[key]))
        if grades:
            experts[item.id] = {k: [float(g.scores[k]) for g in grades] for k in keys}
        grade_ = verdicts.get(item.submission_id, {}).get(item.sample_id)
        if grade_ is not None:
            judged[item.id] = grade_
    entries = []
    for entry_id, name in sorted(set(names.values())):
        crit = {k: statistics.fmean(v) for k, v in per_entry[entry_id].items() if v}
        entries.append(
            EntryGrades(
                entry_id=entry_id,
                entry=name,
                expert_mean=statistics.fmean(crit.values()) if crit else None,
                by_criterion=crit,
                grades=counts[entry_id],
                auto_score=auto.get(entry_id),
            )
        )
    if judge is None:
        return _with(base, entries=entries)
    found = agreement.rubric_agreement(
        judged, experts, round_.criteria, scale=round_.scale, min_agreement=round_.min_agreement
    )
    return _with(
        base,
        entries=entries,
        judge=True,
        criteria_agreement=found,
        flagged=any(a.flagged for a in found),
    )


def _pairwise_results(
    round_: GradingRound,
    base: RoundResults,
    by_item: Mapping[int, Sequence[Grade]],
    names: Mapping[int, tuple[int, str]],
    auto: Mapping[int, float],
    judge: JudgeOf | None,
    verdicts: Mapping[int, Mapping[str, int]],
) -> RoundResults:
    points: dict[int, float] = defaultdict(float)
    pairs: dict[int, int] = defaultdict(int)
    counts: dict[int, int] = defaultdict(int)
    experts: dict[int, list[str]] = {}
    judged: dict[int, str] = {}
    for item in round_.items:
        assert item.other_submission_id is not None
        a, b = names[item.submission_id][0], names[item.other_submission_id][0]
        prefs = [g.preference for g in by_item.get(item.id, []) if g.preference]
        counts[a] += len(prefs)
        counts[b] += len(prefs)
        if prefs:
            experts[item.id] = prefs
            won = agreement.majority(prefs)
            pairs[a] += 1
            pairs[b] += 1
            points[a] += 1.0 if won == "a" else 0.5 if won == "tie" else 0.0
            points[b] += 1.0 if won == "b" else 0.5 if won == "tie" else 0.0
        ga = verdicts.get(item.submission_id, {}).get(item.sample_id)
        gb = verdicts.get(item.other_submission_id, {}).get(item.sample_id)
        if ga is not None and gb is not None:
            judged[item.id] = agreement.preference(ga, gb)
    entries = [
        EntryGrades(
            entry_id=entry_id,
            entry=name,
            expert_mean=points[entry_id] / pairs[entry_id] if pairs[entry_id] else None,
            by_criterion={},
            grades=counts[entry_id],
            auto_score=auto.get(entry_id),
        )
        for entry_id, name in sorted(set(names.values()))
    ]
    if judge is None:
        return _with(base, entries=entries)
    found = agreement.pairwise_agreement(judged, experts, min_agreement=round_.min_agreement)
    return _with(base, entries=entries, judge=True, pairwise=found, flagged=found.flagged)


def _with(base: RoundResults, **changes: Any) -> RoundResults:
    return replace(base, **changes)


__all__ = [
    "OPENED",
    "EntryGrades",
    "JudgeOf",
    "RoundResults",
    "judge_grades",
    "judge_of",
    "round_experts",
    "round_results",
]
