"""Registry tables (生态图谱): organisations, their models, filings and model endpoints."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base


class Tier(enum.StrEnum):
    """梯队: 北斗七星 core companies, 群星 cluster companies, others."""

    core = "core"
    cluster = "cluster"
    other = "other"


class Layer(enum.StrEnum):
    """产业链层级: compute 算力, corpus 语料, model 模型, application 应用, service 服务."""

    compute = "compute"
    corpus = "corpus"
    model = "model"
    application = "application"
    service = "service"


class Modality(enum.StrEnum):
    text = "text"
    image = "image"
    audio = "audio"
    video = "video"
    multimodal = "multimodal"
    code = "code"


class FilingKind(enum.StrEnum):
    """备案 (a filed generative-AI service) or 登记 (an app registered on a filed model)."""

    beian = "beian"
    dengji = "dengji"


class FilingStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"
    revoked = "revoked"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class Organisation(Base):
    """A company or public body in the community (企业/机构)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    tier: Mapped[Tier] = mapped_column(_enum(Tier), default=Tier.other, index=True)
    layers: Mapped[list[str]] = mapped_column(JSON, default=list)
    resident: Mapped[bool] = mapped_column(default=False)
    resident_since: Mapped[dt.date | None]
    website: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    models: Mapped[list[Model]] = relationship(
        back_populates="organisation", foreign_keys="Model.organisation_id"
    )


class Model(Base):
    """An AI model registered by an organisation (模型)."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), index=True)
    modality: Mapped[Modality] = mapped_column(_enum(Modality), index=True)
    open_weights: Mapped[bool] = mapped_column(default=False)
    parameters_b: Mapped[float | None] = mapped_column(Float)
    base_model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    base_model_text: Mapped[str] = mapped_column(String(200), default="")
    capability_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    organisation: Mapped[Organisation] = relationship(back_populates="models")
    base_model: Mapped[Model | None] = relationship(remote_side=[id])
    filings: Mapped[list[Filing]] = relationship(
        back_populates="model", foreign_keys="Filing.model_id", cascade="all, delete-orphan"
    )


class Filing(Base):
    """A model's filing with the regulator: 备案 or 登记."""

    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FilingKind] = mapped_column(_enum(FilingKind))
    number: Mapped[str] = mapped_column(String(100), unique=True)
    region: Mapped[str] = mapped_column(String(40))
    filed_on: Mapped[dt.date] = mapped_column(index=True)
    status: Mapped[FilingStatus] = mapped_column(_enum(FilingStatus), default=FilingStatus.active)
    based_on_model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    model: Mapped[Model] = relationship(back_populates="filings", foreign_keys=[model_id])
    based_on_model: Mapped[Model | None] = relationship(foreign_keys=[based_on_model_id])


class ModelEndpoint(Base):
    """Where a model answers (an OpenAI-compatible URL) and its encrypted API key.

    The key is written once and never returned by any route or page.
    """

    __tablename__ = "model_endpoints"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str] = mapped_column(String(500))
    model_name: Mapped[str] = mapped_column(String(200))
    api_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    last_check: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """The last test call (:mod:`mosu.registry.endpoint_checks`): when, ok, status, latency."""


class CommunityFact(Base):
    """A figure the operator enters, e.g. the regional total of filed models."""

    __tablename__ = "community_facts"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class CaseStudy(Base):
    """A project a supplier has delivered (落地案例): part of its capability profile."""

    __tablename__ = "case_studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    customer_type: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    organisation: Mapped[Organisation] = relationship()
