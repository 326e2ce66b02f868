"""Arena API (竞技场): arenas, competitors, blind battles and votes, judges, ratings.

A battle is only ever shown to the voter it was served to, and its competitors' names
only after that voter's vote.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor
from mosu.arena import board, images, service, views
from mosu.arena.errors import INVALID_FIELDS, NO_ZIP, NOT_MULTIPART
from mosu.arena.models import Arena
from mosu.arena.schemas import (
    Agreement,
    AnswersReport,
    ArenaIn,
    ArenaOut,
    BattleOut,
    CompetitorIn,
    CompetitorOut,
    ImportReport,
    JudgeIn,
    JudgeReport,
    LeaderboardOut,
    RatingRow,
    VoteIn,
    VoterFlags,
    VoteSelection,
)
from mosu.core.settings import Settings
from mosu.deps import SessionDep, SettingsDep
from mosu.evals.netpolicy import AddressPolicy

router = APIRouter(prefix="/arenas", tags=["arena"])


def _arena(session: SessionDep, arena_id: int) -> Arena:
    return service.get_arena(session, arena_id)


ArenaDep = Annotated[Arena, Depends(_arena)]


@router.get("")
def list_arenas(session: SessionDep, actor: PublicActor) -> list[ArenaOut]:
    """Every arena, with its competitors and vote counts."""
    return views.arenas(session)


@router.post("", status_code=201)
def create_arena(session: SessionDep, actor: OperatorActor, data: ArenaIn) -> ArenaOut:
    arena = service.create_arena(session, actor=actor, data=data)
    session.commit()
    return service.arena_out(session, arena)


_ZIP_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["name", "file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "zip"},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "votes_per_minute": {"type": "integer"},
                    "read_chars_per_second": {"type": "number"},
                },
            }
        }
    },
}
_ARENA_FIELDS = ("name", "description", "votes_per_minute", "read_chars_per_second")


async def _zip_upload(request: Request) -> tuple[dict[str, str], bytes]:
    """The arena's fields and the zip of a multipart upload (413 past the body limit)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise NOT_MULTIPART()
    values: dict[str, str] = {}
    content = None
    async with request.form(max_files=1, max_fields=len(_ARENA_FIELDS)) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key == "file":
                    content = await value.read()
            elif key in _ARENA_FIELDS:
                values[key] = value
    if content is None:
        raise NO_ZIP()
    return values, content


