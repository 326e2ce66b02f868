"""The subsidy rules (pure): each rule at its edge, checked against hand calculations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from mosu import i18n
from mosu.core.money import MoneyError, fmt_yuan, to_fen, to_yuan, whole_fen, whole_yuan
from mosu.supply.rules import (
    Boost,
    Contract,
    Firm,
    Rules,
    Standing,
    add_months,
    boost_eligible,
    compute_subsidy,
    refusal_reason,
)

D = dt.date
YEAR_2025 = (D(2025, 1, 1), D(2025, 12, 31))
PLENTY = Standing(budget_remaining_fen=10**15)
COMPUTE = Rules(
    share=Decimal("0.30"),
    boost=Boost(share=Decimal("1.00"), months=12, max_age_years=3, max_employees=100),
)
MODEL = Rules(share=Decimal("0.50"), cap_per_contract=Decimal("5000000"))
CORPUS = Rules(share=Decimal("0.30"), unrelated_parties=True)


def contract(
    yuan: str = "100000",
    *,
    signed: dt.date = D(2025, 3, 1),
    starts: dt.date = D(2025, 3, 1),
    ends: dt.date = D(2025, 12, 31),
    related: bool = False,
) -> Contract:
    return Contract(to_fen(yuan), signed, starts, ends, related)


def subsidy(  # type: ignore[no-untyped-def]
    rules: Rules,
    c: Contract,
    firm: Firm = Firm(),
    standing: Standing = PLENTY,
    period: tuple[dt.date, dt.date] = YEAR_2025,
):
    return compute_subsidy(rules, period=period, contract=c, firm=firm, standing=standing)


# ---------------------------------------------------------------- money


def test_money_is_exact_fen() -> None:
    assert to_fen("1,234.56") == 123456
    assert to_fen(Decimal("0.01")) == 1
    assert to_fen(5_000_000) == 500_000_000
    assert to_yuan(123456) == Decimal("1234.56")
    assert str(to_yuan(100)) == "1.00"
    assert fmt_yuan(123456789) == "1,234,567.89"
    assert fmt_yuan(80_000_000, cents=False) == "800,000"  # budgets and bounties
    assert fmt_yuan(123456, cents=False) == "1,234.56"
    assert whole_fen(800_000) == 80_000_000 and whole_yuan(80_000_099) == 800_000
    assert whole_fen(None) is None and whole_yuan(None) is None
    for bad in ("0.001", "abc", "NaN", "Infinity"):
        with pytest.raises(MoneyError):
            to_fen(bad)


# ---------------------------------------------------------------- share


def test_share_of_a_contract_is_rounded_down_to_the_fen() -> None:
    working = subsidy(CORPUS, contract("100000"))
    assert working.amount_fen == 3_000_000  # 30% of 100,000.00 yuan = 30,000.00 yuan
    assert working.capped_by is None and working.eligible
    odd = subsidy(CORPUS, contract("0.33"))  # 30% of 33 fen = 9.9 fen -> 9 fen
    assert odd.amount_fen == 9
    assert [s.rule for s in odd.steps] == ["share"]


def test_one_fen_contract_gives_nothing_but_is_eligible() -> None:
    working = subsidy(CORPUS, contract("0.01"))
    assert working.amount_fen == 0 and working.eligible


# ---------------------------------------------------------------- period and parties


@pytest.mark.parametrize(
    ("signed", "eligible"),
    [
        (D(2024, 12, 31), False),
        (D(2025, 1, 1), True),
        (D(2025, 12, 31), True),
        (D(2026, 1, 1), False),
    ],
)
def test_contract_must_be_signed_within_the_period(signed: dt.date, eligible: bool) -> None:
    working = subsidy(CORPUS, contract(signed=signed, starts=signed, ends=signed))
    assert working.eligible is eligible
    if not eligible:
        assert working.refused == "period" and working.amount_fen == 0


def test_related_parties_get_nothing_when_the_rule_says_so() -> None:
    refused = subsidy(CORPUS, contract(related=True))
    assert refused.refused == "related" and refused.amount_fen == 0
    lenient = Rules(share=Decimal("0.30"), unrelated_parties=False)
    assert subsidy(lenient, contract(related=True)).amount_fen == 3_000_000


@pytest.mark.parametrize(
    ("starts", "ends", "eligible"),
    [
        (D(2020, 3, 1), D(2020, 12, 31), False),  # entirely before the programme
        (D(2030, 1, 1), D(2030, 6, 30), False),  # entirely after it
        (D(2024, 12, 31), D(2025, 6, 30), False),  # starts the day before it
        (D(2025, 6, 1), D(2026, 1, 1), False),  # ends the day after it
        (D(2025, 1, 1), D(2025, 12, 31), True),  # exactly the programme's period
    ],
)
def test_service_period_must_lie_within_the_programme(
    starts: dt.date, ends: dt.date, eligible: bool
) -> None:
    working = subsidy(CORPUS, contract(signed=D(2025, 1, 1), starts=starts, ends=ends))
    assert working.eligible is eligible
    if not eligible:
        assert working.refused == "service_period" and working.amount_fen == 0
        assert working.steps[-1].figures == {
            "service_starts_on": starts.isoformat(),
            "service_ends_on": ends.isoformat(),
            "starts_on": "2025-01-01",
            "ends_on": "2025-12-31",
        }
        reason = refusal_reason(working)
        assert reason is not None
        assert f"服务期 {starts.isoformat()} 至 {ends.isoformat()} 不在项目期" in str(reason)
        english = i18n.render(reason, "en")
        assert "does not lie within the programme's period 2025-01-01 to 2025-12-31" in english
    else:
        assert working.amount_fen == to_fen("30000")


def test_service_ending_before_it_starts_is_refused() -> None:
    working = subsidy(CORPUS, contract(starts=D(2025, 5, 1), ends=D(2025, 4, 30)))
    assert working.refused == "amount"


# ---------------------------------------------------------------- cap per contract


@pytest.mark.parametrize(
    ("contract_yuan", "expected_yuan", "capped"),
    [
        ("9999999.98", "4999999.99", None),
        ("10000000.00", "5000000.00", None),  # exactly at the cap: not capped
        ("10000000.02", "5000000.00", "cap_contract"),
        ("30000000", "5000000.00", "cap_contract"),
    ],
)
def test_model_voucher_cap_per_contract(
    contract_yuan: str, expected_yuan: str, capped: str | None
) -> None:
    working = subsidy(MODEL, contract(contract_yuan))
    assert to_yuan(working.amount_fen) == Decimal(expected_yuan)
    assert working.capped_by == capped


# ---------------------------------------------------------------- cap per organisation and year


def test_cap_per_organisation_and_year_counts_what_is_used() -> None:
    rules = Rules(share=Decimal("0.5"), cap_per_org_year=Decimal("1000000"))
    fresh = subsidy(rules, contract("400000"))
    assert fresh.amount_fen == to_fen("200000") and fresh.capped_by is None
    used = Standing(org_year_used_fen=to_fen("900000"), budget_remaining_fen=10**15)
    capped = subsidy(rules, contract("400000"), standing=used)
    assert capped.amount_fen == to_fen("100000") and capped.capped_by == "cap_org_year"
    step = capped.steps[-1]
    assert step.figures["used_fen"] == to_fen("900000") and step.figures["year"] == 2025
    exact = Standing(org_year_used_fen=to_fen("800000"), budget_remaining_fen=10**15)
    assert subsidy(rules, contract("400000"), standing=exact).capped_by is None
    spent = Standing(org_year_used_fen=to_fen("1000000"), budget_remaining_fen=10**15)
    assert subsidy(rules, contract("400000"), standing=spent).amount_fen == 0
    over = Standing(org_year_used_fen=to_fen("1200000"), budget_remaining_fen=10**15)
    assert subsidy(rules, contract("400000"), standing=over).amount_fen == 0


# ---------------------------------------------------------------- budget


def test_remaining_budget_caps_last() -> None:
    tight = Standing(budget_remaining_fen=to_fen("1000"))
    working = subsidy(MODEL, contract("30000000"), standing=tight)
    assert working.amount_fen == to_fen("1000")
    assert working.capped_by == "budget"
    assert [s.rule for s in working.steps] == ["share", "cap_contract", "budget"]
    assert subsidy(MODEL, contract("2000"), standing=tight).capped_by is None
    empty = Standing(budget_remaining_fen=0)
    assert subsidy(MODEL, contract("2000"), standing=empty).amount_fen == 0


# ---------------------------------------------------------------- boost for early-stage and small firms


def test_boost_eligibility_edges() -> None:
    boost = Boost(share=Decimal("1"), max_age_years=3, max_employees=100, small_firm=True)
    on = D(2025, 3, 1)
    assert boost_eligible(boost, Firm(founded_on=D(2022, 3, 2)), on)  # 2 years 364 days old
    assert not boost_eligible(boost, Firm(founded_on=D(2022, 3, 1)), on)  # exactly 3 years
    assert boost_eligible(boost, Firm(employees=100), on)
    assert not boost_eligible(boost, Firm(employees=101), on)
    assert boost_eligible(boost, Firm(employees=500, small_firm=True), on)
    assert not boost_eligible(boost, Firm(), on)
    strict = Boost(share=Decimal("1"), max_age_years=3, small_firm=False)
    assert not boost_eligible(strict, Firm(employees=5, small_firm=True), on)


def test_boost_gives_the_higher_share_for_a_contract_within_the_year() -> None:
    young = Firm(founded_on=D(2024, 6, 1))
    working = subsidy(COMPUTE, contract("120000", starts=D(2025, 3, 1), ends=D(2025, 8, 31)), young)
    assert working.boosted and working.amount_fen == to_fen("120000")  # 100%
    step = next(s for s in working.steps if s.rule == "boost")
    assert step.figures["boosted_days"] == step.figures["days"] == 184


def test_boost_covers_only_the_days_within_its_time_limit() -> None:
    """Service 2025-03-01 … 2026-02-28 (365 days), boost window from 2025-01-01 for 12
    months (to 2025-12-31): 306 days at 100%, 59 at 30%."""
    young = Firm(founded_on=D(2024, 6, 1))
    started = Standing(budget_remaining_fen=10**15, boost_started_on=D(2025, 1, 1))
    c = contract("365000", starts=D(2025, 3, 1), ends=D(2026, 2, 28))
    working = subsidy(COMPUTE, c, young, started, period=(D(2025, 1, 1), D(2026, 12, 31)))
    # 365,000 yuan * (0.3 + 0.7 * 306/365) = 109,500 + 214,200 = 323,700 yuan
    assert working.amount_fen == to_fen("323700")
    step = next(s for s in working.steps if s.rule == "boost")
    assert step.figures["boosted_days"] == 306 and step.figures["window_end"] == "2025-12-31"


def test_boost_expired_after_its_time_limit() -> None:
    young = Firm(founded_on=D(2024, 6, 1))
    started = Standing(budget_remaining_fen=10**15, boost_started_on=D(2024, 1, 1))
    working = subsidy(COMPUTE, contract("100000", starts=D(2025, 1, 1)), young, started)
    assert not working.boosted and working.amount_fen == to_fen("30000")
    assert "boost_expired" in [s.rule for s in working.steps]
    last_day = Standing(budget_remaining_fen=10**15, boost_started_on=D(2024, 1, 1))
    c = contract("100", signed=D(2025, 1, 1), starts=D(2024, 12, 31), ends=D(2024, 12, 31))
    period = (D(2024, 1, 1), D(2025, 12, 31))
    assert subsidy(COMPUTE, c, young, last_day, period=period).amount_fen == to_fen("100")


def test_no_boost_for_an_established_large_firm() -> None:
    old = Firm(founded_on=D(2010, 1, 1), employees=2000)
    working = subsidy(COMPUTE, contract("100000"), old)
    assert working.amount_fen == to_fen("30000") and not working.boosted
    assert [s.rule for s in working.steps] == ["share", "boost_not_eligible"]


def test_boost_then_caps_apply() -> None:
    rules = Rules(
        share=Decimal("0.3"),
        cap_per_contract=Decimal("50000"),
        boost=Boost(share=Decimal("1"), max_employees=50),
    )
    working = subsidy(rules, contract("80000"), Firm(employees=10))
    assert working.amount_fen == to_fen("50000") and working.capped_by == "cap_contract"
    assert working.boosted


# ---------------------------------------------------------------- rules as data


def test_rules_round_trip_as_json_and_refuse_nonsense() -> None:
    data = COMPUTE.model_dump(mode="json")
    assert data["share"] == "0.30" and data["boost"]["share"] == "1.00"
    assert Rules.model_validate(data) == COMPUTE
    with pytest.raises(ValidationError):
        Rules(share=Decimal("1.2"))
    with pytest.raises(ValidationError):
        Rules(share=Decimal("0.5"), boost=Boost(share=Decimal("0.4")))
    with pytest.raises(ValidationError):
        Rules(share=Decimal("0.5"), cap_per_contract=Decimal("0.001"))


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2024, 2, 29), 12) == D(2025, 2, 28)
    assert add_months(D(2025, 11, 15), 3) == D(2026, 2, 15)
