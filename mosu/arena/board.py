"""An arena's votes as numbers: leaderboards, voter flags, judge agreement, import, export.

Votes leave the database as :class:`~mosu.arena.votes.Battles` (in the order they were
cast) and are rated by the same pure core as ``mosu arena rank``.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from mosu.accounts.models import User
from mosu.arena.elo import online_elo
from mosu.arena.errors import IMPORT_REFUSED
from mosu.arena.images import image_path
from mosu.arena.matchmaking import pair_battle_matrix
from mosu.arena.models import Arena, ArenaPrompt, Battle, Competitor, Vote
from mosu.arena.pairs import PairCounts
from mosu.arena.ratings import Leaderboard, rate
from mosu.arena.schemas import Agreement, ImportReport, VoterFlags, VoteSelection
from mosu.arena.votes import WINNERS, ArenaError, Battles, VoteFormatError, VoteProblem
from mosu.core import clock
from mosu.permissions import Actor, can_manage_arena, ensure

EXTERNAL_NOTE = "imported votes"
"""The note of a competitor known only from votes imported from elsewhere."""

SMALL_ARENA_RIDGE = 0.01
"""The penalty used when the votes, or some bootstrap resample of them, leave a rating
infinite (a model that never lost, common in a young arena); the leaderboard says so."""

ONE_SIDED_MIN_VOTES = 10
ONE_SIDED_SHARE = 0.9
"""A voter is flagged one-sided after at least 10 votes of which 90% or more chose the same
side (A, or B) whatever the answers."""

FAST_MIN_VOTES = 3
FAST_SHARE = 0.5
"""A voter is flagged too fast when at least 3 votes, and half of all their votes, came
sooner than the prompt and both answers can be read at the arena's reading speed."""

SOURCES: dict[str, tuple[str, ...]] = {
    "human": ("human", "imported"),
    "judge": ("judge",),
    "all": ("human", "imported", "judge"),
}


def numpy_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


@dataclass(frozen=True)
class CastVote:
    """One vote with its battle's competitor names, as the queries below return it."""

    vote: Vote
    battle: Battle
    model_a: str
    model_b: str


def _votes(session: Session, arena: Arena, sources: Iterable[str]) -> list[CastVote]:
    a, b = aliased(Competitor), aliased(Competitor)
    rows = session.execute(
        select(Vote, Battle, a.name, b.name)
        .join(Battle, Vote.battle_id == Battle.id)
        .join(a, Battle.competitor_a_id == a.id)
        .join(b, Battle.competitor_b_id == b.id)
        .where(Battle.arena_id == arena.id, Vote.source.in_(tuple(sources)))
        .order_by(Vote.created_at, Vote.id)
    ).all()
    return [CastVote(v, bt, na, nb) for v, bt, na, nb in rows]


def _battles(cast: list[CastVote], models: tuple[str, ...] | None = None) -> Battles:
    names = models or tuple(sorted({c.model_a for c in cast} | {c.model_b for c in cast}))
    index = {n: k for k, n in enumerate(names)}
    code = {w: k for k, w in enumerate(WINNERS)}
    kept = [c for c in cast if c.model_a in index and c.model_b in index]
    return Battles(
        models=names,
        model_a=np.array([index[c.model_a] for c in kept], dtype=np.int32),
        model_b=np.array([index[c.model_b] for c in kept], dtype=np.int32),
        outcome=np.array([code[c.vote.winner] for c in kept], dtype=np.int8),
    )


def reading_seconds(battle: Battle, arena: Arena) -> float:
    """How long reading the prompt and both answers takes at the arena's reading speed."""
    texts = (
        battle.prompt.text if battle.prompt else "",
        battle.answer_a.text if battle.answer_a else "",
        battle.answer_b.text if battle.answer_b else "",
    )
    return sum(len(t or "") for t in texts) / arena.read_chars_per_second


# ---------------------------------------------------------------- leaderboards


@dataclass
class ArenaBoard:
    """A rated arena: the Bradley-Terry leaderboard (``None`` before any vote), online Elo
    beside it, the battles it came from and the win-rate matrix's inputs."""

    selection: VoteSelection
    battles: Battles
    board: Leaderboard | None
    pairs: PairCounts | None
    elo: dict[str, float] = field(default_factory=dict)
    ridge: float = 0.0
    excluded_voters: int = 0


def voter_key(vote: Vote) -> str | None:
    """Who cast a person's vote: ``u<user id>``, ``g<anonymous session id>``, else ``None``."""
    if vote.voter_id is not None:
        return f"u{vote.voter_id}"
    if vote.guest_id is not None:
        return f"g{vote.guest_id}"
    return None


