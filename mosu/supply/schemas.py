"""What goes in and out of the supply domain: offers, programmes, applications, reports.

Money crosses the API as yuan with two decimals (a JSON string such as ``"1234.50"`` or a
number); inside it is whole fen.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from mosu.i18n import N_
from mosu.registry.models import Tier
from mosu.supply.models import (
    ApplicationStatus,
    LedgerKind,
    RelationKind,
    ServiceMode,
    VoucherKind,
)
from mosu.supply.rules import Rules

Yuan = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
PositiveYuan = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
CorpusUnit = Literal["one_off", "year"]
ModelUnit = Literal["million_tokens", "month", "year", "one_off"]


def _strip(value: str) -> str:
    return value.strip()


# ---------------------------------------------------------------- offers


class PoolIn(BaseModel):
    """A compute pool: accelerator, cards, price per card-hour (yuan), availability."""

    organisation_id: int | None = None
    name: str = Field(min_length=1, max_length=200)
    accelerator: str = Field(min_length=1, max_length=100)
    card_count: int = Field(ge=1, le=1_000_000)
    price: PositiveYuan
    available_from: dt.date
    available_until: dt.date | None = None
    region: str = Field(default="", max_length=40)
    description: str = ""
    active: bool = True

    _s = field_validator("name", "accelerator", "region")(_strip)

    @model_validator(mode="after")
    def _window(self) -> PoolIn:
        if self.available_until is not None and self.available_until < self.available_from:
            raise ValueError(N_("可用结束日期早于开始日期"))
        return self


class PoolPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    accelerator: str | None = Field(default=None, min_length=1, max_length=100)
    card_count: int | None = Field(default=None, ge=1, le=1_000_000)
    price: PositiveYuan | None = None
    available_from: dt.date | None = None
    available_until: dt.date | None = None
    region: str | None = Field(default=None, max_length=40)
    description: str | None = None
    active: bool | None = None


class PoolOut(BaseModel):
    id: int
    organisation_id: int
    organisation_name: str
    name: str
    accelerator: str
    card_count: int
    price: Decimal
    available_from: dt.date
    available_until: dt.date | None
    region: str
    description: str
    active: bool


class CorpusOfferIn(BaseModel):
    """A catalogued data set for sale: price (yuan), per purchase or per year, licence terms."""

    organisation_id: int | None = None
    dataset_id: int
    price: PositiveYuan
    price_unit: CorpusUnit = "one_off"
    licence: str = Field(default="", max_length=200)
    description: str = ""
    active: bool = True

    _s = field_validator("licence")(_strip)


class CorpusOfferPatch(BaseModel):
    price: PositiveYuan | None = None
    price_unit: CorpusUnit | None = None
    licence: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    active: bool | None = None


class CorpusOfferOut(BaseModel):
    id: int
    organisation_id: int
    organisation_name: str
    dataset_id: int
    dataset_name: str
    price: Decimal
    price_unit: str
    licence: str
    description: str
    active: bool


class ModelServiceIn(BaseModel):
    """A registered model sold as an API (price per million tokens …) or a private deployment."""

    organisation_id: int | None = None
    model_id: int
    mode: ServiceMode
    price: PositiveYuan
    price_unit: ModelUnit
    input_price: Yuan | None = None  # yuan per million input tokens (an API's), for races
    output_price: Yuan | None = None  # yuan per million output tokens
    description: str = ""
    active: bool = True


class ModelServicePatch(BaseModel):
    mode: ServiceMode | None = None
    price: PositiveYuan | None = None
    price_unit: ModelUnit | None = None
    input_price: Yuan | None = None
    output_price: Yuan | None = None
    description: str | None = None
    active: bool | None = None


class ModelServiceOut(BaseModel):
    id: int
    organisation_id: int
    organisation_name: str
    model_id: int
    model_name: str
    mode: ServiceMode
    price: Decimal
    price_unit: str
    input_price: Decimal | None
    output_price: Decimal | None
    description: str
    active: bool


class UsageIn(BaseModel):
    """Card-hours drawn from a pool (to the second), against a generic reference."""

    card_hours: Annotated[Decimal, Field(gt=0, le=10_000_000)]
    reference_kind: str = Field(min_length=1, max_length=40)
    reference_id: str = Field(min_length=1, max_length=64)
    used_on: dt.date | None = None
    note: str = ""


class UsageOut(BaseModel):
    id: int
    pool_id: int | None
    pool_name: str
    card_hours: Decimal
    price: Decimal
    cost: Decimal
    reference_kind: str
    reference_id: str
    used_on: dt.date
    note: str


# ---------------------------------------------------------------- programmes


class ProgrammeIn(BaseModel):
    """A voucher programme: kind, budget (yuan), period, rules."""

    name: str = Field(min_length=1, max_length=200)
    kind: VoucherKind
    issuer: str = Field(default="", max_length=200)
    budget: PositiveYuan
    starts_on: dt.date
    ends_on: dt.date
    rules: Rules
    open: bool = True
    description: str = ""

    _s = field_validator("name", "issuer")(_strip)

    @model_validator(mode="after")
    def _period(self) -> ProgrammeIn:
        if self.ends_on < self.starts_on:
            raise ValueError(N_("结束日期早于开始日期"))
        return self


class ProgrammePatch(BaseModel):
    """Changes an operator may make; the budget may not fall below what is committed."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    issuer: str | None = Field(default=None, max_length=200)
    budget: PositiveYuan | None = None
    ends_on: dt.date | None = None
    rules: Rules | None = None
    open: bool | None = None
    description: str | None = None


