"""The whole community in figures, for the overview: challenges by state, races running,
arena votes, and the vouchers the district has committed and paid, each with the filtered
list it clicks through to. Aggregates only: no row of anyone's is shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from mosu.arena.models import Arena, Vote
from mosu.challenges.models import Challenge, ChallengeState, Stage, StageState
from mosu.core import clock
from mosu.supply.models import LedgerEntry, LedgerKind, VoucherKind, VoucherProgramme


@dataclass(frozen=True)
class StateCount:
    state: ChallengeState
    count: int
    link: str


@dataclass(frozen=True)
class VoucherFigure:
    kind: VoucherKind
    committed_fen: int
    """Budget committed by approvals, less what payouts below the approval released."""
    paid_fen: int
    link: str


@dataclass(frozen=True)
class Community:
    challenges: list[StateCount]
    """Every state but drafts (a draft is its issuer's until published)."""
    races_running: int
    """Challenges in the racing state."""
    open_stages: int
    """Stages taking submissions now (inside their window, not closed)."""
    arenas: int
    arena_votes: int
    """People's votes (not a judge model's, not imported ones)."""
    vouchers: list[VoucherFigure]

    @property
    def published(self) -> int:
        return sum(s.count for s in self.challenges)

    @property
    def committed_fen(self) -> int:
        return sum(v.committed_fen for v in self.vouchers)

    @property
    def paid_fen(self) -> int:
        return sum(v.paid_fen for v in self.vouchers)


_BY_STATE = (
    select(Challenge.state, func.count())
    .where(Challenge.state != ChallengeState.draft)
    .group_by(Challenge.state)
)
_OPEN_STAGES = select(func.count()).select_from(Stage).where(Stage.state != StageState.closed)
"""Stages not closed; :func:`community` adds the window around the moment asked about."""
_VOTES = select(
    select(func.count()).select_from(Arena).scalar_subquery(),
    select(func.count()).select_from(Vote).where(Vote.source == "human").scalar_subquery(),
)
_LEDGER = (
    select(
        VoucherProgramme.kind,
        func.sum(
            case(
                (LedgerEntry.kind == LedgerKind.commit, LedgerEntry.amount_fen),
                (LedgerEntry.kind == LedgerKind.release, -LedgerEntry.amount_fen),
                else_=0,
            )
        ),
        func.sum(case((LedgerEntry.kind == LedgerKind.payout, LedgerEntry.amount_fen), else_=0)),
    )
    .join(VoucherProgramme, LedgerEntry.programme_id == VoucherProgramme.id)
    .group_by(VoucherProgramme.kind)
)


def community(session: Session, now: dt.datetime | None = None) -> Community:
    """The community's figures at ``now`` (four statements, whatever the number of rows)."""
    moment = now or clock.now()
    counts = {ChallengeState(state): n for state, n in session.execute(_BY_STATE)}
    open_stages = session.scalar(
        _OPEN_STAGES.where(Stage.opens_at <= moment, Stage.closes_at > moment)
    )
    arenas, votes = session.execute(_VOTES).one()
    ledger = {VoucherKind(kind): (c or 0, p or 0) for kind, c, p in session.execute(_LEDGER)}
    return Community(
        challenges=[
            StateCount(state, counts.get(state, 0), f"/challenges?state={state.value}")
            for state in ChallengeState
            if state is not ChallengeState.draft
        ],
        races_running=counts.get(ChallengeState.racing, 0),
        open_stages=open_stages or 0,
        arenas=arenas,
        arena_votes=votes,
        vouchers=[
            VoucherFigure(kind, *ledger.get(kind, (0, 0)), link=f"/supply?kind={kind.value}")
            for kind in VoucherKind
        ],
    )


__all__ = ["Community", "StateCount", "VoucherFigure", "community"]
