"""Builders for scenario and challenge tests: actors of the test world, scenarios, open
challenges, models with or without an active 备案 filing, and small PDF files."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mosu.challenges import applications, catalogue, decisions, proposals
from mosu.challenges.models import Application, Challenge, ChallengeKind
from mosu.challenges.schemas import ApplicationIn, ChallengeIn
from mosu.core import clock
from mosu.permissions import Actor, Role
from mosu.registry import ai_models, filings
from mosu.registry.models import FilingKind, Modality
from mosu.registry.schemas import FilingIn, ModelIn
from mosu.scenarios import service as scenarios
from mosu.scenarios.models import Scenario
from mosu.scenarios.schemas import ScenarioIn
from tests.conftest import World

ROLES = {
    "operator": Role.operator,
    "supplier_a": Role.supplier,
    "supplier_b": Role.supplier,
    "demand": Role.demand,
    "expert": Role.expert,
}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
_serial = itertools.count(1)


def actor(world: World, who: str) -> Actor:
    """The actor a signed-in ``who`` of the test world acts as."""
    org = {"supplier_a": world.org_a, "supplier_b": world.org_b, "demand": world.org_demand}
    return Actor(
        user_id=world.user_ids[who],
        role=ROLES[who],
        organisation_id=org.get(who),
        username=who,
    )


def make_scenario(db: Session, world: World, **values: Any) -> Scenario:
    data = {"title": "12345 热线工单智能分派", "domain": "政务服务", "region": "徐汇区", **values}
    scenario = scenarios.create_scenario(
        db, actor=actor(world, "demand"), data=ScenarioIn.model_validate(data)
    )
    db.commit()
    return scenario


def challenge_in(scenario_id: int, **values: Any) -> ChallengeIn:
    today = clock.today()
    data = {
        "scenario_id": scenario_id,
        "kind": ChallengeKind.government,
        "title": "热线工单分派模型揭榜",
        "category": "政务服务",
        "keywords": ["工单分派", "文本分类"],
        "bounty_yuan": 500_000,
        "requirements": "按部门分派市民留言，准确率不低于 90%。",
        "valid_from": today - dt.timedelta(days=1),
        "valid_until": today + dt.timedelta(days=30),
        "region": "徐汇区",
        "issuer": "丙区政务服务中心",
        "max_applications_per_org": 2,
        "shortlist_places": 2,
        **values,
    }
    return ChallengeIn.model_validate(data)


def make_challenge(db: Session, world: World, *, publish: bool = True, **values: Any) -> Challenge:
    """A challenge from a new scenario of org_demand: open (待揭榜) unless ``publish=False``."""
    scenario = make_scenario(db, world)
    operator = actor(world, "operator")
    challenge = catalogue.create_challenge(
        db, actor=operator, data=challenge_in(scenario.id, **values)
    )
    if publish:
        catalogue.publish(db, actor=operator, challenge_id=challenge.id)
    db.commit()
    return challenge


def make_model(db: Session, organisation_id: int, *, filed: bool = False) -> int:
    """A text model of the organisation, with an active 备案 filing when ``filed``."""
    n = next(_serial)
    model = ai_models.create_model(
        db,
        actor=actor_operator(),
        data=ModelIn(organisation_id=organisation_id, name=f"测试模型{n}", modality=Modality.text),
    )
    if filed:
        filings.create_filing(
            db,
            actor=actor_operator(),
            data=FilingIn(
                model_id=model.id, kind=FilingKind.beian, number=f"Shanghai-Ce{n}-20240301"
            ),
        )
    db.commit()
    return model.id


def actor_operator() -> Actor:
    return Actor(user_id=None, role=Role.operator, username="tests")


def make_application(
    db: Session,
    world: World,
    challenge: Challenge,
    *,
    model_id: int,
    data_dir: Path,
    who: str = "supplier_a",
    proposal: str = "方案正文",
    pdf: bytes | None = None,
    member_ids: tuple[int, ...] = (),
) -> Application:
    """An application by ``who``'s organisation as lead (with a PDF when ``pdf`` is given)."""
    application = applications.apply(
        db,
        actor=actor(world, who),
        challenge_id=challenge.id,
        data=ApplicationIn(proposal=proposal, member_ids=list(member_ids), model_ids=[model_id]),
        proposal_file=proposals.ProposalFile("方案.pdf", pdf) if pdf is not None else None,
        data_dir=data_dir,
        max_bytes=1024 * 1024,
    )
    db.commit()
    return application


def approved_in_shortlisting(
    db: Session, world: World, *, model_id: int, data_dir: Path
) -> Application:
    """An approved application of supplier_a in a new challenge that is shortlisting."""
    challenge = make_challenge(db, world)
    application = make_application(db, world, challenge, model_id=model_id, data_dir=data_dir)
    operator = actor(world, "operator")
    decisions.decide_application(db, actor=operator, application_id=application.id, approve=True)
    catalogue.transition_challenge(
        db, actor=operator, challenge_id=challenge.id, name="close_applications"
    )
    db.commit()
    return application
