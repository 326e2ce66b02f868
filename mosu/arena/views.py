"""Arena views (竞技场): what the API routes and the HTML pages both show of arenas, their
leaderboards and a voter's battles, with the actor's permissions applied."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from mosu.arena import board, service
from mosu.arena.board import ArenaBoard
from mosu.arena.models import Arena, Battle
from mosu.arena.schemas import Agreement, ArenaOut, BattleOut, VoterFlags, VoteSelection
from mosu.permissions import Actor, can_manage_arena, can_see_voters, ensure


def arenas(session: Session) -> list[ArenaOut]:
    """Every arena, with its competitors and vote counts."""
    return [service.arena_out(session, a) for a in service.list_arenas(session)]


def battle(found: Battle, *, actor: Actor) -> BattleOut:
    """A battle as its voter sees it: the models' names only once the vote is cast."""
    return service.battle_out(found, viewer_id=actor.user_id)


def voters(session: Session, *, actor: Actor, arena: Arena) -> list[VoterFlags]:
    """Per voter: side shares, speed, and the one-sided and too-fast flags (operators)."""
    ensure(can_see_voters(actor))
    return board.voter_flags(session, arena)


@dataclass(frozen=True)
class ArenaPage:
    """排行榜 of an arena: ratings, judges' agreement, the voters' flags where permitted."""

    arena: ArenaOut
    rated: ArenaBoard
    agreement: list[Agreement]
    voters: list[VoterFlags] | None
    can_manage: bool


def arena_page(
    session: Session, *, actor: Actor, arena_id: int, selection: VoteSelection
) -> ArenaPage:
    arena = service.get_arena(session, arena_id)
    return ArenaPage(
        arena=service.arena_out(session, arena),
        rated=board.arena_board(session, arena, selection=selection),
        agreement=board.agreement(session, arena),
        voters=board.voter_flags(session, arena) if can_see_voters(actor) else None,
        can_manage=can_manage_arena(actor),
    )
