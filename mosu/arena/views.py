"""Arena views (竞技场): what the API routes and the HTML pages both show of arenas, their
leaderboards and a voter's battles, with the actor's permissions applied."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from mosu.arena import battles, board, images, service
from mosu.arena.board import ArenaBoard
from mosu.arena.models import Arena, ArenaImage, Battle
from mosu.arena.schemas import Agreement, ArenaOut, BattleOut, VoterFlags, VoteSelection
from mosu.permissions import Actor, can_manage_arena, can_see_voters, ensure


def arenas(session: Session) -> list[ArenaOut]:
    """Every arena, with its competitors and vote counts."""
    return [service.arena_out(session, a) for a in service.list_arenas(session)]


def battle(found: Battle, *, actor: Actor, guest_id: int | None = None) -> BattleOut:
    """A battle as its voter sees it: the models' names only once the vote is cast."""
    return battles.battle_out(found, viewer_id=actor.user_id, guest_id=guest_id)


@dataclass(frozen=True)
class VoteCounter:
    """投票计数: people's votes in the arena, and the viewer's own."""

    total: int
    mine: int


def vote_counter(
    session: Session, *, actor: Actor, arena: Arena, guest_id: int | None = None
) -> VoteCounter:
    total, mine = battles.vote_counts(session, arena, battles.Voter.of(actor, guest_id))
    return VoteCounter(total=total, mine=mine)


def seconds_to_wait(
    session: Session, *, actor: Actor, arena: Arena, guest_id: int | None = None
) -> int:
    """Seconds until the viewer may vote again in ``arena`` (0: now)."""
    return battles.seconds_to_wait(session, arena, battles.Voter.of(actor, guest_id))


def model_links(arena: ArenaOut) -> dict[str, int]:
    """Competitor name → the registry model it is, for those that name one."""
    return {c.name: c.model_id for c in arena.competitors if c.model_id is not None}


def arena_image(session: Session, *, actor: Actor, arena_id: int, sha256: str) -> ArenaImage:
    """An image a prompt of the arena carries, for the voting page. Arenas, their battles
    and prompts are open to every viewer (the public votes anonymously), so the arena's
    existing and the image's belonging to one of its prompts is the whole check: no other
    stored image is served through it."""
    return images.arena_image(session, service.get_arena(session, arena_id), sha256)


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
