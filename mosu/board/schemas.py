"""What goes in and out of the supply–demand board: case studies, interest, matches."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from mosu.registry.schemas import Patch, Strict


class CaseStudyIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    customer_type: str = Field(default="", max_length=100)
    """政府, 医院, 银行, 学校 …"""
    text: str = Field(default="", max_length=5000)


class CaseStudyPatch(Patch):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    customer_type: str | None = Field(default=None, max_length=100)
    text: str | None = Field(default=None, max_length=5000)


class CaseStudyOut(BaseModel):
    id: int
    organisation_id: int
    title: str
    customer_type: str
    text: str
    created_at: dt.datetime
    updated_at: dt.datetime


class InterestIn(Strict):
    note: str = Field(default="", max_length=2000)


class InterestOut(BaseModel):
    scenario_id: int
    scenario_title: str
    organisation_id: int
    organisation_name: str
    note: str
    created_at: dt.datetime


class SupplierMatch(BaseModel):
    """A recommended supplier and why (推荐理由)."""

    organisation_id: int
    organisation_name: str
    score: float
    """The engine's raw score (BM25 or fused); pages show ``strength``."""
    strength: int
    """Relative strength: percent of the best recommendation in the list (100)."""
    reasons: list[str]
    matched_terms: list[str]
    matched_tags: list[str]
    filed_models: list[str]
    interested: bool


class ModelMatch(BaseModel):
    model_id: int
    name: str
    organisation_id: int
    organisation_name: str
    score: float
    strength: int
    """Relative strength: percent of the best model in the list (100)."""
    matched_terms: list[str]
    matched_tags: list[str]
    filed: bool


class Recommendations(BaseModel):
    """Suppliers and models for a scenario, and the suppliers who marked interest."""

    scenario_id: int
    suppliers: list[SupplierMatch]
    models: list[ModelMatch]
    interests: list[InterestOut]
    """All of them for operators and the demand organisation; else the reader's own."""
    interest_count: int


class ScenarioMatch(BaseModel):
    """A scenario a supplier could take on, and why."""

    scenario_id: int
    title: str
    organisation_id: int
    organisation_name: str
    domain: str
    region: str
    score: float
    strength: int
    """Relative strength: percent of the best match in the list (100)."""
    reasons: list[str]
    matched_terms: list[str]
    matched_tags: list[str]
    interested: bool
