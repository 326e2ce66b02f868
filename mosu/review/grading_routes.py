"""Expert grading API under ``/api/v1`` (专家复核): operators open and close rounds on
closed generative stages; experts read their own blind items and grade them; everyone who
may see a stage reads its closed rounds' results.

An item is shown by its blind code with the question and answer(s): the entries, their
submissions and the judge's grades never reach an expert; a round's items are 404 to anyone
but its experts and operators.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import Field

from mosu.accounts.deps import OperatorActor, PublicActor, require
from mosu.deps import SessionDep, SettingsDep
from mosu.permissions import Actor, Role, roles
from mosu.registry.schemas import Strict
from mosu.review import grading, grading_views
from mosu.review.grading import GradingRoundIn
from mosu.review.grading_views import ExpertRound, QueueRow, StageGrading

router = APIRouter(tags=["review"])
ExpertActor = Annotated[Actor, Depends(require(roles(Role.expert)))]


class RoundOpened(Strict):
    """A round just opened: its id, seed (to repeat the draw), items and experts."""

    id: int
    stage_id: int
    mode: str
    seed: int
    sample_size: int
    items: int
    experts: list[int]


class GradeIn(Strict):
    """Scores per criterion (rubric rounds) or a preference a / b / tie (pairwise)."""

    scores: dict[str, float] | None = None
    preference: str | None = None
    comment: str = Field(default="", max_length=2000)


class GradeOut(Strict):
    item_id: int
    scores: dict[str, float]
    preference: str | None
    comment: str


@router.post("/stages/{stage_id}/grading-rounds", status_code=201)
def post_round(
    session: SessionDep,
    actor: OperatorActor,
    settings: SettingsDep,
    stage_id: int,
    body: GradingRoundIn,
) -> RoundOpened:
    """Open a round on a closed generative stage: the seeded blind sample is drawn now."""
    round_ = grading.open_round(
        session, actor=actor, stage_id=stage_id, data=body, data_dir=settings.data_dir
    )
    session.commit()
    return RoundOpened(
        id=round_.id,
        stage_id=round_.stage_id,
        mode=round_.mode.value,
        seed=round_.seed,
        sample_size=round_.sample_size,
        items=len(round_.items),
        experts=grading.round_experts(session, round_),
    )


@router.get("/stages/{stage_id}/grading")
def get_stage_grading(
    session: SessionDep, actor: PublicActor, settings: SettingsDep, stage_id: int
) -> StageGrading:
    """Closed rounds: each entry's mean expert grade beside its automatic score, and the
    judge's agreement with the experts (flagged below the round's level)."""
    return grading_views.stage_grading(
        session, actor=actor, stage_id=stage_id, data_dir=settings.data_dir
    )


@router.get("/grading-rounds/{round_id}/items")
def get_items(
    session: SessionDep, actor: ExpertActor, settings: SettingsDep, round_id: int
) -> ExpertRound:
    """The expert's own items of a round, blind, with their own grades."""
    return grading_views.expert_round(
        session, actor=actor, round_id=round_id, data_dir=settings.data_dir
    )


@router.put("/grading-items/{item_id}/grade")
def put_grade(session: SessionDep, actor: ExpertActor, item_id: int, body: GradeIn) -> GradeOut:
    """Grade one item (again, until the round closes)."""
    found = grading.grade(
        session,
        actor=actor,
        item_id=item_id,
        scores=body.scores,
        preference=body.preference,
        comment=body.comment,
    )
    session.commit()
    return GradeOut(
        item_id=found.item_id,
        scores=dict(found.scores),
        preference=found.preference,
        comment=found.comment,
    )


@router.post("/grading-rounds/{round_id}/close")
def post_close(
    session: SessionDep, actor: OperatorActor, settings: SettingsDep, round_id: int
) -> StageGrading:
    """Close a round: its results appear on the stage."""
    round_ = grading.close_round(
        session, actor=actor, round_id=round_id, data_dir=settings.data_dir
    )
    session.commit()
    return grading_views.stage_grading(
        session, actor=actor, stage_id=round_.stage_id, data_dir=settings.data_dir
    )


@router.get("/me/grading-queue")
def get_queue(session: SessionDep, actor: ExpertActor) -> list[QueueRow]:
    """The open rounds the expert grades, with their progress."""
    return grading_views.grading_queue(session, actor=actor)
