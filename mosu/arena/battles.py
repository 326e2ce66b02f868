"""Blind battles and people's votes (对战与投票): serving a voter their next battle, the
vote once per battle within the arena's votes per minute, and what the voter then sees.

A voter is a signed-in user or an anonymous session (:mod:`mosu.arena.guests`); both
vote under the same limits, and a guest's votes carry its ``guest_id``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.arena import board
from mosu.arena.errors import (
    ALREADY_VOTED,
    NO_COMMON_PROMPT,
    NO_SUCH_BATTLE,
    NOT_YOUR_BATTLE,
    SIGN_IN_TO_VOTE,
    TOO_FEW_ANSWERED,
    VOTING_TOO_FAST,
)
from mosu.arena.images import image_path
from mosu.arena.matchmaking import choose_next_battle
from mosu.arena.models import Answer, Arena, ArenaPrompt, Battle, Competitor, Vote
from mosu.arena.schemas import BattleOut, PromptImage
from mosu.core import clock
from mosu.permissions import Actor, can_vote_in_arena, ensure

MAX_DRAWS = 20
"""Pairs drawn from the matchmaker before falling back to any pair that shares a prompt."""
WINDOW = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Voter:
    """Who votes: a signed-in user (``user_id``) or an anonymous session (``guest_id``)."""

    user_id: int | None = None
    guest_id: int | None = None

    @classmethod
    def of(cls, actor: Actor, guest_id: int | None = None) -> Voter:
        """The actor if signed in, else the anonymous session ``guest_id`` (if any)."""
        if actor.user_id is not None:
            return cls(user_id=actor.user_id)
        return cls(guest_id=guest_id)

    @property
    def known(self) -> bool:
        return self.user_id is not None or self.guest_id is not None

    def battles(self) -> ColumnElement[bool]:
        """Battles served to this voter."""
        if self.user_id is not None:
            return Battle.voter_id == self.user_id
        return Battle.guest_id == self.guest_id

    def votes(self) -> ColumnElement[bool]:
        """Votes cast by this voter."""
        if self.user_id is not None:
            return Vote.voter_id == self.user_id
        return Vote.guest_id == self.guest_id

    def cast(self, vote: Vote) -> bool:
        if self.user_id is not None:
            return vote.voter_id == self.user_id
        return self.guest_id is not None and vote.guest_id == self.guest_id

    def served(self, battle: Battle) -> bool:
        if self.user_id is not None:
            return battle.voter_id == self.user_id
        return self.guest_id is not None and battle.guest_id == self.guest_id


def answer_table(session: Session, arena: Arena) -> dict[int, dict[int, Answer]]:
    """``{competitor_id: {prompt_id: answer}}`` for the answers that have text."""
    table: dict[int, dict[int, Answer]] = {}
    rows = session.scalars(
        select(Answer)
        .join(ArenaPrompt)
        .where(ArenaPrompt.arena_id == arena.id, Answer.text.is_not(None))
    )
    for a in rows:
        table.setdefault(a.competitor_id, {})[a.prompt_id] = a
    return table


def open_battle(session: Session, arena: Arena, voter: Voter | int) -> Battle | None:
    """The voter's battle in this arena still waiting for their vote, if any."""
    who = voter if isinstance(voter, Voter) else Voter(user_id=voter)
    voted = select(Vote.battle_id).where(who.votes())
    return session.scalar(
        select(Battle)
        .where(Battle.arena_id == arena.id, who.battles(), Battle.id.not_in(voted))
        .order_by(Battle.id)
        .limit(1)
    )


def _pick_pair(
    session: Session,
    arena: Arena,
    table: dict[int, dict[int, Answer]],
    competitors: dict[str, Competitor],
    rng: random.Random,
) -> tuple[Competitor, Competitor, list[int]]:
    candidates = board.matchmaking_state(session, arena, tuple(sorted(competitors)))
    np_rng = board.numpy_rng(rng)
    for _ in range(MAX_DRAWS):
        if candidates is None:
            a_name, b_name = rng.sample(sorted(competitors), 2)
        else:
            a_name, b_name = choose_next_battle(candidates[0], candidates[1], np_rng)
        a, b = competitors[a_name], competitors[b_name]
        shared = sorted(set(table[a.id]) & set(table[b.id]))
        if shared:
            return a, b, shared
    pairs = [(x, y) for x in competitors.values() for y in competitors.values() if x.id < y.id]
    rng.shuffle(pairs)
    for x, y in pairs:
        shared = sorted(set(table[x.id]) & set(table[y.id]))
        if shared:
            return (x, y, shared) if rng.random() < 0.5 else (y, x, shared)
    raise NO_COMMON_PROMPT()


def new_battle(
    session: Session,
    arena: Arena,
    rng: random.Random,
    *,
    voter_id: int | None = None,
    guest_id: int | None = None,
) -> Battle:
    """A new battle for a voter (or, with neither id, for a judge model alone)."""
    table = answer_table(session, arena)
    competitors = {c.name: c for c in arena.competitors if len(table.get(c.id, {})) > 0}
    if len(competitors) < 2:
        raise TOO_FEW_ANSWERED()
    seen: set[int] = set()
    if voter_id is not None or guest_id is not None:
        who = Voter(user_id=voter_id, guest_id=guest_id)
        seen = {
            p
            for p in session.scalars(
                select(Battle.prompt_id).where(Battle.arena_id == arena.id, who.battles())
            )
            if p is not None
        }
    a, b, shared = _pick_pair(session, arena, table, competitors, rng)
    fresh = [p for p in shared if p not in seen] or shared
    prompt_id = rng.choice(fresh)
    battle = Battle(
        arena_id=arena.id,
        prompt_id=prompt_id,
        competitor_a_id=a.id,
        competitor_b_id=b.id,
        answer_a_id=table[a.id][prompt_id].id,
        answer_b_id=table[b.id][prompt_id].id,
        voter_id=voter_id,
        guest_id=guest_id,
    )
    session.add(battle)
    session.flush()
    return battle