def flagged_voters(session: Session, arena: Arena) -> set[str]:
    """The :func:`voter_key` of every voter flagged one-sided or too fast."""
    return {
        f"u{f.voter_id}" if f.voter_id is not None else f"g{f.guest_id}"
        for f in voter_flags(session, arena)
        if f.one_sided or f.too_fast
    }


def arena_board(
    session: Session,
    arena: Arena,
    *,
    selection: VoteSelection = "human",
    exclude_flagged: bool = True,
    rounds: int = 100,
    seed: int = 0,
) -> ArenaBoard:
    """Ratings with 95% bootstrap intervals; votes of flagged voters are left out."""
    cast = _votes(session, arena, SOURCES[selection])
    flagged = flagged_voters(session, arena) if exclude_flagged else set()
    cast = [c for c in cast if voter_key(c.vote) not in flagged]
    battles = _battles(cast)
    if len(battles) == 0:
        return ArenaBoard(selection, battles, None, None, excluded_voters=len(flagged))
    pairs = PairCounts.from_battles(battles)
    ridge = 0.0
    try:
        board = rate(pairs, rounds=rounds, seed=seed)
    except ArenaError:  # infinite ratings in the votes or in some bootstrap resample
        ridge = SMALL_ARENA_RIDGE
        board = rate(pairs, rounds=rounds, seed=seed, ridge=ridge)
    elo = dict(zip(battles.models, online_elo(battles).tolist(), strict=True))
    return ArenaBoard(selection, battles, board, pairs, elo, ridge, len(flagged))


def matchmaking_state(
    session: Session, arena: Arena, names: tuple[str, ...]
) -> tuple[Leaderboard, NDArray[np.float64]] | None:
    """The ratings and pair battle counts the matchmaker weighs, over ``names`` (people's
    votes only); ``None`` before the first vote."""
    battles = _battles(_votes(session, arena, SOURCES["human"]), names)
    if len(battles) == 0:
        return None
    pairs = PairCounts.from_battles(battles)
    board = rate(pairs, interval="sandwich", ridge=SMALL_ARENA_RIDGE)
    return board, pair_battle_matrix(pairs)


# ---------------------------------------------------------------- voters and judges


def voter_flags(session: Session, arena: Arena) -> list[VoterFlags]:
    """Each person's votes in this arena: side shares, speed, and the two flags."""
    cast = _votes(session, arena, ("human",))
    by_voter: dict[tuple[int, int], list[CastVote]] = defaultdict(list)
    for c in cast:
        if c.vote.voter_id is not None:
            by_voter[(0, c.vote.voter_id)].append(c)
        elif c.vote.guest_id is not None:
            by_voter[(1, c.vote.guest_id)].append(c)
    users = [i for kind, i in by_voter if kind == 0]
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(users))).all())
    flags = []
    for (kind, voter_id), votes in sorted(by_voter.items()):
        n = len(votes)
        sides = Counter(c.vote.winner for c in votes)
        seconds = [c.vote.seconds for c in votes if c.vote.seconds is not None]
        fast = sum(
            1
            for c in votes
            if c.vote.seconds is not None and c.vote.seconds < reading_seconds(c.battle, arena)
        )
        share_a, share_b = sides["model_a"] / n, sides["model_b"] / n
        flags.append(
            VoterFlags(
                voter_id=voter_id if kind == 0 else None,
                guest_id=voter_id if kind == 1 else None,
                username=names.get(voter_id, "") if kind == 0 else "",
                votes=n,
                share_a=share_a,
                share_b=share_b,
                median_seconds=statistics.median(seconds) if seconds else None,
                fast_votes=fast,
                one_sided=n >= ONE_SIDED_MIN_VOTES and max(share_a, share_b) >= ONE_SIDED_SHARE,
                too_fast=fast >= FAST_MIN_VOTES and fast >= FAST_SHARE * n,
            )
        )
    return flags


def _plain(winner: str) -> str:
    return "tie" if winner.startswith("tie") else winner


def agreement(session: Session, arena: Arena, *, exclude_flagged: bool = True) -> list[Agreement]:
    """Per judge, how often it voted as the person did on the same battle (votes of
    flagged voters left out, as on the leaderboard, unless ``exclude_flagged`` is off)."""
    flagged = flagged_voters(session, arena) if exclude_flagged else set()
    human: dict[int, str] = {}
    for c in _votes(session, arena, ("human",)):
        if voter_key(c.vote) not in flagged:
            human.setdefault(c.battle.id, _plain(c.vote.winner))
    by_judge: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for c in _votes(session, arena, ("judge",)):
        if c.battle.id in human and c.vote.judge:
            by_judge[c.vote.judge].append((human[c.battle.id], _plain(c.vote.winner)))
    out = []
    for judge, pairs in sorted(by_judge.items()):
        agree = sum(h == j for h, j in pairs)
        decisive = [(h, j) for h, j in pairs if h != "tie"]
        decisive_agree = sum(h == j for h, j in decisive)
        out.append(
            Agreement(
                judge=judge,
                battles=len(pairs),
                agree=agree,
                rate=agree / len(pairs) if pairs else None,
                decisive_battles=len(decisive),
                decisive_agree=decisive_agree,
                decisive_rate=decisive_agree / len(decisive) if decisive else None,
            )
        )
    return out


