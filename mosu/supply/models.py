"""Supply tables (要素供给): offers of compute, corpus and models, voucher programmes,
applications against contracts, the append-only voucher ledger and compute usage.

Money is kept as whole fen (分, 1/100 yuan) in integer columns: exact on every backend.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base
from mosu.corpus.models import Dataset
from mosu.registry.models import Model, Organisation, Tier


class VoucherKind(enum.StrEnum):
    """算力券 compute, 模型券 model (API calls or private deployment), 语料券 corpus."""

    compute = "compute"
    model = "model"
    corpus = "corpus"


class ServiceMode(enum.StrEnum):
    """How a model is sold: called through an API, or deployed privately for the buyer."""

    api = "api"
    private = "private"


class ApplicationStatus(enum.StrEnum):
    """申请 → 审核 (批准, possibly reduced, or 驳回) → 兑付申请 after delivery → 已兑付."""

    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    claimed = "claimed"
    paid = "paid"


class LedgerKind(enum.StrEnum):
    """A commitment of budget (approval), its release (paid less), or a payout."""

    commit = "commit"
    release = "release"
    payout = "payout"


class RelationKind(enum.StrEnum):
    """关联关系: why two organisations count as related parties."""

    shareholding = "shareholding"
    group = "group"
    control = "control"
    other = "other"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class ComputePool(Base):
    """A compute pool (算力池) a supplier rents out by the card-hour."""

    __tablename__ = "compute_pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    accelerator: Mapped[str] = mapped_column(String(100))
    card_count: Mapped[int]
    price_fen: Mapped[int] = mapped_column(BigInteger)
    available_from: Mapped[dt.date]
    available_until: Mapped[dt.date | None]
    region: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    organisation: Mapped[Organisation] = relationship()


class CorpusOffer(Base):
    """A catalogued data set offered for sale (语料供给), with its price and licence terms."""

    __tablename__ = "corpus_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    price_fen: Mapped[int] = mapped_column(BigInteger)
    price_unit: Mapped[str] = mapped_column(String(16), default="one_off")
    licence: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    organisation: Mapped[Organisation] = relationship()
    dataset: Mapped[Dataset] = relationship()


class ModelService(Base):
    """A registered model sold as an API or as a private deployment (模型服务)."""

    __tablename__ = "model_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    mode: Mapped[ServiceMode] = mapped_column(_enum(ServiceMode))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    price_unit: Mapped[str] = mapped_column(String(16))
    # an API's token prices, fen per million input / output tokens (races cost answers by them)
    input_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    output_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    organisation: Mapped[Organisation] = relationship()
    model: Mapped[Model] = relationship()


class ComputeUsage(Base):
    """Card-hours drawn from a pool, e.g. by a race stage's evaluation (generic reference).

    Kept in whole card-seconds; the cost is priced when recorded and never changes.
    """

    __tablename__ = "compute_usage"
    __table_args__ = (Index("ix_compute_usage_reference", "reference_kind", "reference_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int | None] = mapped_column(
        ForeignKey("compute_pools.id", ondelete="SET NULL"), index=True
    )
    pool_name: Mapped[str] = mapped_column(String(200))
    card_seconds: Mapped[int] = mapped_column(BigInteger)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    cost_fen: Mapped[int] = mapped_column(BigInteger)
    reference_kind: Mapped[str] = mapped_column(String(40))
    reference_id: Mapped[str] = mapped_column(String(64))
    used_on: Mapped[dt.date]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class VoucherProgramme(Base):
    """A voucher programme (算力券/模型券/语料券): budget, period and its rules as data.

    ``committed_fen`` is the ledger's running total of commitments less releases, updated
    by one guarded statement so that concurrent approvals can never pass the budget.
    """

    __tablename__ = "voucher_programmes"
    __table_args__ = (
        CheckConstraint("committed_fen >= 0 AND committed_fen <= budget_fen", name="within_budget"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[VoucherKind] = mapped_column(_enum(VoucherKind), index=True)
    issuer: Mapped[str] = mapped_column(String(200), default="")
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    committed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    open: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class SupplyProfile(Base):
    """Facts about a firm the voucher rules need (founding date, size), kept by operators."""

    __tablename__ = "supply_profiles"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    founded_on: Mapped[dt.date | None]
    employees: Mapped[int | None]
    small_firm: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class OrganisationRelation(Base):
    """Two organisations that are related parties (关联方), stored once, lower id first."""

    __tablename__ = "organisation_relations"
    __table_args__ = (
        UniqueConstraint("organisation_id", "related_organisation_id", name="uq_relation_pair"),
        CheckConstraint("organisation_id < related_organisation_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    related_organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RelationKind] = mapped_column(_enum(RelationKind))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class VoucherApplication(Base):
    """An organisation's application for a voucher against one contract (申请).

    The applicant is the buyer. Names and tier are copied when applying, so the ledger
    and its reports stay as they were if an organisation later changes or leaves.
    ``contract_key`` (seller and contract number) is unique within a programme while the
    application stands; a rejection clears it, so a corrected application may follow.
    """

    __tablename__ = "voucher_applications"
    __table_args__ = (
        UniqueConstraint("programme_id", "contract_key", name="uq_voucher_applications_contract"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("voucher_programmes.id", ondelete="RESTRICT"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_tier: Mapped[Tier] = mapped_column(_enum(Tier))
    seller_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    seller_name: Mapped[str] = mapped_column(String(200))
    offer_id: Mapped[int | None]
    contract_number: Mapped[str] = mapped_column(String(100))
    contract_key: Mapped[str | None] = mapped_column(String(200))
    contract_amount_fen: Mapped[int] = mapped_column(BigInteger)
    signed_on: Mapped[dt.date]
    service_starts_on: Mapped[dt.date]
    service_ends_on: Mapped[dt.date]
    description: Mapped[str] = mapped_column(Text, default="")
    attachment_name: Mapped[str] = mapped_column(String(200), default="")
    attachment_path: Mapped[str] = mapped_column(String(300), default="")
    attachment_size: Mapped[int] = mapped_column(default=0)
    status: Mapped[ApplicationStatus] = mapped_column(
        _enum(ApplicationStatus), default=ApplicationStatus.submitted, index=True
    )
    requested_fen: Mapped[int] = mapped_column(BigInteger)
    boosted: Mapped[bool] = mapped_column(default=False)
    working: Mapped[dict[str, Any]] = mapped_column(JSON)
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    decision_working: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_on: Mapped[dt.date | None]
    delivered_on: Mapped[dt.date | None]
    claim_note: Mapped[str] = mapped_column(Text, default="")
    paid_fen: Mapped[int | None] = mapped_column(BigInteger)
    paid_on: Mapped[dt.date | None]
    payment_reference: Mapped[str] = mapped_column(String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    programme: Mapped[VoucherProgramme] = relationship()


class LedgerEntry(Base):
    """One line of the voucher ledger (台账). Written once, never changed or deleted.

    ``amount_fen`` is positive; ``kind`` says whether it commits budget, releases it, or
    records money paid out. ``booked_on`` is the business date the reports group by.
    """

    __tablename__ = "voucher_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("voucher_programmes.id", ondelete="RESTRICT"), index=True
    )
    application_id: Mapped[int] = mapped_column(
        ForeignKey("voucher_applications.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[LedgerKind] = mapped_column(_enum(LedgerKind))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    booked_on: Mapped[dt.date] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class LedgerIsAppendOnly(Exception):
    """Raised when code tries to change or delete a ledger line."""


@event.listens_for(LedgerEntry, "before_update")
def _refuse_update(*_args: object) -> None:
    raise LedgerIsAppendOnly("voucher ledger lines are never changed")


@event.listens_for(LedgerEntry, "before_delete")
def _refuse_delete(*_args: object) -> None:
    raise LedgerIsAppendOnly("voucher ledger lines are never deleted")
