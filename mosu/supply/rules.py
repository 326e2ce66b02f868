"""Voucher rules as data, and the subsidy they give a contract, with the working shown.

A programme's rules are a :class:`Rules` value (stored as JSON with the programme). The
subsidy is :func:`compute_subsidy`, a pure function of the rules, the programme's period,
the contract, the buying firm and what it and the programme have already used. Each step
is recorded in a :class:`Working`, and the rule that bound last is named, so an applicant
and an operator see why the amount is what it is.

Amounts are whole fen. A share of an amount is rounded down to the fen: a subsidy never
exceeds the share the rules allow.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from mosu.core.money import floor_fen, to_fen
from mosu.core.text import Text
from mosu.i18n import N_
from mosu.supply.errors import SERVICE_OUTSIDE_PERIOD, SIGNED_OUTSIDE_PERIOD

StepRule = Literal[
    "period",
    "amount",
    "service_period",
    "related",
    "share",
    "boost",
    "boost_not_eligible",
    "boost_expired",
    "cap_contract",
    "cap_org_year",
    "budget",
]


class Boost(BaseModel):
    """The higher share for early-stage and small firms (初创/小微企业), for a limited time.

    A firm qualifies when it was founded less than ``max_age_years`` before the contract's
    service starts, or has at most ``max_employees`` staff, or is a certified small firm
    (when ``small_firm`` is true). The boost covers the contract's days within ``months``
    months from the start of the firm's first boosted contract in the programme; the
    other days get the ordinary share.
    """

    share: Decimal = Field(gt=0, le=1)
    months: int = Field(default=12, ge=1, le=120)
    max_age_years: int | None = Field(default=None, ge=1, le=50)
    max_employees: int | None = Field(default=None, ge=1)
    small_firm: bool = True


class Rules(BaseModel):
    """A programme's rules: share, caps (yuan), boost, and whether parties must be unrelated."""

    share: Decimal = Field(gt=0, le=1)
    cap_per_contract: Decimal | None = Field(default=None, gt=0, decimal_places=2)
    cap_per_org_year: Decimal | None = Field(default=None, gt=0, decimal_places=2)
    boost: Boost | None = None
    unrelated_parties: bool = True

    @model_validator(mode="after")
    def _boost_above_share(self) -> Rules:
        if self.boost is not None and self.boost.share <= self.share:
            raise ValueError(N_("扶持比例须高于基础比例"))
        return self


@dataclass(frozen=True)
class Contract:
    """The contract applied against: its amount, dates, and whether the parties are related."""

    amount_fen: int
    signed_on: dt.date
    starts_on: dt.date
    ends_on: dt.date
    related: bool = False


@dataclass(frozen=True)
class Firm:
    """The buying firm, as the rules see it."""

    founded_on: dt.date | None = None
    employees: int | None = None
    small_firm: bool = False


@dataclass(frozen=True)
class Standing:
    """What is already used: by this firm in the contract's year, and of the budget."""

    org_year_used_fen: int = 0
    budget_remaining_fen: int = 0
    boost_started_on: dt.date | None = None


@dataclass(frozen=True)
class Step:
    """One line of the working: the rule, the amount after it, and the figures it used."""

    rule: StepRule
    amount_fen: int
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Working:
    """The subsidy and how it was reached. ``capped_by`` names the last rule that lowered
    it below the share; ``refused`` names the rule that made the contract ineligible."""

    amount_fen: int
    steps: tuple[Step, ...]
    capped_by: StepRule | None = None
    refused: StepRule | None = None
    boosted: bool = False

    @property
    def eligible(self) -> bool:
        return self.refused is None

    def as_json(self) -> dict[str, Any]:
        return {
            "amount_fen": self.amount_fen,
            "capped_by": self.capped_by,
            "refused": self.refused,
            "boosted": self.boosted,
            "steps": [asdict(s) for s in self.steps],
        }


#: The rules' own names of the caps a working's ``capped_by`` may name.
CAP_NAMES: dict[StepRule, str] = {
    "cap_contract": "cap_per_contract",
    "cap_org_year": "cap_per_org_year",
    "budget": "budget",
}
_CAP_WORDS: dict[StepRule, str] = {
    "cap_contract": N_("单个合同上限（cap_per_contract）"),
    "cap_org_year": N_("单个组织年度上限（cap_per_org_year）"),
    "budget": N_("项目剩余预算（budget）"),
}


def cap_words(rule: StepRule) -> Text:
    """A cap that bound, naming its rule (``cap_per_contract``, ``cap_per_org_year`` or
    ``budget``)."""
    return Text(_CAP_WORDS[rule])