class ProgrammeOut(BaseModel):
    id: int
    name: str
    kind: VoucherKind
    issuer: str
    budget: Decimal
    committed: Decimal
    paid: Decimal
    remaining: Decimal
    starts_on: dt.date
    ends_on: dt.date
    rules: Rules
    open: bool
    description: str


# ---------------------------------------------------------------- firms


class ProfileIn(BaseModel):
    """What the boost rule reads about a firm (kept by operators)."""

    founded_on: dt.date | None = None
    employees: int | None = Field(default=None, ge=0)
    small_firm: bool = False
    note: str = ""


class ProfileOut(ProfileIn):
    organisation_id: int


class RelationIn(BaseModel):
    organisation_id: int
    related_organisation_id: int
    kind: RelationKind
    note: str = ""

    @model_validator(mode="after")
    def _distinct(self) -> RelationIn:
        if self.organisation_id == self.related_organisation_id:
            raise ValueError(N_("关联方须为两个不同的组织"))
        return self


class RelationOut(BaseModel):
    id: int
    organisation_id: int
    organisation_name: str
    related_organisation_id: int
    related_organisation_name: str
    kind: RelationKind
    note: str


# ---------------------------------------------------------------- applications


class ApplicationIn(BaseModel):
    """An application against one contract; the applicant (buyer) is the actor's organisation
    unless an operator names one."""

    programme_id: int
    organisation_id: int | None = None
    seller_organisation_id: int
    offer_id: int | None = None
    contract_number: str = Field(min_length=1, max_length=100)
    contract_amount: PositiveYuan
    signed_on: dt.date
    service_starts_on: dt.date
    service_ends_on: dt.date
    description: str = ""

    _s = field_validator("contract_number")(_strip)

    @model_validator(mode="after")
    def _dates(self) -> ApplicationIn:
        if self.service_ends_on < self.service_starts_on:
            raise ValueError(N_("服务结束日期早于开始日期"))
        return self


class ReviewIn(BaseModel):
    """An operator's decision: approve (``amount`` below the computed subsidy reduces it,
    and needs a reason) or reject (with a reason)."""

    decision: Literal["approve", "reject"]
    amount: Yuan | None = None
    reason: str = ""

    _s = field_validator("reason")(_strip)


class ClaimIn(BaseModel):
    delivered_on: dt.date
    note: str = ""


class PayoutIn(BaseModel):
    """Money paid out; less than approved releases the rest back to the budget."""

    amount: Yuan | None = None
    paid_on: dt.date
    reference: str = Field(default="", max_length=100)


class StepOut(BaseModel):
    rule: str
    amount: Decimal
    figures: dict[str, Any]


class WorkingOut(BaseModel):
    amount: Decimal
    capped_by: str | None
    refused: str | None
    boosted: bool
    steps: list[StepOut]


class ApplicationOut(BaseModel):
    id: int
    programme_id: int
    programme_name: str
    kind: VoucherKind
    organisation_id: int | None
    applicant_name: str
    applicant_tier: Tier
    seller_organisation_id: int | None
    seller_name: str
    offer_id: int | None
    contract_number: str
    contract_amount: Decimal
    signed_on: dt.date
    service_starts_on: dt.date
    service_ends_on: dt.date
    description: str
    attachment_name: str
    attachment_size: int
    status: ApplicationStatus
    requested: Decimal
    working: WorkingOut
    approved: Decimal | None
    decision_working: WorkingOut | None
    decision_reason: str
    decided_on: dt.date | None
    delivered_on: dt.date | None
    claim_note: str
    paid: Decimal | None
    paid_on: dt.date | None
    payment_reference: str
    created_at: dt.datetime


class LedgerOut(BaseModel):
    id: int
    programme_id: int
    application_id: int
    kind: LedgerKind
    amount: Decimal
    booked_on: dt.date
    note: str
    actor_name: str
    created_at: dt.datetime


# ---------------------------------------------------------------- reports


class SpendRow(BaseModel):
    """Committed (approved less released) and paid, for one group."""

    key: str
    committed: Decimal
    paid: Decimal
    applications: int = 0


class ProgrammeSpend(SpendRow):
    name: str
    kind: VoucherKind
    budget: Decimal
    remaining: Decimal


class SupplyReport(BaseModel):
    programmes: list[ProgrammeSpend]
    by_kind: list[SpendRow]
    by_tier: list[SpendRow]
    by_month: list[SpendRow]
    total_committed: Decimal
    total_paid: Decimal