# ---------------------------------------------------------------- import and export


def _timestamp(record: object) -> tuple[dt.datetime | None, str | None]:
    if not isinstance(record, dict) or record.get("tstamp") is None:
        return None, None
    value = record["tstamp"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"tstamp must be a number of seconds since 1970, got {value!r}"
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC), None
    except (OverflowError, OSError, ValueError):
        return None, f"tstamp {value!r} is out of range"


def import_votes(
    session: Session, *, actor: Actor, arena: Arena, records: list[Any], source: str = "votes"
) -> ImportReport:
    """Votes collected elsewhere, in Chatbot Arena's records (``model_a``, ``model_b``,
    ``winner``, optional ``tstamp``); all or nothing, every bad record reported."""
    ensure(can_manage_arena(actor), IMPORT_REFUSED)
    problems: list[VoteProblem] = []
    try:
        Battles.from_records(records, source=source)
    except VoteFormatError as exc:
        problems.extend(exc.problems)
    stamps = []
    for k, record in enumerate(records, 1):
        stamp, reason = _timestamp(record)
        if reason:
            problems.append(VoteProblem(f"record {k}", reason))
        stamps.append(stamp)
    if problems:
        problems.sort(key=lambda p: int(p.location.split()[-1]))
        raise VoteFormatError(source, problems)
    by_name = {c.name: c for c in arena.competitors}
    new: list[str] = []
    for name in dict.fromkeys(n for r in records for n in (r["model_a"], r["model_b"])):
        if name not in by_name:
            by_name[name] = Competitor(name=name, note=EXTERNAL_NOTE)
            arena.competitors.append(by_name[name])
            new.append(name)
    session.flush()
    for record, stamp in zip(records, stamps, strict=True):
        when = stamp or clock.now()
        battle = Battle(
            arena_id=arena.id,
            competitor_a_id=by_name[record["model_a"]].id,
            competitor_b_id=by_name[record["model_b"]].id,
            created_at=when,
        )
        battle.votes.append(
            Vote(source="imported", winner=record["winner"], created_at=when, voter_id=None)
        )
        session.add(battle)
    session.flush()
    return ImportReport(imported=len(records), new_competitors=new)


def export_records(
    session: Session, arena: Arena, *, selection: VoteSelection = "all"
) -> list[dict[str, Any]]:
    """The arena's votes as Chatbot Arena records, in voting order; people are named only
    by an anonymous ``arena_user_N``, anonymous sessions by ``arena_guest_N``; ``anonymous``
    says whether a person's vote came from an anonymous session. A battle whose prompt
    carries an image keeps its reference: ``image_sha256`` and ``image_url`` (the path the
    image is served at)."""
    voters: dict[int, str] = {}
    guests: dict[int, str] = {}
    out = []
    for c in _votes(session, arena, SOURCES[selection]):
        v = c.vote
        if v.source == "judge":
            judge = f"judge:{v.judge}"
        elif v.voter_id is not None:
            judge = voters.setdefault(v.voter_id, f"arena_user_{len(voters) + 1}")
        elif v.guest_id is not None:
            judge = guests.setdefault(v.guest_id, f"arena_guest_{len(guests) + 1}")
        else:
            judge = v.source
        prompt = c.battle.prompt
        out.append(
            {
                "question_id": prompt.key if prompt else "",
                "model_a": c.model_a,
                "model_b": c.model_b,
                "winner": v.winner,
                "judge": judge,
                "anonymous": v.guest_id is not None,
                "turn": 1,
                "anony": True,
                "tstamp": round(v.created_at.timestamp(), 3),
                **_image_fields(arena, prompt),
            }
        )
    return out


def _image_fields(arena: Arena, prompt: ArenaPrompt | None) -> dict[str, str]:
    """The image reference of a battle whose prompt carries one: its hash and URL path."""
    if prompt is None or prompt.image_sha256 is None:
        return {}
    return {
        "image_sha256": prompt.image_sha256,
        "image_url": image_path(arena.id, prompt.image_sha256),
    }
