"""A decided challenge's results (揭榜结果), as Kaggle and 天池 show them: the winners, the
decision's reason, and the final stage's final leaderboard."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import Challenge, ChallengeEvent, Entry, EntryState
from mosu.permissions import Actor
from mosu.race.board import BoardView, stage_board, view_board
from mosu.race.stages import FINISHED_CHALLENGE

DECISION_ACTIONS = ("decide", "combined_departed")
"""The audit lines that carry the decision's reason (the race's decide, or a combined
choice departing from the rule's order)."""


@dataclass(frozen=True)
class Winner:
    entry_id: int
    name: str
    position: int | None
    """Its place on the final leaderboard (None when it was not ranked there)."""
    score: float | None


@dataclass(frozen=True)
class Outcome:
    winners: list[Winner]
    reason: str
    stage: str
    board: BoardView | None


def outcome(session: Session, actor: Actor, challenge: Challenge) -> Outcome | None:
    """The results of a decided challenge (``None`` before the decision): public, since the
    winners are announced; the final board as ``actor`` may see it."""
    if challenge.state not in FINISHED_CHALLENGE:
        return None
    winners = list(
        session.scalars(
            select(Entry)
            .where(Entry.challenge_id == challenge.id, Entry.state == EntryState.winner)
            .order_by(Entry.id)
        )
    )
    reasons = session.scalars(
        select(ChallengeEvent.reason)
        .where(
            ChallengeEvent.challenge_id == challenge.id,
            ChallengeEvent.action.in_(DECISION_ACTIONS),
            ChallengeEvent.reason != "",
        )
        .order_by(ChallengeEvent.id.desc())
        .limit(1)
    ).first()
    final = challenge.stages[-1] if challenge.stages else None
    board = stage_board(final, "private") if final is not None else None
    rows = {r.entry_id: r for r in board.rows} if board else {}
    return Outcome(
        winners=[
            Winner(
                entry_id=e.id,
                name=e.name,
                position=rows[e.id].position if e.id in rows else None,
                score=rows[e.id].score if e.id in rows else None,
            )
            for e in winners
        ],
        reason=reasons or "",
        stage=final.name if final is not None else "",
        board=view_board(session, actor, challenge, board),
    )


def challenge_outcome(session: Session, actor: Actor, challenge_id: int) -> Outcome | None:
    """:func:`outcome` of a challenge the caller has already loaded (and checked ``actor``
    may read): read from the session's identity map."""
    challenge = session.get(Challenge, challenge_id)
    return outcome(session, actor, challenge) if challenge is not None else None
