"""What is known about a model, gathered for its page (as a model hub's page gathers it): the
races it ran (stage by stage: rank and score), its arena ratings, the offers it is sold under
and the models derived from it.

Which application raced a model is the applicant's and the issuer's business: the model's own
organisation and the operator see every race of it; everyone else sees the races it won,
whose results the challenge's page announces anyway."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.arena.board import arena_board
from mosu.arena.models import Arena, Competitor
from mosu.challenges.models import (
    Application,
    ApplicationModel,
    Challenge,
    ChallengeState,
    Entry,
    EntryState,
    Stage,
    StageState,
)
from mosu.permissions import Actor, can_see_every_race_of_model
from mosu.race.board import stage_board
from mosu.race.entries import shown_state
from mosu.registry.models import Model, Organisation
from mosu.supply.models import ModelService, ServiceMode


@dataclass(frozen=True)
class StageResult:
    """An entry's place on one stage's board: the final one once the stage closed."""

    stage_id: int
    position: int
    name: str
    final: bool
    rank: int | None
    score: float | None
    ranked: int
    """How many entries the board ranks."""


@dataclass(frozen=True)
class RaceRecord:
    challenge_id: int
    challenge_title: str
    challenge_state: ChallengeState
    entry: str
    shown_state: str
    """The entry's state as the race stands, a catalogued Chinese phrase (揭榜成功, 已淘汰 …)."""
    stages: list[StageResult]


@dataclass(frozen=True)
class ArenaStanding:
    arena_id: int
    arena_name: str
    competitor: str
    rank: int
    rating: float
    lower: float | None
    upper: float | None
    battles: int
    rated: int
    """How many models the arena rates."""
    insufficient_data: bool


@dataclass(frozen=True)
class Offer:
    id: int
    mode: ServiceMode
    price_fen: int
    price_unit: str
    input_price_fen: int | None
    output_price_fen: int | None


@dataclass(frozen=True)
class Derived:
    id: int
    name: str
    organisation_id: int
    organisation_zh: str
    organisation_en: str


@dataclass(frozen=True)
class ModelProfile:
    races: list[RaceRecord]
    every_race: bool
    """False: only the races the model won are listed (the reader is not its organisation's)."""
    arenas: list[ArenaStanding]
    offers: list[Offer]
    derived: list[Derived]


def _stage_result(stage: Stage, entry_id: int) -> StageResult:
    final = stage.state is StageState.closed and stage.leaderboard_final is not None
    board = stage_board(stage, "private" if final else "public")
    rows = [] if board is None else board.rows
    mine = next((r for r in rows if r.entry_id == entry_id), None)
    return StageResult(
        stage_id=stage.id,
        position=stage.position,
        name=stage.name,
        final=final,
        rank=None if mine is None else mine.rank,
        score=None if mine is None else mine.score,
        ranked=len(rows),
    )


def races_of(session: Session, model_id: int, *, every: bool) -> list[RaceRecord]:
    """The races the model ran as (part of) an application, newest challenge first; with
    ``every`` False only those it won."""
    stmt = (
        select(Entry, Challenge)
        .join(Application, Entry.application_id == Application.id)
        .join(ApplicationModel, ApplicationModel.application_id == Application.id)
        .join(Challenge, Entry.challenge_id == Challenge.id)
        .where(ApplicationModel.model_id == model_id)
        .where(Challenge.state != ChallengeState.draft)
        .order_by(Challenge.id.desc())
    )
    if not every:
        stmt = stmt.where(Entry.state == EntryState.winner)
    found = session.execute(stmt).all()
    ids = [challenge.id for _, challenge in found]
    stages: dict[int, list[Stage]] = {}
    for stage in session.scalars(
        select(Stage).where(Stage.challenge_id.in_(ids)).order_by(Stage.position)
    ):
        stages.setdefault(stage.challenge_id, []).append(stage)
    return [
        RaceRecord(
            challenge_id=challenge.id,
            challenge_title=challenge.title,
            challenge_state=challenge.state,
            entry=entry.name,
            shown_state=shown_state(entry, challenge.state),
            stages=[
                _stage_result(s, entry.id)
                for s in stages.get(challenge.id, [])
                if s.state is not StageState.scheduled
            ],
        )
        for entry, challenge in found
    ]


def arenas_of(session: Session, model_id: int) -> list[ArenaStanding]:
    """The model's rating in every arena where a competitor names it (human votes, flagged
    voters left out: the arena's own board)."""
    standings = []
    found = session.execute(
        select(Competitor.name, Arena)
        .join(Arena, Competitor.arena_id == Arena.id)
        .where(Competitor.model_id == model_id)
        .order_by(Arena.id)
    ).all()
    for name, arena in found:
        board = arena_board(session, arena).board
        rows = [] if board is None else board.rows()
        mine = next((r for r in rows if r.model == name), None)
        if mine is None:
            continue  # no vote on it yet
        standings.append(
            ArenaStanding(
                arena_id=arena.id,
                arena_name=arena.name,
                competitor=name,
                rank=mine.rank,
                rating=mine.rating,
                lower=mine.lower,
                upper=mine.upper,
                battles=mine.battles,
                rated=len(rows),
                insufficient_data=mine.insufficient_data,
            )
        )
    return standings


def offers_of(session: Session, model_id: int) -> list[Offer]:
    """The model's active service offers (模型服务): API prices and private deployments."""
    stmt = (
        select(ModelService)
        .where(ModelService.model_id == model_id, ModelService.active.is_(True))
        .order_by(ModelService.id)
    )
    return [
        Offer(
            id=s.id,
            mode=s.mode,
            price_fen=s.price_fen,
            price_unit=s.price_unit,
            input_price_fen=s.input_price_fen,
            output_price_fen=s.output_price_fen,
        )
        for s in session.scalars(stmt)
    ]


def derived_from(session: Session, model_id: int) -> list[Derived]:
    """Models registered with this one as their base model."""
    stmt = (
        select(Model.id, Model.name, Organisation.id, Organisation.name_zh, Organisation.name_en)
        .join(Model.organisation)
        .where(Model.base_model_id == model_id)
        .order_by(Model.name)
    )
    return [Derived(*row) for row in session.execute(stmt)]


def model_profile(
    session: Session, *, actor: Actor, model_id: int, organisation_id: int
) -> ModelProfile:
    """What is known of the model (``organisation_id``: its organisation's), as ``actor``
    may see it."""
    every = can_see_every_race_of_model(actor, organisation_id)
    return ModelProfile(
        races=races_of(session, model_id, every=every),
        every_race=every,
        arenas=arenas_of(session, model_id),
        offers=offers_of(session, model_id),
        derived=derived_from(session, model_id),
    )


__all__ = [
    "ArenaStanding",
    "Derived",
    "ModelProfile",
    "Offer",
    "RaceRecord",
    "StageResult",
    "model_profile",
]
