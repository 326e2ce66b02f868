"""Supply views: the capability flags pages read, per identity, and the loaders' choices."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mosu.permissions import PUBLIC, Actor, Role
from mosu.supply import views
from tests.conftest import World
from tests.helpers.scenarios import actor
from tests.helpers.supply import Supply, apply, make_programme


def test_market_flags_follow_the_roles(world: World) -> None:
    operator, supplier, demand = (actor(world, w) for w in ("operator", "supplier_a", "demand"))
    lone = Actor(user_id=world.user_ids["expert"], role=Role.expert, username="expert")
    flags = {
        who: views.market_flags(a)
        for who, a in [
            ("operator", operator),
            ("supplier", supplier),
            ("demand", demand),
            ("lone", lone),
            ("public", PUBLIC),
        ]
    }
    assert vars(flags["operator"]) == dict.fromkeys(vars(flags["operator"]), True)
    assert flags["supplier"].can_offer and flags["supplier"].can_apply
    assert not flags["supplier"].can_manage_programmes and not flags["supplier"].can_keep_firms
    assert not flags["demand"].can_offer and flags["demand"].can_apply
    assert not any(vars(flags["lone"]).values()) and not any(vars(flags["public"]).values())


def test_application_flags_and_choices(supply: Supply, db: Session) -> None:
    world = supply.world
    programme = make_programme(db, world)
    application = apply(db, supply.buyer, programme.id, world.org_b)
    mine = views.application_flags(supply.buyer, application)
    assert mine.can_claim and not mine.can_review
    theirs = views.application_flags(supply.seller, application)
    assert not theirs.can_claim and not theirs.can_review
    assert views.application_flags(supply.operator, application).can_review
    assert views.can_apply_to(supply.buyer, programme) and not views.can_apply_to(PUBLIC, programme)
    names = views.organisation_choices(db)
    assert [n for _, n in names] == sorted(n for _, n in names) and len(names) >= 3
    assert views.buyer_choices(db, supply.operator) == names
    assert views.buyer_choices(db, supply.buyer) == []
