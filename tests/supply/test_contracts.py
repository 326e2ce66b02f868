"""Voucher contracts: one contract however its number is written, a service period within the
programme (at apply, over HTTP, and at approval), and refusals that name the cap that bound."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.core.errors import Conflict, Invalid
from mosu.core.money import to_fen
from mosu.supply import applications, programmes
from mosu.supply.rules import Rules
from mosu.supply.schemas import ProgrammePatch
from tests.conftest import LiveServer, World, client_for
from tests.helpers.supply import Supply, application_data, apply, approve, make_programme

ZWSP = "\u200b"


@pytest.mark.parametrize(
    "number",
    [
        "SH-2025-777",
        "SH2025777",
        "SH/2025/777",
        "sh–2025–777",  # en dashes
        "ＳＨ－２０２５　７７７",  # full width, ideographic space
        "SH-2025 7" + ZWSP + "77",  # a zero-width space inside
        "\ufeffSH 2025 777\u2060",  # BOM and word joiner (format characters)
    ],
)
def test_contract_numbers_normalise_to_one(number: str) -> None:
    assert applications.normalise_contract_number(number) == "sh2025777"
    assert applications.contract_key(7, number) == "7:sh2025777"


def test_numbers_that_differ_stay_apart() -> None:
    assert applications.normalise_contract_number("SH-2025-778") != "sh2025777"
    assert applications.normalise_contract_number("SH.2025.777") == "sh.2025.777"


def test_the_same_contract_written_otherwise_is_refused(supply: Supply) -> None:
    """The reported case: `SH-2025 777`, then the same text with a zero-width space; and the
    other spellings of it."""
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    first = apply(db, supply.buyer, programme.id, world.org_b, contract_number="SH-2025 777")
    for number in ("SH-2025 7" + ZWSP + "77", "SH-2025-777", "SH2025777", "SH/2025/777"):
        with pytest.raises(Conflict) as caught:
            apply(db, supply.buyer, programme.id, world.org_b, contract_number=number)
        db.rollback()
        assert caught.value.code == "supply.duplicate_contract"
        assert caught.value.details["application_id"] == first.id  # type: ignore[index]
    with pytest.raises(Invalid) as empty:
        apply(db, supply.buyer, programme.id, world.org_b, contract_number=" -/" + ZWSP)
    assert empty.value.code == "supply.contract_number_empty"


def test_service_outside_the_programme_is_refused_at_apply_over_http(
    live: LiveServer, world: World, db: Session
) -> None:
    programme = make_programme(db, world)
    with client_for(live, world, "supplier_a") as buyer:
        for starts, ends in (("2020-01-01", "2020-12-31"), ("2030-01-01", "2030-12-31")):
            body = application_data(
                programme.id,
                world.org_b,
                organisation_id=world.org_a,
                signed_on="2025-03-01",
                service_starts_on=starts,
                service_ends_on=ends,
            )
            answer = buyer.post("/supply/applications", json=body)
            assert answer.status_code == 422, answer.text
            error = answer.json()["error"]
            assert error["code"] == "supply.service_outside_period"
            period = "2025-01-01 至 2025-12-31"
            assert error["message"] == f"服务期 {starts} 至 {ends} 不在项目期 {period} 内"
            english = buyer.post(
                "/supply/applications", json=body, headers={"Accept-Language": "en"}
            ).json()["error"]
            assert "does not lie within the programme's period" in english["message"]
        listed = buyer.get("/supply/applications").json()
        assert listed == []


def test_approval_checks_the_service_period_again(supply: Supply) -> None:
    """The operator shortened the programme after the application: approval is refused with
    the reason, and nothing is committed."""
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    late = apply(
        db,
        supply.buyer,
        programme.id,
        world.org_b,
        service_starts_on="2025-09-01",
        service_ends_on="2025-11-30",
    )
    programmes.update_programme(
        db,
        actor=supply.operator,
        programme_id=programme.id,
        data=ProgrammePatch(ends_on=dt.date(2025, 10, 31)),
    )
    db.commit()
    with pytest.raises(Invalid) as caught:
        approve(db, world, late.id)
    db.rollback()
    assert "service_period" in caught.value.message
    assert "服务期 2025-09-01 至 2025-11-30 不在项目期 2025-01-01 至 2025-10-31 内" in (
        caught.value.message
    )
    db.refresh(programme)
    assert programme.committed_fen == 0


def test_refusals_name_the_cap_that_bound(supply: Supply) -> None:
    db, world = supply.db, supply.world
    # the cap per contract: 50% of 20,000 is 10,000, capped at 6,000
    rules = Rules(share=Decimal("0.5"), cap_per_contract=Decimal("6000"))
    programme = make_programme(db, world, rules=rules)
    capped = apply(db, supply.buyer, programme.id, world.org_b)
    assert capped.requested_fen == to_fen("6000")
    with pytest.raises(Invalid) as caught:
        approve(db, world, capped.id, amount="8000")
    db.rollback()
    assert "cap_per_contract" in caught.value.message
    assert "单个合同上限" in caught.value.message
    assert "the cap per contract" in i18n.render(caught.value.text, "en")
    assert caught.value.details["cap"] == "cap_per_contract"  # type: ignore[index]

    # the cap per organisation and year, used up by the first approval
    rules = Rules(share=Decimal("0.5"), cap_per_org_year=Decimal("10000"))
    yearly = make_programme(db, world, rules=rules)
    a = apply(db, supply.buyer, yearly.id, world.org_b)
    b = apply(db, supply.buyer, yearly.id, world.org_b)
    approve(db, world, a.id)
    with pytest.raises(Invalid) as caught:
        approve(db, world, b.id)
    db.rollback()
    assert "cap_per_org_year" in caught.value.message
    assert "the cap per organisation and year (cap_per_org_year) leaves nothing" in (
        i18n.render(caught.value.text, "en")
    )

    # the budget
    small = make_programme(db, world, budget="10000")
    c = apply(db, supply.buyer, small.id, world.org_b)
    d = apply(db, supply.buyer, small.id, world.org_b)
    approve(db, world, c.id)
    with pytest.raises(Conflict) as caught_budget:
        approve(db, world, d.id)
    db.rollback()
    assert caught_budget.value.code == "supply.over_budget"
    assert "(budget)" in i18n.render(caught_budget.value.text, "en")
    assert caught_budget.value.details["cap"] == "budget"  # type: ignore[index]
