"""What goes in and out of the registry: validated shapes for the API, forms and imports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from mosu.i18n import N_
from mosu.registry.errors import MAY_NOT_BE_NULL
from mosu.registry.models import FilingKind, FilingStatus, Layer, Modality, Tier
from mosu.registry.validators import credit_code_error, filing_number_error

T = TypeVar("T")


def _credit_code(value: str) -> str:
    value = value.strip().upper()
    error = credit_code_error(value)
    if error:
        raise error
    return value


def _url(value: str) -> str:
    value = value.strip()
    if value and not value.startswith(("http://", "https://")):
        raise ValueError(N_("网址须以 http:// 或 https:// 开头"))
    return value


def _unique_tags(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        v = v.strip()
        if v:
            seen.setdefault(v, None)
    return list(seen)


CreditCode = Annotated[str, AfterValidator(_credit_code)]
Url = Annotated[str, Field(max_length=300), AfterValidator(_url)]
Tags = Annotated[list[str], AfterValidator(_unique_tags)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Patch(Strict):
    """A partial update: a field left out stays as it is; ``null`` clears only ``clearable``."""

    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _null_only_where_clearable(self) -> Self:
        refused = sorted(
            name
            for name in self.model_fields_set
            if getattr(self, name) is None and name not in self.clearable
        )
        if refused:
            raise MAY_NOT_BE_NULL.in_validator(fields=", ".join(refused))
        return self


class Contact(Strict):
    name: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=50)
    email: str = Field(default="", max_length=200)


class OrganisationIn(Strict):
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    credit_code: CreditCode
    tier: Tier = Tier.other
    layers: list[Layer] = Field(min_length=1)
    resident: bool = False
    resident_since: dt.date | None = None
    website: Url = ""
    description: str = Field(default="", max_length=5000)
    regions: Tags = []
    contact: Contact = Contact()

    @field_validator("layers")
    @classmethod
    def _dedupe_layers(cls, v: list[Layer]) -> list[Layer]:
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _residency(self) -> OrganisationIn:
        if self.resident_since is not None and not self.resident:
            raise ValueError(N_("非入驻企业不应填写入驻日期"))
        return self


class OrganisationPatch(Patch):
    clearable = frozenset({"resident_since"})

    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    credit_code: CreditCode | None = None
    tier: Tier | None = None
    layers: list[Layer] | None = Field(default=None, min_length=1)
    resident: bool | None = None
    resident_since: dt.date | None = None
    website: Url | None = None
    description: str | None = Field(default=None, max_length=5000)
    regions: Tags | None = None
    contact: Contact | None = None


class OrganisationOut(BaseModel):
    id: int
    name_zh: str
    name_en: str
    credit_code: str
    tier: Tier
    layers: list[Layer]
    resident: bool
    resident_since: dt.date | None
    website: str
    description: str
    regions: list[str]
    model_count: int = 0
    filed_model_count: int = 0
    contact: Contact | None = Field(
        default=None, description="Shown to operators and the organisation's own members only."
    )


class ModelIn(Strict):
    organisation_id: int
    name: str = Field(min_length=1, max_length=200)
    modality: Modality
    open_weights: bool = False
    parameters_b: float | None = Field(default=None, gt=0, lt=100_000)
    base_model_id: int | None = None
    base_model_text: str = Field(default="", max_length=200)
    capability_tags: Tags = []
    description: str = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _one_base(self) -> ModelIn:
        if self.base_model_id is not None and self.base_model_text:
            raise ValueError(N_("基座模型请二选一：选择已登记模型，或填写名称"))
        return self


class ModelPatch(Patch):
    clearable = frozenset({"parameters_b", "base_model_id"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    modality: Modality | None = None
    open_weights: bool | None = None
    parameters_b: float | None = Field(default=None, gt=0, lt=100_000)
    base_model_id: int | None = None
    base_model_text: str | None = Field(default=None, max_length=200)
    capability_tags: Tags | None = None
    description: str | None = Field(default=None, max_length=5000)


class FilingBrief(BaseModel):
    id: int
    kind: FilingKind
    number: str
    region: str
    filed_on: dt.date
    status: FilingStatus


class ModelOut(BaseModel):
    id: int
    organisation_id: int
    organisation_name: str
    name: str
    modality: Modality
    open_weights: bool
    parameters_b: float | None
    base_model_id: int | None
    base_model_name: str
    capability_tags: list[str]
    description: str
    filings: list[FilingBrief] = []


class FilingIn(Strict):
    model_id: int
    kind: FilingKind
    number: str = Field(max_length=100)
    filed_on: dt.date | None = None
    status: FilingStatus = FilingStatus.active
    based_on_model_id: int | None = None

    @field_validator("number")
    @classmethod
    def _number(cls, v: str) -> str:
        error = filing_number_error(v)
        if error:
            raise error
        return v


class FilingPatch(Patch):
    clearable = frozenset({"based_on_model_id"})

    status: FilingStatus | None = None
    based_on_model_id: int | None = None


class FilingOut(FilingBrief):
    model_id: int
    model_name: str
    organisation_id: int
    organisation_name: str
    based_on_model_id: int | None
    based_on_model_name: str


class EndpointIn(Strict):
    organisation_id: int
    model_id: int | None = None
    name: str = Field(min_length=1, max_length=100)
    base_url: Url = Field(min_length=8)
    model_name: str = Field(min_length=1, max_length=200)
    api_key: SecretStr | None = None


class EndpointOut(BaseModel):
    """An endpoint as anyone may see it: the key is never returned, only whether one is set."""

    id: int
    organisation_id: int
    model_id: int | None
    name: str
    base_url: str
    model_name: str
    has_api_key: bool
    created_at: dt.datetime
    last_check: dict[str, Any] | None = None
    """The last test call: ``at``, ``ok``, ``status``, ``latency`` (seconds), ``answer``."""


class CountRow(BaseModel):
    key: str
    count: int


class FilingMonth(BaseModel):
    month: str
    beian: int
    dengji: int
    cumulative: int


class Overview(BaseModel):
    organisations: int
    resident_organisations: int
    models: int
    filed_models: int
    registered_apps: int
    regional_region: str
    regional_filed_total: int | None
    regional_share: float | None = Field(
        description="filed_models / regional_filed_total, when the operator has entered a total"
    )
    by_tier: list[CountRow]
    by_layer: list[CountRow]
    by_modality: list[CountRow]
    filings_by_month: list[FilingMonth]


class RegionalTotalIn(Strict):
    region: str = Field(min_length=1, max_length=40)
    total: int = Field(ge=0)
