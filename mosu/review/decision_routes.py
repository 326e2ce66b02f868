"""The panel's results, its shortlist and the combined decision under ``/api/v1``.

Who sees what is decided by :mod:`mosu.review.results`, :mod:`mosu.review.shortlist` and
:mod:`mosu.review.decision` (and :mod:`mosu.permissions`): no expert's score leaves the
platform before the panel closes, comments reach operators and the application's own team
only, and only operators confirm a shortlist or name winners.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from mosu.accounts.deps import OperatorActor, PublicActor
from mosu.deps import LanguageDep, SessionDep
from mosu.registry.schemas import Strict
from mosu.review.decision import CombinedTable, combined_table, decide_combined
from mosu.review.results import PanelResultsOut, panel_results
from mosu.review.shortlist import ProposalOut, confirm_shortlist, proposal

router = APIRouter(tags=["review"])


class ShortlistIn(Strict):
    """The applications to shortlist; a reason when they are not the panel's proposal."""

    application_ids: list[int] = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=2000)


class CombinedDecisionIn(Strict):
    """The winners; a reason when they are not the combined rule's order."""

    entry_ids: list[int] = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=2000)


@router.get("/challenges/{challenge_id}/panel-results")
def get_panel_results(
    session: SessionDep, lang: LanguageDep, actor: PublicActor, challenge_id: int
) -> PanelResultsOut:
    """Once the panel has closed: each application's expert scores (comments for operators
    and its own team), dropped extremes, panel score, rank and spread flag, and the panel's
    Kendall's W and ICC(2,k). Before: the progress for operators, 403 for everyone else."""
    return panel_results(session, actor=actor, challenge_id=challenge_id, lang=lang)


@router.get("/challenges/{challenge_id}/shortlist-proposal")
def get_shortlist_proposal(
    session: SessionDep, actor: PublicActor, challenge_id: int
) -> ProposalOut:
    """The closed panel's proposed shortlist: the top places by panel score."""
    return proposal(session, actor=actor, challenge_id=challenge_id)


@router.post("/challenges/{challenge_id}/shortlist-proposal")
def post_shortlist_proposal(
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: ShortlistIn
) -> ProposalOut:
    """Confirm the shortlist: the proposal as it is, or another choice with a reason
    (10 characters or more); both are written to the audit log."""
    confirm_shortlist(
        session,
        actor=actor,
        challenge_id=challenge_id,
        application_ids=body.application_ids,
        reason=body.reason,
    )
    session.commit()
    return proposal(session, actor=actor, challenge_id=challenge_id)


@router.get("/challenges/{challenge_id}/combined")
def get_combined(session: SessionDep, actor: PublicActor, challenge_id: int) -> CombinedTable:
    """Each entry's panel score, race final score, both normalised, the combined score and
    its place by the published rule (operators and the issuer; everyone once decided)."""
    return combined_table(session, actor=actor, challenge_id=challenge_id)


@router.post("/challenges/{challenge_id}/combined-decision")
def post_combined_decision(
    session: SessionDep, actor: OperatorActor, challenge_id: int, body: CombinedDecisionIn
) -> CombinedTable:
    """Name the winners by the combined rule; any other choice needs a reason."""
    decide_combined(
        session,
        actor=actor,
        challenge_id=challenge_id,
        entry_ids=body.entry_ids,
        reason=body.reason,
    )
    session.commit()
    return combined_table(session, actor=actor, challenge_id=challenge_id)
