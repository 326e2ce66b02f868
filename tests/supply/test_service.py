"""The supply rules against a database: offers, the application flow, the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.core.money import to_fen
from mosu.registry.ai_models import create_model
from mosu.registry.models import Modality
from mosu.registry.schemas import ModelIn
from mosu.supply import applications, decisions, ledger, offers, programmes
from mosu.supply.models import (
    ApplicationStatus,
    LedgerEntry,
    LedgerIsAppendOnly,
    RelationKind,
    VoucherKind,
)
from mosu.supply.schemas import (
    ClaimIn,
    ModelServiceIn,
    ModelServicePatch,
    PayoutIn,
    PoolIn,
    ProfileIn,
    RelationIn,
    ReviewIn,
)
from tests.helpers.supply import Supply, apply, approve, make_programme

D = dt.date


def test_full_flow_with_a_reduction_and_a_partial_payout(supply: Supply) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world, kind=VoucherKind.model, budget="100000")
    application = apply(db, supply.buyer, programme.id, world.org_b, contract_amount="30000")
    assert application.requested_fen == to_fen("15000")
    assert application.status is ApplicationStatus.submitted
    with pytest.raises(Invalid, match="核减须写明理由"):
        approve(db, world, application.id, amount="12000")
    db.rollback()
    approve(db, world, application.id, amount="12000", reason="合同含非模型服务部分")
    db.refresh(programme)
    assert programme.committed_fen == to_fen("12000")
    decisions.claim(
        db,
        actor=supply.buyer,
        application_id=application.id,
        data=ClaimIn(delivered_on=D(2025, 7, 1), note="已交付"),
        today=D(2025, 7, 2),
    )
    db.commit()
    decisions.payout(
        db,
        actor=supply.operator,
        application_id=application.id,
        data=PayoutIn(amount=Decimal("11000.50"), paid_on=D(2025, 8, 15), reference="付-001"),
    )
    db.commit()
    db.refresh(programme)
    assert programme.committed_fen == to_fen("11000.50")
    kinds = [(e.kind.value, e.amount_fen) for e in db.scalars(select(LedgerEntry))]
    assert kinds == [("commit", 1_200_000), ("payout", 1_100_050), ("release", 99_950)]
    assert ledger.ledger_problems(db) == []


def test_state_machine_refuses_out_of_order_steps(supply: Supply) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    application = apply(db, supply.buyer, programme.id, world.org_b)
    with pytest.raises(Conflict):
        decisions.claim(
            db,
            actor=supply.buyer,
            application_id=application.id,
            data=ClaimIn(delivered_on=D(2025, 7, 1)),
            today=D(2025, 7, 2),
        )
    db.rollback()
    approve(db, world, application.id)
    with pytest.raises(Conflict):
        approve(db, world, application.id)
    db.rollback()
    with pytest.raises(Conflict):
        decisions.payout(
            db,
            actor=supply.operator,
            application_id=application.id,
            data=PayoutIn(paid_on=D(2025, 8, 1)),
        )
    db.rollback()
    with pytest.raises(Invalid, match="交付日期"):
        decisions.claim(
            db,
            actor=supply.buyer,
            application_id=application.id,
            data=ClaimIn(delivered_on=D(2025, 2, 1)),
            today=D(2025, 7, 2),
        )


def test_the_same_contract_cannot_stand_twice_in_a_programme(supply: Supply) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    other = make_programme(db, world)
    first = apply(db, supply.buyer, programme.id, world.org_b, contract_number="HT-2025 001")
    with pytest.raises(Conflict) as caught:
        apply(db, supply.buyer, programme.id, world.org_b, contract_number="ht－2025001")
    assert caught.value.code == "supply.duplicate_contract"
    assert caught.value.details["application_id"] == first.id
    db.rollback()
    apply(db, supply.buyer, other.id, world.org_b, contract_number="HT-2025 001")
    decisions.review(
        db,
        actor=supply.operator,
        application_id=first.id,
        data=ReviewIn(decision="reject", reason="附件不全"),
    )
    db.commit()
    again = apply(db, supply.buyer, programme.id, world.org_b, contract_number="HT-2025 001")
    assert again.id != first.id


def test_rejection_needs_a_reason(supply: Supply) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    application = apply(db, supply.buyer, programme.id, world.org_b)
    with pytest.raises(Invalid):
        decisions.review(
            db,
            actor=supply.operator,
            application_id=application.id,
            data=ReviewIn(decision="reject"),
        )


def test_approval_recomputes_with_what_was_used_since(supply: Supply) -> None:
    """Two applications each within the org-year cap on their own; the second is capped at
    approval by what the first was approved for."""
    db, world = supply.db, supply.world
    from mosu.supply.rules import Rules

    rules = Rules(share=Decimal("0.5"), cap_per_org_year=Decimal("15000"))
    programme = make_programme(db, world, rules=rules, ends_on=D(2026, 12, 31))
    a = apply(db, supply.buyer, programme.id, world.org_b, contract_amount="20000")
    b = apply(db, supply.buyer, programme.id, world.org_b, contract_amount="20000")
    assert a.requested_fen == b.requested_fen == to_fen("10000")
    approve(db, world, a.id)
    done = approve(db, world, b.id)
    assert done.approved_fen == to_fen("5000")
    assert (
        done.decision_working is not None and done.decision_working["capped_by"] == "cap_org_year"
    )
    next_year = apply(
        db,
        supply.buyer,
        programme.id,
        world.org_b,
        signed_on="2025-12-31",
        service_starts_on="2026-01-01",
        service_ends_on="2026-03-31",
    )
    assert next_year.requested_fen == 0  # signed in 2025: the 2025 cap is spent


def test_budget_runs_out_exactly(supply: Supply) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world, budget="25000")
    ids = [apply(db, supply.buyer, programme.id, world.org_b).id for _ in range(3)]
    approve(db, world, ids[0])
    approve(db, world, ids[1])
    last = approve(db, world, ids[2])  # 5,000 left of a 10,000 subsidy
    assert last.approved_fen == to_fen("5000")
    assert last.decision_working is not None and last.decision_working["capped_by"] == "budget"
    more = apply(db, supply.buyer, programme.id, world.org_b)
    with pytest.raises(Conflict) as caught:
        approve(db, world, more.id)
    assert caught.value.code == "supply.over_budget"
    db.rollback()
    db.refresh(programme)
    assert programme.committed_fen == programme.budget_fen
    assert db.get(type(more), more.id).status is ApplicationStatus.submitted  # type: ignore[union-attr]


def test_related_parties_and_boost_come_from_firm_facts(supply: Supply) -> None:
    db, world = supply.db, supply.world
    corpus = make_programme(db, world, kind=VoucherKind.corpus)
    compute = make_programme(db, world, kind=VoucherKind.compute, ends_on=D(2026, 12, 31))
    programmes.add_relation(
        db,
        actor=supply.operator,
        data=RelationIn(
            organisation_id=world.org_b,
            related_organisation_id=world.org_a,
            kind=RelationKind.group,
        ),
    )
    db.commit()
    related = apply(db, supply.buyer, corpus.id, world.org_b)
    assert related.requested_fen == 0 and related.working["refused"] == "related"
    with pytest.raises(Invalid, match="不符合条件"):
        approve(db, world, related.id)
    db.rollback()
    plain = apply(db, supply.buyer, compute.id, world.org_b, contract_amount="10000")
    assert plain.requested_fen == to_fen("3000")
    programmes.set_profile(
        db,
        actor=supply.operator,
        organisation_id=world.org_a,
        data=ProfileIn(founded_on=D(2024, 1, 1), employees=40),
    )
    db.commit()
    first = apply(
        db,
        supply.buyer,
        compute.id,
        world.org_b,
        contract_amount="10000",
        service_starts_on="2025-02-01",
        service_ends_on="2025-03-31",
    )
    assert first.requested_fen == to_fen("10000") and first.boosted
    late = apply(
        db,
        supply.buyer,
        compute.id,
        world.org_b,
        contract_amount="10000",
        signed_on="2025-12-01",
        service_starts_on="2026-02-01",
        service_ends_on="2026-02-28",
    )
    assert late.requested_fen == to_fen("3000")  # the year from 2025-02-01 is over
    assert "boost_expired" in [s["rule"] for s in late.working["steps"]]
    with pytest.raises(Forbidden):
        programmes.set_profile(
            db, actor=supply.buyer, organisation_id=world.org_a, data=ProfileIn()
        )


def test_ledger_lines_are_never_changed_or_deleted(supply: Supply) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    approve(db, world, apply(db, supply.buyer, programme.id, world.org_b).id)
    entry = db.scalars(select(LedgerEntry)).one()
    entry.amount_fen = 1
    with pytest.raises(LedgerIsAppendOnly):
        db.flush()
    db.rollback()
    db.delete(db.scalars(select(LedgerEntry)).one())
    with pytest.raises(LedgerIsAppendOnly):
        db.flush()


def test_each_organisation_sees_its_own_applications(supply: Supply) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    mine = apply(db, supply.buyer, programme.id, world.org_b)
    theirs = apply(db, supply.seller, programme.id, world.org_a)
    assert [a.id for a in applications.list_applications(db, actor=supply.buyer)] == [mine.id]
    assert [a.id for a in applications.list_applications(db, actor=supply.seller)] == [theirs.id]
    assert len(applications.list_applications(db, actor=supply.operator)) == 2
    with pytest.raises(NotFound):
        applications.get_application(db, actor=supply.buyer, application_id=theirs.id)


def test_budget_cannot_drop_below_what_is_committed(supply: Supply) -> None:
    from mosu.supply.schemas import ProgrammePatch

    db, world = supply.db, supply.world
    programme = make_programme(db, world, budget="50000")
    approve(db, world, apply(db, supply.buyer, programme.id, world.org_b).id)
    with pytest.raises(Conflict):
        programmes.update_programme(
            db,
            actor=supply.operator,
            programme_id=programme.id,
            data=ProgrammePatch(budget=Decimal("9999.99")),
        )
    db.rollback()
    programmes.update_programme(
        db,
        actor=supply.operator,
        programme_id=programme.id,
        data=ProgrammePatch(budget=Decimal("10000")),
    )
    db.commit()
    assert programme.budget_fen == to_fen("10000")


# ---------------------------------------------------------------- offers and compute usage


def test_suppliers_manage_their_own_offers(supply: Supply) -> None:
    db, world = supply.db, supply.world
    data = PoolIn(
        name="甲算力池",
        accelerator="昇腾 910B",
        card_count=64,
        price=Decimal("12.50"),
        available_from=D(2025, 1, 1),
    )
    pool = offers.create_pool(db, actor=supply.buyer, data=data)
    assert pool.organisation_id == world.org_a and pool.price_fen == 1250
    with pytest.raises(Forbidden):
        offers.create_pool(
            db, actor=supply.buyer, data=data.model_copy(update={"organisation_id": world.org_b})
        )
    from mosu.supply.schemas import PoolPatch

    with pytest.raises(Forbidden):
        offers.update_pool(db, actor=supply.seller, pool_id=pool.id, data=PoolPatch(card_count=1))
    model = create_model(
        db,
        actor=supply.operator,
        data=ModelIn(organisation_id=world.org_b, name="乙模型", modality=Modality.text),
    )
    with pytest.raises(Invalid, match="本组织登记的模型"):
        offers.create_model_service(
            db,
            actor=supply.buyer,
            data=ModelServiceIn(
                model_id=model.id, mode="api", price=Decimal("8"), price_unit="million_tokens"
            ),
        )


def test_an_api_model_service_keeps_its_token_prices_in_fen(supply: Supply) -> None:
    db = supply.db
    model = create_model(
        db,
        actor=supply.operator,
        data=ModelIn(organisation_id=supply.world.org_b, name="乙模型", modality=Modality.text),
    )
    offer = offers.create_model_service(
        db,
        actor=supply.seller,
        data=ModelServiceIn(
            model_id=model.id,
            mode="api",
            price=Decimal("8"),
            price_unit="million_tokens",
            input_price=Decimal("4"),
            output_price=Decimal("12.5"),
        ),
    )
    assert (offer.input_price_fen, offer.output_price_fen) == (400, 1250)
    out = offers.model_service_out(offer)
    assert (out.input_price, out.output_price) == (Decimal("4.00"), Decimal("12.50"))
    offers.update_model_service(
        db,
        actor=supply.seller,
        offer_id=offer.id,
        data=ModelServicePatch(output_price=Decimal("10")),
    )
    assert (offer.input_price_fen, offer.output_price_fen) == (400, 1000)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        ModelServiceIn(
            model_id=model.id, mode="api", price=Decimal("8"), price_unit="million_tokens",
            input_price=Decimal("-1"),
        )  # fmt: skip


def test_compute_usage_is_priced_to_the_fen_against_a_reference(supply: Supply) -> None:
    db = supply.db
    pool = offers.create_pool(
        db,
        actor=supply.buyer,
        data=PoolIn(
            name="评测池",
            accelerator="H800",
            card_count=8,
            price=Decimal("10.01"),
            available_from=D(2025, 1, 1),
            available_until=D(2025, 12, 31),
        ),
    )
    usage = offers.record_compute_usage(
        db,
        pool_id=pool.id,
        card_hours="0.5",
        reference_kind="race_stage",
        reference_id=7,
        actor=supply.operator,
        used_on=D(2025, 6, 1),
    )
    assert usage.card_seconds == 1800 and usage.cost_fen == 501  # 500.5 fen, half up
    assert (usage.reference_kind, usage.reference_id) == ("race_stage", "7")
    found = offers.usage_for(db, reference_kind="race_stage", reference_id=7)
    assert [u.id for u in found] == [usage.id]
    assert offers.usage_for(db, reference_kind="race_stage", reference_id=8) == []
    with pytest.raises(Invalid, match="不可用"):
        offers.record_compute_usage(
            db,
            pool_id=pool.id,
            card_hours=1,
            reference_kind="race_stage",
            reference_id=7,
            actor=supply.operator,
            used_on=D(2026, 1, 1),
        )
    with pytest.raises(Invalid, match="精确到秒"):
        offers.record_compute_usage(
            db,
            pool_id=pool.id,
            card_hours="0.0001",
            reference_kind="race_stage",
            reference_id=7,
            actor=supply.operator,
            used_on=D(2025, 6, 1),
        )
    with pytest.raises(Forbidden):
        offers.record_compute_usage(
            db,
            pool_id=pool.id,
            card_hours=1,
            reference_kind="x",
            reference_id=1,
            actor=supply.seller,
            used_on=D(2025, 6, 1),
        )
