"""The challenge state machine: which party may make which move from which state."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from mosu.challenges import lifecycle
from mosu.challenges.models import Challenge, ChallengeState
from mosu.core.errors import Conflict, Forbidden, Invalid
from mosu.permissions import PUBLIC, Actor, Role
from tests.conftest import World
from tests.helpers.scenarios import actor, make_challenge

S = ChallengeState


def names(actor: Actor, challenge: Challenge) -> list[str]:
    return [t.name for t in lifecycle.available(actor, challenge)]


def test_every_state_but_the_ends_can_be_left() -> None:
    sources = {s for t in lifecycle.TRANSITIONS.values() for s in t.sources}
    assert sources == set(S) - {S.accepted, S.closed}
    targets = {t.target for t in lifecycle.TRANSITIONS.values()}
    assert targets == set(S) - {S.draft}


@pytest.mark.parametrize(
    ("state", "operator", "issuer"),
    [
        (S.draft, ["publish", "close"], []),
        (S.open, ["close_applications", "close"], []),
        (S.shortlisting, ["start_race", "close"], []),
        (S.racing, ["decide", "close"], []),
        (S.decided, ["start_delivery", "close"], ["start_delivery"]),
        (S.delivery, ["accept", "close"], ["accept"]),
        (S.accepted, [], []),
        (S.closed, [], []),
    ],
)
def test_buttons_by_party_and_state(
    state: ChallengeState, operator: list[str], issuer: list[str]
) -> None:
    challenge = Challenge(organisation_id=7, state=state)
    assert names(Actor(user_id=1, role=Role.operator), challenge) == operator
    assert names(Actor(user_id=2, role=Role.demand, organisation_id=7), challenge) == issuer
    assert names(Actor(user_id=3, role=Role.demand, organisation_id=8), challenge) == []
    assert names(Actor(user_id=4, role=Role.supplier, organisation_id=9), challenge) == []
    assert names(PUBLIC, challenge) == []


def test_a_transition_is_checked_then_logged(db: Session, world: World) -> None:
    challenge = make_challenge(db, world)
    operator, demand = actor(world, "operator"), actor(world, "demand")
    with pytest.raises(Invalid, match="未知"):
        lifecycle.transition(db, challenge, "teleport", actor=operator)
    with pytest.raises(Forbidden):
        lifecycle.transition(db, challenge, "close_applications", actor=demand)
    with pytest.raises(Conflict) as wrong_state:
        lifecycle.transition(db, challenge, "accept", actor=operator)
    assert wrong_state.value.details == {"state": "open", "transition": "accept"}
    with pytest.raises(Invalid, match="原因"):
        lifecycle.transition(db, challenge, "close", actor=operator, reason="  ")
    event = lifecycle.transition(db, challenge, "close", actor=operator, reason=" 需求取消 ")
    db.commit()
    assert challenge.state is S.closed
    assert (event.from_state, event.to_state, event.reason) == ("open", "closed", "需求取消")
    assert event.actor_id == world.user_ids["operator"] and event.at is not None
