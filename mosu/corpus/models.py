"""Corpus catalogue tables (语料): data sets, their immutable versions and the rows of each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base
from mosu.registry.models import Modality, Organisation

UNKNOWN_LICENCE = "unknown"
SPLITS = ("train", "dev", "test")
PUBLIC_SPLITS = ("train", "dev")
HIDDEN_SPLITS = ("test",)


class Dataset(Base):
    """A data set's card: who provides it, under which licence, from where, about what."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    licence: Mapped[str] = mapped_column(String(100), default=UNKNOWN_LICENCE)
    source: Mapped[str] = mapped_column(String(500), default="")
    provenance: Mapped[str] = mapped_column(Text, default="")
    modality: Mapped[Modality] = mapped_column(
        Enum(Modality, native_enum=False, length=16, validate_strings=True), default=Modality.text
    )
    industry_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    organisation: Mapped[Organisation | None] = relationship()
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number", cascade="all, delete-orphan"
    )


class DatasetVersion(Base):
    """One immutable content of a data set, named by the SHA-256 of its normalised rows.

    A challenge stage pins a version by its id; the rows and their split never change.
    """

    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "number", name="uq_dataset_versions_number"),
        UniqueConstraint("dataset_id", "content_hash", name="uq_dataset_versions_content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    schema: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    label_set: Mapped[list[str]] = mapped_column(JSON, default=list)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contamination: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class DatasetRow(Base):
    """A row of a version: its id, split, input fields, label and category, as stored."""

    __tablename__ = "dataset_rows"
    __table_args__ = (Index("ix_dataset_rows_version_split", "version_id", "split"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    row_id: Mapped[str] = mapped_column(Text)
    split: Mapped[str] = mapped_column(String(8))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    label: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    length: Mapped[int] = mapped_column(Integer, default=0)


class DatasetImage(Base):
    """An image of an image corpus (图像语料), stored once by the SHA-256 of its checked bytes
    (upright, without EXIF location): a row's image field holds that hash. The thumbnail
    for the card's grid is made at import; who may see either is the row's split's rule."""

    __tablename__ = "dataset_images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    dhash: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    thumb: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