def refusal_reason(working: Working) -> Text | None:
    """Why a working gives nothing, with the figures that decided it (``None``: it gives
    something)."""
    step = working.steps[-1] if working.steps else None
    f = step.figures if step is not None else {}
    if working.refused == "period":
        return SIGNED_OUTSIDE_PERIOD.text(**f)
    if working.refused == "service_period":
        return SERVICE_OUTSIDE_PERIOD.text(**f)
    if working.refused == "amount":
        return Text(N_("合同金额须大于 0，服务期须有效"))
    if working.refused == "related":
        return Text(N_("买卖双方为关联方，不予补贴"))
    if working.capped_by is not None and working.amount_fen == 0:
        return Text(N_("{cap}已无余额"), {"cap": cap_words(working.capped_by)})
    return None


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` calendar months on (the 31st becomes the month's last day)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def boost_eligible(boost: Boost, firm: Firm, on: dt.date) -> bool:
    """Whether ``firm`` is early-stage or small on ``on`` under ``boost``'s thresholds."""
    early = (
        boost.max_age_years is not None
        and firm.founded_on is not None
        and on < add_months(firm.founded_on, 12 * boost.max_age_years)
    )
    small = (boost.small_firm and firm.small_firm) or (
        boost.max_employees is not None
        and firm.employees is not None
        and firm.employees <= boost.max_employees
    )
    return early or small


def _days(start: dt.date, end: dt.date) -> int:
    """Days from ``start`` to ``end``, both included (0 when ``end`` is before ``start``)."""
    return max(0, (end - start).days + 1)


def _refuse(steps: list[Step], rule: StepRule, **figures: Any) -> Working:
    steps.append(Step(rule, 0, figures))
    return Working(amount_fen=0, steps=tuple(steps), refused=rule)


def compute_subsidy(
    rules: Rules,
    *,
    period: tuple[dt.date, dt.date],
    contract: Contract,
    firm: Firm,
    standing: Standing,
) -> Working:
    """The subsidy ``rules`` give ``contract``, step by step.

    In order: the contract must be signed within the programme's ``period``, have a
    positive amount and a service period that ends after it starts and lies within the
    programme's period, and (when the rules say so) be between unrelated parties; then the share (raised by the boost for the
    days it covers), and the caps per contract, per organisation and year, and the
    programme's remaining budget, each lowering the amount when it binds.
    """
    steps: list[Step] = []
    refused = _refusal(rules, period, contract)
    if refused is not None:
        rule, figures = refused
        return _refuse(steps, rule, **figures)
    share = Fraction(rules.share)
    amount: int = floor_fen(contract.amount_fen * share)
    steps.append(
        Step("share", amount, {"share": str(rules.share), "contract_fen": contract.amount_fen})
    )
    boosted = False
    if rules.boost is not None:
        step = _boost(rules.boost, share, contract, firm, standing, amount)
        boosted = step.rule == "boost"
        amount = step.amount_fen
        steps.append(step)
    capped_by: StepRule | None = None
    for rule, limit, figures in _caps(rules, contract, standing):
        if limit is not None and limit < amount:
            amount = limit
            capped_by = rule
            steps.append(Step(rule, amount, {"limit_fen": limit, **figures}))
    return Working(amount_fen=amount, steps=tuple(steps), capped_by=capped_by, boosted=boosted)


def _refusal(
    rules: Rules, period: tuple[dt.date, dt.date], contract: Contract
) -> tuple[StepRule, dict[str, Any]] | None:
    """The first rule the contract fails before any share is computed, with its figures."""
    starts, ends = period
    if not starts <= contract.signed_on <= ends:
        return "period", {
            "signed_on": contract.signed_on.isoformat(),
            "starts_on": starts.isoformat(),
            "ends_on": ends.isoformat(),
        }
    if contract.amount_fen <= 0 or contract.ends_on < contract.starts_on:
        return "amount", {"contract_fen": contract.amount_fen}
    if not (starts <= contract.starts_on and contract.ends_on <= ends):
        return "service_period", {
            "service_starts_on": contract.starts_on.isoformat(),
            "service_ends_on": contract.ends_on.isoformat(),
            "starts_on": starts.isoformat(),
            "ends_on": ends.isoformat(),
        }
    if rules.unrelated_parties and contract.related:
        return "related", {}
    return None


def _boost(
    boost: Boost, share: Fraction, contract: Contract, firm: Firm, standing: Standing, amount: int
) -> Step:
    """The boost's step: not eligible, expired, or the share blended over the days it covers."""
    if not boost_eligible(boost, firm, contract.starts_on):
        return Step("boost_not_eligible", amount)
    window_start = min(standing.boost_started_on or contract.starts_on, contract.starts_on)
    window_end = add_months(window_start, boost.months) - dt.timedelta(days=1)
    total = _days(contract.starts_on, contract.ends_on)
    covered = _days(max(contract.starts_on, window_start), min(contract.ends_on, window_end))
    figures = {
        "boost_share": str(boost.share),
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "boosted_days": covered,
        "days": total,
    }
    if covered == 0:
        return Step("boost_expired", amount, figures)
    blended = share + (Fraction(boost.share) - share) * Fraction(covered, total)
    return Step("boost", floor_fen(contract.amount_fen * blended), figures)


def _caps(
    rules: Rules, contract: Contract, standing: Standing
) -> list[tuple[StepRule, int | None, dict[str, Any]]]:
    """Each cap in the order it applies, with the most it allows (``None``: no such cap)."""
    return [
        (
            "cap_contract",
            to_fen(rules.cap_per_contract) if rules.cap_per_contract is not None else None,
            {},
        ),
        (
            "cap_org_year",
            max(0, to_fen(rules.cap_per_org_year) - standing.org_year_used_fen)
            if rules.cap_per_org_year is not None
            else None,
            {
                "year": contract.signed_on.year,
                "used_fen": standing.org_year_used_fen,
                "cap_fen": to_fen(rules.cap_per_org_year) if rules.cap_per_org_year else None,
            },
        ),
        ("budget", max(0, standing.budget_remaining_fen), {}),
    ]