def serve_battle(
    session: Session,
    *,
    actor: Actor,
    arena: Arena,
    rng: random.Random | None = None,
    guest_id: int | None = None,
) -> Battle:
    """The voter's next battle: the one still open, else a new informative one (a pair
    chosen by :func:`~mosu.arena.matchmaking.choose_next_battle`, sides at random, a prompt
    both answered, preferring prompts this voter has not seen). The public votes through an
    anonymous session (``guest_id``)."""
    voter = Voter.of(actor, guest_id)
    ensure(can_vote_in_arena(actor, anonymous_session=voter.guest_id is not None), SIGN_IN_TO_VOTE)
    waiting = open_battle(session, arena, voter)
    if waiting is not None:
        return waiting
    return new_battle(
        session,
        arena,
        rng or random.Random(),
        voter_id=voter.user_id,
        guest_id=voter.guest_id,
    )


def own_battle(
    session: Session, *, actor: Actor, arena: Arena, battle_id: int, guest_id: int | None = None
) -> Battle:
    """A battle served to ``actor`` (or their anonymous session); any other does not exist."""
    voter = Voter.of(actor, guest_id)
    battle = session.get(Battle, battle_id)
    if battle is None or battle.arena_id != arena.id or not voter.known:
        raise NO_SUCH_BATTLE(battle_id=battle_id)
    if not voter.served(battle):
        raise NO_SUCH_BATTLE(battle_id=battle_id)
    return battle


def battle_out(battle: Battle, *, viewer_id: int | None, guest_id: int | None = None) -> BattleOut:
    """What the voter sees: the prompt (and its image) and two answers; names and verdict
    once voted."""
    viewer = Voter(user_id=viewer_id) if viewer_id is not None else Voter(guest_id=guest_id)
    vote = next((v for v in battle.votes if v.source == "human" and viewer.cast(v)), None)
    prompt = battle.prompt.text if battle.prompt else ""
    image = battle.prompt.image if battle.prompt else None
    out = BattleOut(
        id=battle.id,
        arena_id=battle.arena_id,
        prompt=prompt,
        answer_a=(battle.answer_a.text or "") if battle.answer_a else "",
        answer_b=(battle.answer_b.text or "") if battle.answer_b else "",
        voted=vote is not None,
        image=None
        if image is None
        else PromptImage(
            sha256=image.sha256,
            url=image_path(battle.arena_id, image.sha256),
            width=image.width,
            height=image.height,
        ),
    )
    if vote is not None:
        out.winner = vote.winner  # type: ignore[assignment]
        out.model_a = battle.competitor_a.name
        out.model_b = battle.competitor_b.name
        out.model_a_id = battle.competitor_a.model_id
        out.model_b_id = battle.competitor_b.model_id
    return out


def seconds_to_wait(
    session: Session, arena: Arena, voter: Voter, *, now: dt.datetime | None = None
) -> int:
    """Whole seconds until ``voter`` may vote again in ``arena`` (0 when they may now)."""
    now = now or clock.now()
    recent = list(
        session.scalars(
            select(Vote.created_at)
            .join(Battle, Vote.battle_id == Battle.id)
            .where(
                Battle.arena_id == arena.id,
                voter.votes(),
                Vote.source == "human",
                Vote.created_at > now - WINDOW,
            )
            .order_by(Vote.created_at.desc())
        )
    )
    if len(recent) < arena.votes_per_minute:
        return 0
    oldest_counted = recent[arena.votes_per_minute - 1]
    return max(1, math.ceil((oldest_counted + WINDOW - now).total_seconds()))


def vote_counts(session: Session, arena: Arena, voter: Voter) -> tuple[int, int]:
    """(people's votes in ``arena``, this voter's votes in it)."""
    human = (
        select(func.count())
        .select_from(Vote)
        .join(Battle, Vote.battle_id == Battle.id)
        .where(Battle.arena_id == arena.id, Vote.source == "human")
    )
    total = session.scalar(human) or 0
    mine = session.scalar(human.where(voter.votes())) if voter.known else 0
    return total, mine or 0


def cast_vote(
    session: Session,
    *,
    actor: Actor,
    arena: Arena,
    battle: Battle,
    winner: str,
    now: dt.datetime | None = None,
    guest_id: int | None = None,
) -> Vote:
    """Record the voter's verdict: once per battle (a unique constraint backs the check),
    within the arena's votes per minute; the seconds since the battle was served are kept."""
    voter = Voter.of(actor, guest_id)
    ensure(
        can_vote_in_arena(actor, anonymous_session=voter.guest_id is not None)
        and voter.served(battle),
        NOT_YOUR_BATTLE,
    )
    now = now or clock.now()
    if any(voter.cast(v) for v in battle.votes):
        raise ALREADY_VOTED()
    wait = seconds_to_wait(session, arena, voter, now=now)
    if wait:
        raise VOTING_TOO_FAST(
            votes_per_minute=arena.votes_per_minute,
            retry_after=wait,
            details={"votes_per_minute": arena.votes_per_minute},
        )
    vote = Vote(
        battle_id=battle.id,
        voter_id=voter.user_id,
        guest_id=voter.guest_id,
        source="human",
        winner=winner,
        seconds=max(0.0, (now - battle.created_at).total_seconds()),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(vote)
    except IntegrityError:
        raise ALREADY_VOTED() from None
    session.refresh(battle)
    return vote
