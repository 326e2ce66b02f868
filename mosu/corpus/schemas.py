"""What goes in and out of the corpus catalogue: cards, import options and reports."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from mosu.corpus.readers import Format
from mosu.i18n import N_
from mosu.registry.models import Modality

Flagged = Literal["refuse", "drop", "keep"]
ProblemKind = Literal[
    "missing",
    "empty",
    "duplicate",
    "near_duplicate",
    "duplicate_id",
    "conflicting_label",
    "bad_date",
    "unknown_label",
    "too_long",
    "bad_split",
    "bad_image",
    "duplicate_image",
    "near_duplicate_image",
]
PROBLEM_KINDS: tuple[ProblemKind, ...] = ProblemKind.__args__  # type: ignore[attr-defined]


class DatasetIn(BaseModel):
    """A data set's card (数据集卡片)."""

    name: str = Field(min_length=1, max_length=200)
    organisation_id: int | None = None
    licence: str = Field(default="unknown", max_length=100)
    source: str = Field(default="", max_length=500)
    provenance: str = ""
    modality: Modality = Modality.text
    industry_tags: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("name", "licence", "source")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("licence")
    @classmethod
    def _licence(cls, value: str) -> str:
        return value or "unknown"


class DatasetPatch(BaseModel):
    """Changes to a card; a field left out stays as it is."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    licence: str | None = Field(default=None, max_length=100)
    source: str | None = Field(default=None, max_length=500)
    provenance: str | None = None
    modality: Modality | None = None
    industry_tags: list[str] | None = None
    description: str | None = None


class Roles(BaseModel):
    """Which field is the id, the inputs, the label, the category, the split and the dates.

    Left empty, roles are guessed from the field names (see :func:`guess_roles`).
    """

    id_field: str | None = None
    input_fields: list[str] = Field(default_factory=list)
    label_field: str | None = None
    category_field: str | None = None
    split_field: str | None = None
    date_fields: list[str] | None = None
    image_fields: list[str] | None = None
    """An image corpus's fields holding an image's path in the zip (stored as its SHA-256)."""


class Normalisation(BaseModel):
    """Optional clean-up, recorded in the version's provenance."""

    strip: bool = False
    half_width: bool = False


class SplitRatios(BaseModel):
    """Shares of the platform-made split (when the data has no split column)."""

    train: float = Field(default=0.8, ge=0)
    dev: float = Field(default=0.1, ge=0)
    test: float = Field(default=0.1, ge=0)

    @model_validator(mode="after")
    def _sum(self) -> SplitRatios:
        if abs(self.train + self.dev + self.test - 1) > 1e-6:
            raise ValueError(N_("训练集、开发集、测试集的比例之和须为 1"))
        return self


class ImportOptions(BaseModel):
    """How to read, check and split an import."""

    format: Format = "auto"
    sheet: str | None = None
    roles: Roles = Field(default_factory=Roles)
    label_set: list[str] = Field(default_factory=list)
    max_length: int = Field(default=20_000, ge=1)
    near_duplicate_threshold: float = Field(default=0.9, gt=0, le=1)
    normalise: Normalisation = Field(default_factory=Normalisation)
    flagged: Flagged = "refuse"
    seed: int = 20240601
    ratios: SplitRatios = Field(default_factory=SplitRatios)


class Problem(BaseModel):
    """A flagged row: its place in the import, where it was in the file, its id, why."""

    row: int
    where: str
    row_id: str | None = None
    field: str = ""
    kind: ProblemKind
    reason: str


class ImportReport(BaseModel):
    """What an import found, and what it wrote."""

    files: list[str] = Field(default_factory=list)
    format: str = ""
    encodings: dict[str, str] = Field(default_factory=dict)
    file_problem: str | None = None
    roles: Roles = Field(default_factory=Roles)
    total_rows: int = 0
    flagged_rows: int = 0
    problems: list[Problem] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    flagged: Flagged = "refuse"
    dropped_rows: int = 0
    written_rows: int = 0
    dataset_id: int | None = None
    version: int | None = None
    content_hash: str | None = None
    created: bool = False
    existing: bool = False
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return self.file_problem is None and not self.problems

    @property
    def written(self) -> bool:
        return self.version is not None


class VersionOut(BaseModel):
    id: int
    number: int
    content_hash: str
    row_count: int
    schema_: dict[str, Any] = Field(alias="schema")
    label_set: list[str]
    provenance: dict[str, Any]
    stats: dict[str, Any]
    contamination: dict[str, Any]
    created_at: dt.datetime

    model_config = {"populate_by_name": True}


class DatasetOut(BaseModel):
    id: int
    name: str
    organisation_id: int | None
    organisation_name: str | None
    licence: str
    licence_known: bool
    source: str
    provenance: str
    modality: Modality
    industry_tags: list[str]
    description: str
    created_at: dt.datetime
    versions: list[VersionOut] = Field(default_factory=list)


class RowOut(BaseModel):
    index: int
    id: str
    split: str
    fields: dict[str, Any]
    label: str | None
    category: str | None


class RowPage(BaseModel):
    total: int
    offset: int
    rows: list[RowOut]
