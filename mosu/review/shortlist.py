"""The panel's shortlist (入围名单): the closed panel's ranking proposes the top places, and
the operator confirms the proposal or departs from it with a recorded reason.

While a challenge has a panel, its applications are not shortlisted one at a time: the
per-application shortlist (:func:`mosu.challenges.decisions.shortlist`) refuses with 409.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges import decisions, lifecycle
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.models import Application, ApplicationState, Challenge, ChallengeState
from mosu.core.text import Text
from mosu.i18n import N_
from mosu.permissions import Actor, can_decide_by_panel, can_see_panel_progress, ensure
from mosu.review.errors import (
    APPLICATIONS_STILL_OPEN,
    CHOOSE_SHORTLIST,
    NO_SUCH_APPLICATION,
    NO_SUCH_CHALLENGE,
    PANEL_NOT_CLOSED,
    RESULTS_AFTER_CLOSE,
    SHORTLIST_CONFIRMED,
    SHORTLIST_DEPARTURE_NEEDS_REASON,
    SHORTLIST_OPERATORS_ONLY,
    TOO_MANY_SHORTLISTED,
)
from mosu.review.models import Panel, PanelState
from mosu.review.results import rubric_and_panel, tally

MIN_REASON = 10
"""A departure from the panel's proposal needs a reason of at least this many characters."""


def _panel_owns_shortlist(session: Session, challenge: Challenge) -> Text | None:
    has_panel = session.scalar(select(Panel.id).where(Panel.challenge_id == challenge.id))
    if has_panel is None:
        return None
    return Text(
        N_("该榜单由专家评审确定入围，请使用评审入围名单（{path}）"),
        {"path": f"/challenges/{challenge.id}/shortlist"},
    )


decisions.shortlisted_elsewhere(_panel_owns_shortlist)


def _closed_panel(session: Session, challenge_id: int) -> tuple[Challenge, Panel]:
    challenge = session.get(Challenge, challenge_id)
    if challenge is None:
        raise NO_SUCH_CHALLENGE(challenge_id=challenge_id)
    _rubric, panel = rubric_and_panel(session, challenge_id)
    if panel.state is not PanelState.closed:
        raise PANEL_NOT_CLOSED()
    return challenge, panel


def proposed_shortlist(session: Session, challenge_id: int) -> list[int]:
    """The applications in the challenge's shortlist places by panel score, best first
    (equal scores: the earlier application first). 409 while the panel is open."""
    challenge, panel = _closed_panel(session, challenge_id)
    rubric, _ = rubric_and_panel(session, challenge_id)
    rows = tally(session, panel, rubric).rows
    return [r.application.id for r in rows[: challenge.shortlist_places]]


class ProposalOut(BaseModel):
    """The proposal as the shortlist page and API show it."""

    challenge_id: int
    places: int
    proposed: list[int]
    shortlisted: list[int]
    """Applications already shortlisted (after a confirmation)."""
    can_confirm: bool
    min_reason: int = MIN_REASON


def proposal(session: Session, *, actor: Actor, challenge_id: int) -> ProposalOut:
    """The proposal for readers of the challenge once the panel closed (a ranking already
    public in the panel's results)."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    _rubric, panel = rubric_and_panel(session, challenge.id)
    if panel.state is not PanelState.closed and not can_see_panel_progress(actor):
        raise RESULTS_AFTER_CLOSE()
    proposed = proposed_shortlist(session, challenge.id)
    shortlisted = _shortlisted(session, challenge.id)
    return ProposalOut(
        challenge_id=challenge.id,
        places=challenge.shortlist_places,
        proposed=proposed,
        shortlisted=shortlisted,
        can_confirm=can_decide_by_panel(actor)
        and challenge.state is ChallengeState.shortlisting
        and not shortlisted,
    )


def _shortlisted(session: Session, challenge_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Application.id)
            .where(
                Application.challenge_id == challenge_id,
                Application.state == ApplicationState.shortlisted,
            )
            .order_by(Application.id)
        )
    )


def confirm_shortlist(
    session: Session,
    *,
    actor: Actor,
    challenge_id: int,
    application_ids: list[int],
    reason: str = "",
) -> list[int]:
    """The operator shortlists ``application_ids`` (the challenge in 入围评审). The same set
    as the proposal needs no reason; any other needs one of :data:`MIN_REASON` characters
    or more. The audit log records the proposal, the choice and the reason. Returns the
    new entries' ids."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    ensure(can_decide_by_panel(actor), SHORTLIST_OPERATORS_ONLY)
    if challenge.state is not ChallengeState.shortlisting:
        raise APPLICATIONS_STILL_OPEN(details={"state": challenge.state.value})
    proposed = proposed_shortlist(session, challenge.id)
    if _shortlisted(session, challenge.id):
        raise SHORTLIST_CONFIRMED()
    chosen = list(dict.fromkeys(application_ids))
    if not chosen:
        raise CHOOSE_SHORTLIST()
    if len(chosen) > challenge.shortlist_places:
        raise TOO_MANY_SHORTLISTED(places=challenge.shortlist_places)
    departs = set(chosen) != set(proposed)
    if departs and len(reason.strip()) < MIN_REASON:
        raise SHORTLIST_DEPARTURE_NEEDS_REASON(
            n=MIN_REASON, details={"field": "reason", "proposed": proposed}
        )
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="shortlist_departed" if departs else "shortlist_confirmed",
        reason=reason if departs else "",
        details={"proposed": proposed, "chosen": chosen},
    )
    entries = []
    for application_id in chosen:
        application = session.get(Application, application_id)
        if application is None or application.challenge_id != challenge.id:
            raise NO_SUCH_APPLICATION(application_id=application_id)
        entry = decisions.shortlist(
            session, actor=actor, application_id=application_id, guarded=False
        )
        entries.append(entry.id)
    session.flush()
    return entries
