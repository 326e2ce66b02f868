"""Pages for those who keep the supply: offers published and edited by their supplier,
programmes set up as a form, firm facts and related parties kept by operators."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core.money import to_fen
from mosu.supply.models import (
    ComputePool,
    OrganisationRelation,
    SupplyProfile,
    VoucherKind,
    VoucherProgramme,
)
from tests.conftest import LiveServer, World
from tests.helpers.signin import signed_in
from tests.helpers.supply import Supply, apply, approve, make_programme

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

POOL = {
    "name": "甲推理池",
    "accelerator": "昇腾 910B",
    "card_count": "16",
    "price": "1,234.50",
    "available_from": "2025-01-01",
    "active": "1",
}


def test_supplier_publishes_edits_and_withdraws_a_pool(
    live: LiveServer, world: World, db: Session
) -> None:
    with signed_in(live, world, "supplier_a") as client:
        bad = client.post("/supply/offers/new?kind=pool", data={**POOL, "card_count": "0"})
        assert bad.status_code == 422 and 'id="f-card_count"' in bad.text
        done = client.post("/supply/offers/new?kind=pool", data=POOL)
        assert done.status_code == 303
        pool = db.scalars(select(ComputePool)).one()
        assert pool.organisation_id == world.org_a and pool.price_fen == 123450
        form = client.get(f"/supply/pools/{pool.id}/edit")
        assert form.status_code == 200 and 'value="1234.50"' in form.text
        withdrawn = client.post(f"/supply/pools/{pool.id}/edit", data={**POOL, "active": ""})
        assert withdrawn.status_code == 303
        mine = client.get("/supply").text
        assert "甲推理池" in mine and "已下架" in mine
    db.expire_all()
    assert db.get(ComputePool, pool.id).active is False  # type: ignore[union-attr]
    with signed_in(live, world, "supplier_b") as other:
        assert "甲推理池" not in other.get("/supply").text
        assert other.get(f"/supply/pools/{pool.id}/edit").status_code == 403
        assert other.post(f"/supply/pools/{pool.id}/edit", data=POOL).status_code == 403
    with signed_in(live, world, "demand") as demand:
        assert demand.get("/supply/offers/new?kind=pool").status_code == 403


def test_operator_sets_up_a_programme_with_rules(
    live: LiveServer, world: World, db: Session
) -> None:
    form = {
        "name": "页面算力券",
        "kind": "compute",
        "budget": "2,000,000",
        "starts_on": "2025-01-01",
        "ends_on": "2025-12-31",
        "share": "30",
        "boost_share": "100",
        "boost_months": "12",
        "boost_max_employees": "50",
        "open": "1",
    }
    with signed_in(live, world, "operator") as op:
        low = op.post("/supply/programmes/new", data={**form, "boost_share": "20"})
        assert low.status_code == 422 and "扶持比例须高于基础比例" in low.text
        done = op.post("/supply/programmes/new", data=form)
        assert done.status_code == 303, done.text
        programme = db.scalars(select(VoucherProgramme)).one()
        assert programme.rules["share"] == "0.3" and programme.rules["boost"]["share"] == "1"
        assert programme.budget_fen == to_fen("2000000")
        closed = op.post(
            f"/supply/programmes/{programme.id}/edit",
            data={"budget": "1500000", "ends_on": "2025-12-31"},
        )
        assert closed.status_code == 303
        db.refresh(programme)
        assert not programme.open and programme.budget_fen == to_fen("1500000")
    with signed_in(live, world, "supplier_a") as client:
        assert client.get("/supply/programmes/new").status_code == 403


def test_budget_edit_below_committed_is_refused(supply: Supply, live: LiveServer) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world, budget="50000")
    approve(db, world, apply(db, supply.buyer, programme.id, world.org_b).id)
    with signed_in(live, world, "operator") as op:
        answer = op.post(
            f"/supply/programmes/{programme.id}/edit", data={"budget": "100", "open": "1"}
        )
        assert answer.status_code == 409 and "预算不能低于已批准的金额" in answer.text


def test_operator_keeps_firm_facts_that_the_rules_read(supply: Supply, live: LiveServer) -> None:
    db, world = supply.db, supply.world
    corpus = make_programme(db, world, kind=VoucherKind.corpus)
    with signed_in(live, world, "operator") as op:
        assert op.get("/supply/firms").status_code == 200
        added = op.post(
            "/supply/firms/relations",
            data={
                "organisation_id": str(world.org_a),
                "related_organisation_id": str(world.org_b),
                "kind": "shareholding",
            },
        )
        assert added.status_code == 303
        same = op.post(
            "/supply/firms/relations",
            data={"organisation_id": str(world.org_a), "related_organisation_id": str(world.org_a)},
        )
        assert same.status_code == 422
        profile = op.post(
            "/supply/firms/profile",
            data={"organisation_id": str(world.org_a), "employees": "12", "small_firm": "1"},
        )
        assert profile.status_code == 303
        assert "股权关联" in op.get("/supply/firms").text
    row = db.get(SupplyProfile, world.org_a)
    assert row is not None and row.employees == 12 and row.small_firm
    assert apply(db, supply.buyer, corpus.id, world.org_b).working["refused"] == "related"
    relation = db.scalars(select(OrganisationRelation)).one()
    with signed_in(live, world, "supplier_a") as client:
        assert client.get("/supply/firms").status_code == 403
        gone = client.post(f"/supply/firms/relations/{relation.id}/delete")
        assert gone.status_code == 403
