"""The challenge lifecycle as an explicit state machine, and its append-only audit log.

::

    draft ─publish─▶ open (待揭榜) ─close_applications─▶ shortlisting (入围)
      ─start_race─▶ racing (赛马) ─decide─▶ decided (揭榜成功) ─start_delivery─▶
      delivery (攻关中) ─accept─▶ accepted (已完成)
    any state before accepted ─close─▶ closed (未揭榜关闭, a reason is required)

Each transition names the parties allowed to make it: ``operator`` (运营方) or
``issuer`` (a member of the demand organisation that owns the challenge). Every
transition, and every other decision on a challenge (an application approved, a stage
closed, an entry cut, a winner named), is written to :class:`ChallengeEvent`, which the
session refuses to update or delete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mosu.challenges.errors import (
    NOT_YOUR_TRANSITION,
    TRANSITION_NEEDS_REASON,
    UNKNOWN_TRANSITION,
    WRONG_STATE,
)
from mosu.challenges.models import Challenge, ChallengeEvent, ChallengeState
from mosu.permissions import Actor, ChallengeParty, challenge_parties


@dataclass(frozen=True)
class Transition:
    """A named move from one or more states to another, allowed to named parties."""

    name: str
    sources: frozenset[ChallengeState]
    target: ChallengeState
    parties: frozenset[ChallengeParty]
    reason_required: bool = False


S = ChallengeState
_BEFORE_ACCEPTED = frozenset({S.draft, S.open, S.shortlisting, S.racing, S.decided, S.delivery})

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("publish", frozenset({S.draft}), S.open, frozenset({"operator"})),
        Transition(
            "close_applications", frozenset({S.open}), S.shortlisting, frozenset({"operator"})
        ),
        Transition("start_race", frozenset({S.shortlisting}), S.racing, frozenset({"operator"})),
        Transition("decide", frozenset({S.racing}), S.decided, frozenset({"operator"})),
        Transition(
            "start_delivery", frozenset({S.decided}), S.delivery, frozenset({"operator", "issuer"})
        ),
        Transition(
            "accept", frozenset({S.delivery}), S.accepted, frozenset({"operator", "issuer"})
        ),
        Transition(
            "close", _BEFORE_ACCEPTED, S.closed, frozenset({"operator"}), reason_required=True
        ),
    )
}


Mover = Callable[..., None]
"""Carries out a transition in place of :func:`transition`: called with the session and
``actor=``, ``challenge_id=`` and ``reason=``; it records the transition itself."""

_MOVERS: dict[str, Mover] = {}


def carried_out_by(name: str, mover: Mover) -> None:
    """Let another package carry out the transition ``name`` (the race starts ``start_race``
    and schedules its stages' closes): challenges never import the packages built on them."""
    if name not in TRANSITIONS:
        raise KeyError(name)
    _MOVERS[name] = mover


def mover_of(name: str) -> Mover | None:
    return _MOVERS.get(name)


def available(actor: Actor, challenge: Challenge) -> list[Transition]:
    """Transitions the actor may make on the challenge now (for buttons on its page)."""
    mine = challenge_parties(actor, challenge.organisation_id)
    return [t for t in TRANSITIONS.values() if challenge.state in t.sources and t.parties & mine]


def actor_name(actor: Actor) -> str:
    return actor.username or ("system" if actor.user_id is None else f"user {actor.user_id}")


def record(
    session: Session,
    challenge: Challenge,
    *,
    actor: Actor,
    action: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
    from_state: ChallengeState | None = None,
    to_state: ChallengeState | None = None,
) -> ChallengeEvent:
    """Append one line to the challenge's audit log (in the caller's transaction)."""
    entry = ChallengeEvent(
        challenge_id=challenge.id,
        actor_id=actor.user_id,
        actor_name=actor_name(actor),
        action=action,
        reason=reason.strip(),
        details=details or {},
        from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None,
    )
    session.add(entry)
    return entry


def transition(
    session: Session,
    challenge: Challenge,
    name: str,
    *,
    actor: Actor,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> ChallengeEvent:
    """Move ``challenge`` by the named transition, checking state and party, and log it.

    Guards that depend on other records (a race needs entries and stages, a decision
    needs winners) are checked by the service functions that call this.
    """
    move = TRANSITIONS.get(name)
    if move is None:
        raise UNKNOWN_TRANSITION(transition=name)
    if not move.parties & challenge_parties(actor, challenge.organisation_id):
        raise NOT_YOUR_TRANSITION(transition=name)
    if challenge.state not in move.sources:
        raise WRONG_STATE(
            state=challenge.state,
            transition=name,
            details={"state": challenge.state.value, "transition": name},
        )
    if move.reason_required and not reason.strip():
        raise TRANSITION_NEEDS_REASON(transition=name)
    source = challenge.state
    challenge.state = move.target
    return record(
        session,
        challenge,
        actor=actor,
        action=name,
        reason=reason,
        details=details,
        from_state=source,
        to_state=move.target,
    )