@router.post(
    "/upload",
    status_code=201,
    openapi_extra={"requestBody": _ZIP_BODY},
    responses={422: {"description": "nothing stored; every bad row in error.details"}},
)
def create_arena_from_zip(
    session: SessionDep,
    actor: OperatorActor,
    upload: Annotated[tuple[dict[str, str], bytes], Depends(_zip_upload)],
) -> ArenaOut:
    """An arena whose prompts may carry images: a zip with ``manifest.csv`` or
    ``manifest.jsonl`` (``prompt``, ``image`` path in the zip, optional ``key``); every
    image checked, nothing stored unless every row is good."""
    values, content = upload
    rows = images.read_prompt_zip(content)
    try:
        data = ArenaIn.model_validate({**values, "prompts": [r.text for r in rows]})
    except ValidationError as exc:
        problems = [
            {"field": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors()
        ]
        raise INVALID_FIELDS(details=problems) from None
    arena = service.create_arena(session, actor=actor, data=data, rows=rows)
    session.commit()
    return service.arena_out(session, arena)


def _policy(settings: Settings) -> AddressPolicy:
    """Which addresses competitor and judge endpoints may have (the race's rule)."""
    return AddressPolicy(allow_private=settings.allow_private_endpoints)


@router.get("/{arena_id}")
def get_arena(session: SessionDep, actor: PublicActor, arena: ArenaDep) -> ArenaOut:
    return service.arena_out(session, arena)


@router.post("/{arena_id}/competitors", status_code=201)
def add_competitor(
    session: SessionDep,
    actor: OperatorActor,
    arena: ArenaDep,
    data: CompetitorIn,
    settings: SettingsDep,
) -> CompetitorOut:
    competitor = service.add_competitor(
        session, actor=actor, arena=arena, data=data, policy=_policy(settings)
    )
    session.commit()
    out = service.arena_out(session, arena)
    return next(c for c in out.competitors if c.id == competitor.id)


@router.post("/{arena_id}/answers")
def generate_answers(
    request: Request, session: SessionDep, actor: OperatorActor, arena: ArenaDep
) -> AnswersReport:
    """Call each competitor (endpoint or spec) for the prompts it has not answered yet."""
    box = request.app.state.credential_box
    policy = _policy(request.app.state.settings)
    report = service.generate_answers(session, actor=actor, arena=arena, box=box, policy=policy)
    session.commit()
    return report


@router.post("/{arena_id}/battles", status_code=201)
def next_battle(session: SessionDep, actor: SignedInActor, arena: ArenaDep) -> BattleOut:
    """The caller's open battle, or a new one: a prompt and two anonymous answers."""
    battle = service.serve_battle(session, actor=actor, arena=arena)
    session.commit()
    return views.battle(battle, actor=actor)


@router.get("/{arena_id}/battles/{battle_id}")
def get_battle(
    session: SessionDep, actor: SignedInActor, arena: ArenaDep, battle_id: int
) -> BattleOut:
    battle = service.own_battle(session, actor=actor, arena=arena, battle_id=battle_id)
    return views.battle(battle, actor=actor)


@router.post("/{arena_id}/battles/{battle_id}/vote")
def vote(
    session: SessionDep, actor: SignedInActor, arena: ArenaDep, battle_id: int, data: VoteIn
) -> BattleOut:
    """A, B, tie or both bad; the answer reveals which models fought."""
    battle = service.own_battle(session, actor=actor, arena=arena, battle_id=battle_id)
    service.cast_vote(session, actor=actor, arena=arena, battle=battle, winner=data.winner)
    session.commit()
    return views.battle(battle, actor=actor)


@router.post("/{arena_id}/judge")
def run_judge(
    request: Request, session: SessionDep, actor: OperatorActor, arena: ArenaDep, data: JudgeIn
) -> JudgeReport:
    """A judge model votes, both orders, on people's battles it has not judged yet."""
    box = request.app.state.credential_box
    policy = _policy(request.app.state.settings)
    report = service.run_judge(session, actor=actor, arena=arena, data=data, box=box, policy=policy)
    session.commit()
    return report


@router.get("/{arena_id}/leaderboard")
def leaderboard(
    session: SessionDep,
    actor: PublicActor,
    arena: ArenaDep,
    votes: Annotated[VoteSelection, Query()] = "human",
    rounds: Annotated[int, Query(ge=0, le=1000)] = 100,
    exclude_flagged: bool = True,
) -> LeaderboardOut:
    """Bradley-Terry ratings with 95% bootstrap intervals, rank by upper bound, online Elo;
    votes of flagged voters are left out unless ``exclude_flagged=false``."""
    rated = board.arena_board(
        session, arena, selection=votes, rounds=rounds, exclude_flagged=exclude_flagged
    )
    rows = []
    if rated.board is not None:
        rows = [RatingRow(**r.__dict__, elo=rated.elo[r.model]) for r in rated.board.rows()]
    return LeaderboardOut(
        votes=votes,
        battles=len(rated.battles),
        excluded_voters=rated.excluded_voters,
        rows=rows,
        groups=rated.board.n_groups if rated.board is not None else 0,
        penalty=rated.ridge,
    )


@router.get("/{arena_id}/agreement")
def agreement(
    session: SessionDep, actor: PublicActor, arena: ArenaDep, exclude_flagged: bool = True
) -> list[Agreement]:
    """How often each judge model voted as people did on the same battles."""
    return board.agreement(session, arena, exclude_flagged=exclude_flagged)


@router.get("/{arena_id}/voters")
def voters(session: SessionDep, actor: OperatorActor, arena: ArenaDep) -> list[VoterFlags]:
    """Per voter: side shares, speed, and the one-sided and too-fast flags."""
    return views.voters(session, actor=actor, arena=arena)


@router.post("/{arena_id}/votes", status_code=201)
def import_votes(
    session: SessionDep,
    actor: OperatorActor,
    arena: ArenaDep,
    records: Annotated[list[Any], Body(description="Chatbot Arena records")],
) -> ImportReport:
    """Votes collected elsewhere: ``model_a``, ``model_b``, ``winner``, optional ``tstamp``."""
    report = board.import_votes(session, actor=actor, arena=arena, records=records)
    session.commit()
    return report


@router.get(
    "/{arena_id}/votes.jsonl",
    response_class=Response,
    responses={200: {"description": "JSON lines", "content": {"application/x-ndjson": {}}}},
)
def export_votes(
    session: SessionDep,
    actor: PublicActor,
    arena: ArenaDep,
    votes: Annotated[VoteSelection, Query()] = "all",
) -> Response:
    """The votes as Chatbot Arena JSON lines (voters anonymous)."""
    records = board.export_records(session, arena, selection=votes)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return Response(text, media_type="application/x-ndjson")
