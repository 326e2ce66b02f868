"""Supply helpers: programmes with the 2025 Shanghai rules, offers, applications, and the
buyer and seller of the ``supply`` fixture."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from mosu.permissions import Actor, Role
from mosu.supply import applications, decisions, programmes
from mosu.supply.models import VoucherApplication, VoucherKind, VoucherProgramme
from mosu.supply.rules import Boost, Rules
from mosu.supply.schemas import ApplicationIn, ProgrammeIn, ReviewIn
from tests.conftest import World

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
_numbers = itertools.count(1)

RULES = {
    VoucherKind.compute: Rules(
        share=Decimal("0.30"),
        boost=Boost(share=Decimal("1.00"), months=12, max_age_years=3, max_employees=100),
        unrelated_parties=False,
    ),
    VoucherKind.model: Rules(
        share=Decimal("0.50"), cap_per_contract=Decimal("5000000"), unrelated_parties=False
    ),
    VoucherKind.corpus: Rules(share=Decimal("0.30"), unrelated_parties=True),
}


def operator_of(world: World) -> Actor:
    return Actor(user_id=world.user_ids["operator"], role=Role.operator, username="operator")


def member(world: World, who: str, org: int) -> Actor:
    role = Role.demand if who == "demand" else Role.supplier
    return Actor(user_id=world.user_ids[who], role=role, organisation_id=org, username=who)


def make_programme(
    db: Session,
    world: World,
    *,
    kind: VoucherKind = VoucherKind.model,
    budget: str = "1000000",
    rules: Rules | None = None,
    name: str | None = None,
    ends_on: dt.date = dt.date(2025, 12, 31),
) -> VoucherProgramme:
    programme = programmes.create_programme(
        db,
        actor=operator_of(world),
        data=ProgrammeIn(
            name=name or f"测试{kind.value}券{next(_numbers)}",
            kind=kind,
            budget=Decimal(budget),
            starts_on=dt.date(2025, 1, 1),
            ends_on=ends_on,
            rules=rules or RULES[kind],
        ),
    )
    db.commit()
    return programme


def application_data(programme_id: int, seller: int, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "programme_id": programme_id,
        "seller_organisation_id": seller,
        "contract_number": f"HT-2025-{next(_numbers):04d}",
        "contract_amount": "20000.00",
        "signed_on": "2025-03-01",
        "service_starts_on": "2025-03-01",
        "service_ends_on": "2025-06-30",
    }
    data.update(kw)
    return data


def apply(
    db: Session, actor: Actor, programme_id: int, seller: int, **kw: Any
) -> VoucherApplication:
    data = ApplicationIn.model_validate(application_data(programme_id, seller, **kw))
    application = applications.create_application(db, actor=actor, data=data)
    db.commit()
    return application


def approve(
    db: Session, world: World, application_id: int, amount: str | None = None, reason: str = ""
) -> VoucherApplication:
    done = decisions.review(
        db,
        actor=operator_of(world),
        application_id=application_id,
        data=ReviewIn(
            decision="approve", amount=Decimal(amount) if amount else None, reason=reason
        ),
        today=dt.date(2025, 7, 1),
    )
    db.commit()
    return done


@dataclass
class Supply:
    """org_a (buyer, member supplier_a) buys from org_b (seller, member supplier_b)."""

    world: World
    db: Session

    @property
    def buyer(self) -> Actor:
        return member(self.world, "supplier_a", self.world.org_a)

    @property
    def seller(self) -> Actor:
        return member(self.world, "supplier_b", self.world.org_b)

    @property
    def operator(self) -> Actor:
        return operator_of(self.world)
