"""What goes in and out of the scenario board (应用场景)."""

from __future__ import annotations

import datetime as dt
from typing import Self

from pydantic import BaseModel, Field, model_validator

from mosu.i18n import N_
from mosu.registry.schemas import Patch, Strict, Tags
from mosu.scenarios.models import ScenarioStatus

Yuan = int


def _budget_order(low: int | None, high: int | None) -> None:
    if low is not None and high is not None and low > high:
        raise ValueError(N_("预算下限不能高于上限"))


class ScenarioIn(Strict):
    """A new scenario; ``organisation_id`` defaults to the author's own organisation."""

    organisation_id: int | None = None
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10000)
    domain: str = Field(default="", max_length=100)
    capabilities: Tags = Field(default_factory=list)
    data_available: str = Field(default="", max_length=5000)
    budget_min_yuan: Yuan | None = Field(default=None, ge=0)
    budget_max_yuan: Yuan | None = Field(default=None, ge=0)
    region: str = Field(default="", max_length=100)
    deadline: dt.date | None = None
    status: ScenarioStatus = ScenarioStatus.open

    @model_validator(mode="after")
    def _checks(self) -> Self:
        _budget_order(self.budget_min_yuan, self.budget_max_yuan)
        if self.status is ScenarioStatus.published:
            raise ValueError(N_("“已发榜”由发布榜单设置"))
        return self


class ScenarioPatch(Patch):
    clearable = frozenset({"budget_min_yuan", "budget_max_yuan", "deadline"})

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    domain: str | None = Field(default=None, max_length=100)
    capabilities: Tags | None = None
    data_available: str | None = Field(default=None, max_length=5000)
    budget_min_yuan: Yuan | None = Field(default=None, ge=0)
    budget_max_yuan: Yuan | None = Field(default=None, ge=0)
    region: str | None = Field(default=None, max_length=100)
    deadline: dt.date | None = None
    status: ScenarioStatus | None = None


class ChallengeBrief(BaseModel):
    id: int
    title: str
    state: str


class ScenarioOut(BaseModel):
    id: int
    organisation_id: int
    organisation_name: str
    title: str
    description: str
    domain: str
    capabilities: list[str]
    data_available: str
    budget_min_yuan: int | None
    budget_max_yuan: int | None
    region: str
    deadline: dt.date | None
    status: ScenarioStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    challenges: list[ChallengeBrief] = []
