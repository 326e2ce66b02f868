"""A closed generative race stage graded by a judge model, for the expert-grading tests.

The stage asks which department takes a hotline message and scores the free answer by
ROUGE-L and by a judge (:func:`judge`, a local callable): 10 for the reference itself, 5 for
an answer that names it among other words, 1 otherwise. 甲队 answers every sample exactly;
乙队 exactly, wordily or wrongly in turn; both upload predictions files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.accounts.service import create_api_token, create_user
from mosu.challenges.models import CutRule, Stage, Submission, SubmissionMode, SubmissionState
from mosu.permissions import Actor, Role
from mosu.race.scoring import stage_data
from mosu.review import grading
from mosu.review.grading import GradingRoundIn
from mosu.review.models import GradingRound
from tests.conftest import World
from tests.helpers.races import (
    OPERATOR,
    TASK,
    Race,
    answer_key,
    drain,
    racing_challenge,
    stage_spec,
    supplier,
)

JUDGE = "python:tests.helpers.grading:judge"
VERDICT_NOTE = "评审模型理由JUDGE-VERDICT"  # in every verdict: never shown to anyone
GENERATIVE_TASK = {
    "prompt": TASK["prompt"],
    "parser": "identity",
    "scorers": ["rouge_l", {"name": "judge", "model": JUDGE}],
}


def judge(messages: list[dict[str, str]]) -> str:
    """评分：10 for the reference, 5 for an answer containing it, 1 otherwise."""
    text = messages[-1]["content"]
    reference = text.split("参考答案：\n", 1)[1].split("\n", 1)[0].strip()
    answer = text.split("待评回答：\n", 1)[1].split("\n", 1)[0].strip()
    grade = 10 if answer == reference else 5 if reference in answer else 1
    return f"评分：{grade}（{VERDICT_NOTE}）"


def answer(kind: int, label: str) -> str:
    return (label, f"应由{label}受理", "不是部门")[kind % 3]


@dataclass
class GradedStage:
    race: Race
    stage: Stage
    answers: dict[str, str]  # sample id → reference
    test_ids: list[str]


def _predictions(answers: dict[str, str], ids: list[str], *, mixed: bool) -> bytes:
    lines = [
        json.dumps(
            {"id": sid, "prediction": answer(i if mixed else 0, answers[sid])}, ensure_ascii=False
        )
        for i, sid in enumerate(ids)
    ]
    return ("\n".join(lines) + "\n").encode()


def graded_stage(
    db: Session,
    world: World,
    data_dir: Path,
    *,
    task: Mapping[str, object] | None = None,
    close: bool = True,
    kinds: list[str] | None = None,
) -> GradedStage:
    """A racing challenge whose one stage (``task``, default :data:`GENERATIVE_TASK`) has
    both teams' predictions scored (and judged), closed unless ``close`` is false."""
    race = racing_challenge(db, world)
    spec = stage_spec(
        "初赛",
        version_id=race.version.id,
        mode=SubmissionMode.predictions,
        rule=CutRule.top_k,
        value=2,
    )
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=races.StageSpec(**{**spec.__dict__, "task": dict(task or GENERATIVE_TASK)}),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    answers = answer_key(db, race.version)
    ids = [s.id for s in stage_data(db, stage).task.samples()]
    for team, who, org, mixed in (
        ("甲队", "supplier_a", world.org_a, False),
        ("乙队", "supplier_b", world.org_b, True),
    ):
        races.submit(
            db,
            actor=supplier(world, who, org),
            stage_id=stage.id,
            data_dir=data_dir,
            entry_id=race.entries[team].id,
            predictions=_predictions(answers, ids, mixed=mixed),
        )
    drain(db, data_dir, kinds)
    states = db.scalars(select(Submission.state).where(Submission.stage_id == stage.id)).all()
    assert set(states) == {SubmissionState.succeeded}, states
    if close:
        races.close_stage(
            db, actor=OPERATOR, stage_id=stage.id, data_dir=data_dir, reason="测试提前结束"
        )
    db.commit()
    return GradedStage(race, stage, answers, ids)


@dataclass
class Expert:
    actor: Actor
    token: str

    @property
    def id(self) -> int:
        assert self.actor.user_id is not None
        return self.actor.user_id


def experts(db: Session, n: int) -> list[Expert]:
    """``n`` more expert users (expert1 …), with API tokens."""
    out = []
    for i in range(1, n + 1):
        name = f"expert{i}"
        user = create_user(db, username=name, password=f"pw-{name}-123", role=Role.expert)
        _, token = create_api_token(db, user_id=user.id, name="tests")
        out.append(Expert(Actor(user_id=user.id, role=Role.expert, username=name), token))
    db.commit()
    return out


def open_round(
    db: Session, stage_id: int, data_dir: Path, expert_ids: list[int], **fields: object
) -> GradingRound:
    """A rubric round (4 samples, seed 1, unless ``fields`` say otherwise), committed."""
    data = GradingRoundIn.model_validate(
        {"mode": "rubric", "sample_size": 4, "seed": 1, "experts": expert_ids} | fields
    )
    round_ = grading.open_round(db, actor=OPERATOR, stage_id=stage_id, data=data, data_dir=data_dir)
    db.commit()
    return round_
