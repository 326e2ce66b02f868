"""A challenge's review rubric (评审细则): set by operators while the challenge is a draft,
fixed from the moment it is published (applications open), public from then on.

The rubric's terms (criteria with weights summing to 100, the score range, 单盲 or 双盲,
the dispersion threshold and the combined rule) are validated by
:class:`~mosu.review.schemas.RubricIn`; every change is written to the challenge's audit
log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from mosu.challenges import lifecycle
from mosu.challenges.catalogue import get_challenge
from mosu.challenges.models import Challenge, ChallengeState
from mosu.challenges.schemas import ChallengeOut
from mosu.permissions import Actor, can_read_rubric, can_set_rubric, ensure
from mosu.review.errors import (
    NO_RUBRIC,
    RUBRIC_FIXED,
    SET_RUBRIC_OPERATORS_ONLY,
)
from mosu.review.models import Rubric
from mosu.review.schemas import RubricIn, RubricOut


def rubric_of(session: Session, challenge_id: int) -> Rubric | None:
    """The challenge's rubric, if it has one (no permission check: for services)."""
    return session.get(Rubric, challenge_id)


def is_fixed(challenge: Challenge | ChallengeOut) -> bool:
    """Whether the challenge's rubric can no longer change: it has left the draft state."""
    return challenge.state is not ChallengeState.draft


def set_rubric(session: Session, *, actor: Actor, challenge_id: int, data: RubricIn) -> Rubric:
    """Set (or replace) the rubric of a draft challenge: operators only; once the challenge
    is published a change is refused with 409. The change is written to the audit log."""
    ensure(can_set_rubric(actor), SET_RUBRIC_OPERATORS_ONLY)
    challenge = get_challenge(session, challenge_id, actor=actor)
    if is_fixed(challenge):
        raise RUBRIC_FIXED(details={"state": challenge.state.value})
    rubric = session.get(Rubric, challenge_id)
    replaced = rubric is not None
    if rubric is None:
        rubric = Rubric(challenge_id=challenge_id)
        session.add(rubric)
    rubric.criteria = [c.model_dump() for c in data.criteria]
    rubric.score_min = data.score_min
    rubric.score_max = data.score_max
    rubric.blinding = data.blinding
    rubric.dispersion_threshold = data.dispersion_threshold
    rubric.combined = data.combined.model_dump() if data.combined is not None else None
    lifecycle.record(
        session,
        challenge,
        actor=actor,
        action="rubric_replaced" if replaced else "rubric_set",
        details={
            "criteria": {c.key: c.weight for c in data.criteria},
            "score_range": [data.score_min, data.score_max],
            "blinding": data.blinding.value,
            "combined": rubric.combined,
        },
    )
    session.flush()
    return rubric


def rubric_out(rubric: Rubric, challenge: Challenge | ChallengeOut) -> RubricOut:
    """The rubric as the API and pages show it."""
    return RubricOut.model_validate(
        {
            "challenge_id": rubric.challenge_id,
            "criteria": rubric.criteria,
            "score_min": rubric.score_min,
            "score_max": rubric.score_max,
            "blinding": rubric.blinding,
            "dispersion_threshold": rubric.dispersion_threshold,
            "combined": rubric.combined,
            "fixed": is_fixed(challenge),
        }
    )


def read_rubric(session: Session, *, actor: Actor, challenge_id: int) -> RubricOut:
    """The challenge's rubric as ``actor`` may read it: everyone once the challenge is
    published, only operators while it is a draft; 404 when there is none (to read)."""
    challenge = get_challenge(session, challenge_id, actor=actor)
    rubric = rubric_of(session, challenge_id)
    if rubric is None or not can_read_rubric(actor, published=is_fixed(challenge)):
        raise NO_RUBRIC(challenge_id=challenge_id)
    return rubric_out(rubric, challenge)


def shown_rubric(
    session: Session, *, actor: Actor, challenge: Challenge | ChallengeOut
) -> RubricOut | None:
    """The rubric for the challenge page, or ``None`` when there is none ``actor`` may read."""
    rubric = rubric_of(session, challenge.id)
    if rubric is None or not can_read_rubric(actor, published=is_fixed(challenge)):
        return None
    return rubric_out(rubric, challenge)
