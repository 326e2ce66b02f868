"""What goes in and out of the race API (赛马)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mosu.challenges.models import CutRule, EntryState, SubmissionMode, SubmissionState


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageIn(_In):
    """A stage: its task definition (prompt, parser, scorers; data come from the version),
    the data set version, the window (with a time zone), the cut rule and the limits."""

    name: str = Field(min_length=1, max_length=100)
    task: dict[str, Any]
    dataset_version_id: int
    mode: SubmissionMode
    opens_at: dt.datetime
    closes_at: dt.datetime
    cut_rule: CutRule
    cut_value: float = 0.0
    public_fraction: float = Field(default=0.5, ge=0.05, le=0.95)
    daily_limit: int = Field(default=5, ge=1, le=1000)
    total_limit: int = Field(default=20, ge=1, le=10000)
    max_selected: int = Field(default=2, ge=1, le=20)
    split_seed: int = 0
    compute_pool_id: int | None = None
    min_coverage: float = Field(default=0.9, ge=0, le=1)
    rule: dict[str, Any] | None = None  # {"constraints": [...]} or {"weights": {...}}


class BaselineIn(_In):
    name: str = Field(min_length=1, max_length=200)
    baseline: str


class ReasonIn(_In):
    reason: str = Field(default="", max_length=2000)


class DecideIn(_In):
    entry_ids: list[int] = Field(min_length=1)
    reason: str = Field(default="", max_length=2000)


class SelectionIn(_In):
    entry_id: int
    submission_ids: list[int]


class SubmissionIn(_In):
    """An endpoint-mode submission (predictions files are posted as multipart forms)."""

    endpoint_id: int | None = None
    entry_id: int | None = None
    note: str = Field(default="", max_length=300)


class StageOut(BaseModel):
    id: int
    position: int
    name: str
    status: str
    mode: SubmissionMode
    opens_at: dt.datetime
    closes_at: dt.datetime
    cut_rule: CutRule
    cut_value: float
    rule: str
    min_coverage: float
    scoring_rule: dict[str, Any] | None
    scoring_rule_text: str
    public_fraction: float
    daily_limit: int
    total_limit: int
    max_selected: int
    dataset_version_id: int
    task: dict[str, Any]
    contamination_warning: str | None
    public_samples: int | None = None
    final_revealed: bool


class EntryOut(BaseModel):
    id: int
    name: str
    state: EntryState
    baseline: str | None
    organisation_id: int | None
    cut_at_stage_id: int | None
    cut_reason: str
    own: bool


class RaceOut(BaseModel):
    challenge_id: int
    stages: list[StageOut]
    entries: list[EntryOut]


class QuotaOut(BaseModel):
    entry_id: int
    used_today: int
    daily_limit: int
    used_total: int
    total_limit: int
    failed: int
    failure_limit: int
    left: int
    resets_at: dt.datetime


class SubmissionOut(BaseModel):
    """A submission as its own team sees it; the private score only once the stage closed
    (operators always)."""

    id: int
    stage_id: int
    entry_id: int
    mode: SubmissionMode
    state: SubmissionState
    queue_position: int | None
    done: int | None
    total: int | None
    selected: bool
    public_score: float | None
    private_score: float | None
    samples: int
    errors: int
    error_reasons: dict[str, int]
    failure: str
    note: str
    endpoint_id: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    service: dict[str, Any] | None = None  # coverage, latency, TTFT, tokens, cost (whole test)
    price: dict[str, float] | None = None  # yuan per million input / output tokens, as run


class SampleOut(BaseModel):
    """One test sample of a submission as its own team sees it: how the call went (no
    input, output, label or part: those stay on the platform)."""

    id: str
    answered: bool
    error: str | None
    attempts: int
    latency: float | None
    ttft: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    image: str | None = None
    """A vision stage's sample image (its URL on the corpus API): operators only."""


class MySubmissions(BaseModel):
    quotas: list[QuotaOut]
    submissions: list[SubmissionOut]


class BoardOut(BaseModel):
    """A leaderboard as the reader may see it: ``full`` rows for operators, the issuer and
    each row's own team; others get position, rank group, score and interval."""

    stage_id: int
    part: str
    primary: str | None
    samples: int | None
    method: str | None = None
    full: bool
    rows: list[dict[str, Any]]
    perf: dict[str, Any] | None = None  # a perf stage's SLO, steps and figures per entry
    # entries not placed among the ranks (incomplete, or missing the rule), with the reason
    unranked: list[dict[str, Any]] = []
    min_coverage: float | None = None
    rule: dict[str, Any] | None = None
