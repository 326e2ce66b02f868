"""The challenge and corpus predicates of :mod:`mosu.permissions` that pages read as flags."""

from __future__ import annotations

import pytest

from mosu.permissions import (
    PUBLIC,
    Actor,
    Role,
    acts_for_platform,
    can_act_for_any_organisation,
    can_apply_now,
    can_edit_challenge,
    can_read_every_challenge,
    challenge_parties,
)

ISSUER = 7
OPERATOR = Actor(user_id=1, role=Role.operator)
DEMAND = Actor(user_id=2, role=Role.demand, organisation_id=ISSUER)
SUPPLIER = Actor(user_id=3, role=Role.supplier, organisation_id=9)
LONE_SUPPLIER = Actor(user_id=4, role=Role.supplier)
EXPERT = Actor(user_id=5, role=Role.expert, organisation_id=11)


@pytest.mark.parametrize(
    ("actor", "parties"),
    [
        (OPERATOR, {"operator"}),
        (DEMAND, {"issuer"}),
        (Actor(user_id=6, role=Role.operator, organisation_id=ISSUER), {"operator", "issuer"}),
        (SUPPLIER, set()),
        (PUBLIC, set()),
    ],
)
def test_challenge_parties(actor: Actor, parties: set[str]) -> None:
    assert challenge_parties(actor, ISSUER) == parties


@pytest.mark.parametrize(
    ("actor", "open_", "allowed"),
    [
        (SUPPLIER, True, True),
        (SUPPLIER, False, False),
        (LONE_SUPPLIER, True, False),
        (DEMAND, True, False),
        (OPERATOR, True, False),
        (PUBLIC, True, False),
    ],
)
def test_the_apply_button_follows_the_submission_rule(
    actor: Actor, open_: bool, allowed: bool
) -> None:
    assert can_apply_now(actor, takes_applications=open_) is allowed


def test_only_operators_edit_drafts_read_every_challenge_and_register_for_anyone() -> None:
    assert can_edit_challenge(OPERATOR, draft=True)
    assert not can_edit_challenge(OPERATOR, draft=False)
    for actor in (DEMAND, SUPPLIER, EXPERT, PUBLIC):
        assert not can_edit_challenge(actor, draft=True)
        assert not can_read_every_challenge(actor)
        assert not can_act_for_any_organisation(actor)
    assert can_read_every_challenge(OPERATOR)
    assert can_act_for_any_organisation(OPERATOR)


def test_only_operators_act_for_the_platform_in_the_audit_log() -> None:
    assert acts_for_platform(Role.operator)
    assert not any(acts_for_platform(r) for r in Role if r is not Role.operator)
