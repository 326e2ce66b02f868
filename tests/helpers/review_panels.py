"""Builders for the panel tests: experts in the pool, a shortlisting challenge with a
published rubric and approved applications, and a drawn, confirmed panel."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from mosu.accounts.service import create_api_token, create_user
from mosu.challenges import catalogue, decisions
from mosu.challenges.models import Application, Challenge
from mosu.permissions import Role
from mosu.review.models import Blinding, ExpertConflict, ExpertProfile, Rubric
from tests.conftest import World
from tests.helpers.scenarios import actor, make_application, make_challenge

CRITERIA = [
    {"key": "tech", "name": "技术方案", "weight": 40, "description": "方案是否可行、先进"},
    {"key": "team", "name": "团队与资质", "weight": 20, "description": "团队经验"},
    {"key": "fit", "name": "落地可行性", "weight": 30, "description": "能否按期落地"},
    {"key": "price", "name": "报价合理性", "weight": 10, "description": "报价是否合理"},
]
_serial = itertools.count(1)


@dataclass
class Expert:
    user_id: int
    username: str
    password: str
    token: str


def make_expert(
    db: Session,
    *,
    fields: tuple[str, ...] = ("政务服务",),
    affiliation_id: int | None = None,
    declared: tuple[int, ...] = (),
    in_pool: bool = True,
    name: str = "",
) -> Expert:
    """An expert user with a profile in the pool (and an API token)."""
    username = name or f"expert{next(_serial)}"
    password = f"pw-{username}-123"
    user = create_user(db, username=username, password=password, role=Role.expert)
    db.add(
        ExpertProfile(
            user_id=user.id, fields=list(fields), affiliation_id=affiliation_id, in_pool=in_pool
        )
    )
    for organisation_id in declared:
        db.add(ExpertConflict(expert_id=user.id, organisation_id=organisation_id, reason="声明"))
    _, token = create_api_token(db, user_id=user.id, name="tests")
    db.commit()
    return Expert(user.id, username, password, token)


def publish_rubric(
    db: Session, challenge_id: int, *, blinding: Blinding = Blinding.single
) -> Rubric:
    rubric = Rubric(
        challenge_id=challenge_id,
        criteria=CRITERIA,
        score_min=0,
        score_max=10,
        blinding=blinding,
    )
    db.add(rubric)
    db.commit()
    return rubric


@dataclass
class Ready:
    challenge: Challenge
    applications: list[Application] = field(default_factory=list)


def ready_challenge(
    db: Session,
    world: World,
    *,
    model_id: int,
    data_dir: Path,
    blinding: Blinding = Blinding.single,
    proposals: tuple[str, ...] = ("甲的评审方案正文",),
    pdf: bytes | None = None,
    member_ids: tuple[int, ...] = (),
    rubric: bool = True,
) -> Ready:
    """A challenge of org_demand in 入围评审 with approved applications of org_a (one per
    proposal) and, unless ``rubric=False``, a published rubric."""
    challenge = make_challenge(db, world, max_applications_per_org=len(proposals))
    ready = Ready(challenge)
    operator = actor(world, "operator")
    for text in proposals:
        application = make_application(
            db,
            world,
            challenge,
            model_id=model_id,
            data_dir=data_dir,
            proposal=text,
            pdf=pdf,
            member_ids=member_ids,
        )
        decisions.decide_application(
            db, actor=operator, application_id=application.id, approve=True
        )
        ready.applications.append(application)
    catalogue.transition_challenge(
        db, actor=operator, challenge_id=challenge.id, name="close_applications"
    )
    db.commit()
    if rubric:
        publish_rubric(db, challenge.id, blinding=blinding)
    return ready


def full_scores(value: float = 8) -> dict[str, float]:
    return {c["key"]: value for c in CRITERIA}
