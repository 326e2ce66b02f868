"""Challenges (揭榜挂帅榜单): publishing one from a scenario, reading and listing them as each
actor may, editing a draft, and moving a challenge through its lifecycle.

Every change of a challenge's state goes through :func:`mosu.challenges.lifecycle.transition`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from mosu.challenges import lifecycle
from mosu.challenges.deadlines import applications_close_at, schedule_reminder
from mosu.challenges.errors import (
    ALREADY_PUBLISHED,
    DECIDE_ON_RACE,
    MORE_WINNERS_THAN_SHORTLIST,
    NO_SUCH_CHALLENGE,
    ONLY_OPERATORS_EDIT,
    ONLY_OPERATORS_PUBLISH,
    SCENARIO_CLOSED,
    WINDOW_ENDS_BEFORE_START,
    WINDOW_PASSED,
)
from mosu.challenges.models import (
    Challenge,
    ChallengeEvent,
    ChallengeState,
)
from mosu.challenges.schemas import (
    ChallengeIn,
    ChallengePatch,
)
from mosu.core import clock
from mosu.permissions import (
    Actor,
    can_manage_challenge,
    can_read_draft_challenge,
    can_read_every_challenge,
    challenge_parties,
    ensure,
)
from mosu.scenarios.models import Scenario, ScenarioStatus
from mosu.scenarios.schemas import ChallengeBrief
from mosu.scenarios.service import get_scenario, shows_challenges

S = TypeVar("S", bound=Select[Any])


def visible(stmt: S, actor: Actor) -> S:
    """``stmt`` narrowed to challenges ``actor`` may read: drafts are the operators' and
    the issuing organisation's."""
    if can_read_every_challenge(actor):
        return stmt
    shown = Challenge.state != ChallengeState.draft
    if actor.organisation_id is not None:
        shown = or_(shown, Challenge.organisation_id == actor.organisation_id)
    return stmt.where(shown)


def get_challenge(
    session: Session, challenge_id: int, *, actor: Actor, options: Sequence[ORMOption] = ()
) -> Challenge:
    """The challenge, or not found (also a draft the actor may not read); ``options``: what
    to load with it."""
    challenge = session.get(Challenge, challenge_id, options=options)
    if challenge is None or (
        challenge.state is ChallengeState.draft
        and not can_read_draft_challenge(actor, challenge.organisation_id)
    ):
        raise NO_SUCH_CHALLENGE(challenge_id=challenge_id)
    return challenge


def categories(session: Session, *, actor: Actor) -> list[str]:
    """The categories in use among the challenges ``actor`` may read (for the filter)."""
    stmt = select(Challenge.category).where(Challenge.category != "").distinct()
    return sorted(session.scalars(visible(stmt, actor)))


def create_challenge(session: Session, *, actor: Actor, data: ChallengeIn) -> Challenge:
    """Draft a challenge from a scenario (operators); the scenario's organisation issues it."""
    ensure(can_manage_challenge(actor), ONLY_OPERATORS_PUBLISH)
    scenario = get_scenario(session, data.scenario_id, actor=actor)
    if scenario.status is ScenarioStatus.closed:
        raise SCENARIO_CLOSED(details={"field": "scenario_id"})
    challenge = Challenge(
        **data.model_dump(),
        organisation_id=scenario.organisation_id,
        state=ChallengeState.draft,
        created_by_id=actor.user_id,
    )
    session.add(challenge)
    session.flush()
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="created",
        to_state=ChallengeState.draft,
        details={"scenario_id": scenario.id},
    )
    session.flush()
    return challenge


def update_challenge(
    session: Session, *, actor: Actor, challenge_id: int, data: ChallengePatch
) -> Challenge:
    """Change a draft (operators); a published challenge's terms are fixed."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    ensure(can_manage_challenge(actor), ONLY_OPERATORS_EDIT)
    if challenge.state is not ChallengeState.draft:
        raise ALREADY_PUBLISHED(details={"state": challenge.state.value})
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(challenge, key, value)
    if challenge.valid_from > challenge.valid_until:
        raise WINDOW_ENDS_BEFORE_START(details={"field": "valid_until"})
    if challenge.winner_places > challenge.shortlist_places:
        raise MORE_WINNERS_THAN_SHORTLIST(details={"field": "winner_places"})
    session.flush()
    return challenge


def transition_challenge(
    session: Session,
    *,
    actor: Actor,
    challenge_id: int,
    name: str,
    reason: str = "",
    today: dt.date | None = None,
) -> ChallengeEvent:
    """Move a challenge by the named transition (403 wrong party, 409 wrong state).

    ``start_race`` is the race's own start (it schedules each stage's close); ``decide``
    names winners, so it is made on the race (``POST …/race/decide``), not here.
    """
    challenge = get_challenge(session, challenge_id, actor=actor)
    move = lifecycle.TRANSITIONS.get(name)
    allowed = move is not None and bool(
        move.parties & challenge_parties(actor, challenge.organisation_id)
    )
    if allowed and move is not None and challenge.state in move.sources:
        if name == "publish" and challenge.valid_until < (today or clock.today()):
            raise WINDOW_PASSED(details={"field": "valid_until"})
        if name == "decide":
            raise DECIDE_ON_RACE(challenge_id=challenge.id)
        mover = lifecycle.mover_of(name)
        if mover is not None:
            mover(session, actor=actor, challenge_id=challenge.id, reason=reason)
            session.flush()
            return _last_event(session, challenge.id)
        if name == "start_race":
            raise RuntimeError("the race is not loaded: import mosu.race to start races")
    event = lifecycle.transition(session, challenge, name, actor=actor, reason=reason)
    if name == "publish":
        challenge.scenario.status = ScenarioStatus.published
        schedule_reminder(session, applications_close_at(challenge))
    session.flush()
    return event


def _last_event(session: Session, challenge_id: int) -> ChallengeEvent:
    event = session.scalars(
        select(ChallengeEvent)
        .where(ChallengeEvent.challenge_id == challenge_id)
        .order_by(ChallengeEvent.id.desc())
        .limit(1)
    ).one()
    return event


def publish(
    session: Session, *, actor: Actor, challenge_id: int, reason: str = ""
) -> ChallengeEvent:
    """Open a draft for applications (待揭榜); its scenario becomes 已发榜."""
    return transition_challenge(
        session, actor=actor, challenge_id=challenge_id, name="publish", reason=reason
    )


def challenge_briefs(scenario: Scenario, actor: Actor) -> list[ChallengeBrief]:
    """The challenges published from ``scenario`` that ``actor`` may see, oldest first."""
    session = Session.object_session(scenario)
    assert session is not None
    rows = session.execute(
        select(Challenge.id, Challenge.title, Challenge.state, Challenge.organisation_id)
        .where(Challenge.scenario_id == scenario.id)
        .order_by(Challenge.id)
    )
    return [
        ChallengeBrief(id=c.id, title=c.title, state=c.state.value)
        for c in rows
        if c.state is not ChallengeState.draft or can_read_draft_challenge(actor, c.organisation_id)
    ]


shows_challenges(challenge_briefs)
