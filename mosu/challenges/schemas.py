"""What goes in and out of challenges (榜单), their audit log, and applications (揭榜)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from mosu.challenges.models import ApplicationState, ChallengeKind, ChallengeState
from mosu.i18n import N_
from mosu.registry.schemas import Patch, Strict, Tags

MAX_MEMBERS = 4
"""A lead organisation applies with up to four consortium members (联合体成员)."""


def _window(valid_from: dt.date | None, valid_until: dt.date | None) -> None:
    if valid_from is not None and valid_until is not None and valid_from > valid_until:
        raise ValueError(N_("有效期的开始晚于结束"))


def _places(shortlist: int | None, winners: int | None) -> None:
    if shortlist is not None and winners is not None and winners > shortlist:
        raise ValueError(N_("揭榜名额不能多于入围名额"))


class ChallengeIn(Strict):
    """A challenge published from a scenario; ``bounty_yuan`` ``None`` means 面议."""

    scenario_id: int
    kind: ChallengeKind
    title: str = Field(min_length=1, max_length=200)
    category: str = Field(default="", max_length=100)
    keywords: Tags = Field(default_factory=list)
    bounty_yuan: int | None = Field(default=None, ge=0)
    requirements: str = Field(default="", max_length=20000)
    valid_from: dt.date
    valid_until: dt.date
    region: str = Field(default="", max_length=100)
    issuer: str = Field(min_length=1, max_length=200)
    require_filed_model: bool = False
    max_applications_per_org: int = Field(default=1, ge=1, le=100)
    shortlist_places: int = Field(default=5, ge=1, le=1000)
    winner_places: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _checks(self) -> Self:
        _window(self.valid_from, self.valid_until)
        _places(self.shortlist_places, self.winner_places)
        return self


class ChallengePatch(Patch):
    """Changes to a draft challenge (``bounty_yuan`` ``null`` makes it 面议)."""

    clearable = frozenset({"bounty_yuan"})

    kind: ChallengeKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    keywords: Tags | None = None
    bounty_yuan: int | None = Field(default=None, ge=0)
    requirements: str | None = Field(default=None, max_length=20000)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    region: str | None = Field(default=None, max_length=100)
    issuer: str | None = Field(default=None, min_length=1, max_length=200)
    require_filed_model: bool | None = None
    max_applications_per_org: int | None = Field(default=None, ge=1, le=100)
    shortlist_places: int | None = Field(default=None, ge=1, le=1000)
    winner_places: int | None = Field(default=None, ge=1, le=1000)


class StageBrief(BaseModel):
    """A race stage as the challenge page lists it, with its data set's contamination."""

    id: int
    position: int
    name: str
    state: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    dataset_version_id: int
    contamination_warning: str | None


class ChallengeOut(BaseModel):
    id: int
    scenario_id: int
    scenario_title: str
    organisation_id: int
    organisation_name: str
    kind: ChallengeKind
    title: str
    category: str
    keywords: list[str]
    bounty_yuan: int | None = Field(description="null: 面议 (negotiable)")
    requirements: str
    valid_from: dt.date
    valid_until: dt.date
    region: str
    issuer: str
    require_filed_model: bool
    max_applications_per_org: int
    shortlist_places: int
    winner_places: int
    state: ChallengeState
    created_at: dt.datetime
    application_count: int = Field(description="Applications not withdrawn.")
    shortlisted: list[str] = Field(description="Shortlisted lead organisations (public).")
    winners: list[str] = Field(
        default_factory=list, description="Lead organisations named winners (揭榜成功, public)."
    )
    stages: list[StageBrief]


class TransitionIn(Strict):
    name: str = Field(min_length=1, max_length=50)
    reason: str = Field(default="", max_length=2000)


class EventOut(BaseModel):
    """One audit line; the reason and details of an application's decision are shown to
    operators and that application's team only."""

    id: int
    at: dt.datetime
    actor_organisation: str = Field(
        description="Who acted, as the public sees it: the actor's organisation (its name), "
        "or the role (operator, expert …) or system, in the request's language."
    )
    actor_name: str = Field(description="The acting user's username: operators only, else empty.")
    action: str
    from_state: str | None
    to_state: str | None
    reason: str
    details: dict[str, Any]


class ApplicationIn(Strict):
    """揭榜: the lead (default: the applicant's organisation), members, models, proposal."""

    organisation_id: int | None = None
    proposal: str = Field(min_length=1, max_length=20000)
    member_ids: list[int] = Field(default=[], max_length=MAX_MEMBERS)
    model_ids: list[int] = Field(min_length=1, max_length=20)

    @field_validator("member_ids")
    @classmethod
    def _distinct_members(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(N_("联合体成员重复"))
        return value

    @field_validator("model_ids")
    @classmethod
    def _distinct_models(cls, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


class DecisionIn(Strict):
    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)


class OrgBrief(BaseModel):
    id: int
    name: str


class ModelBrief(BaseModel):
    id: int
    name: str
    organisation_name: str
    filed: bool


class ApplicationOut(BaseModel):
    id: int
    challenge_id: int
    organisation_id: int
    organisation_name: str
    members: list[OrgBrief]
    models: list[ModelBrief]
    proposal: str
    proposal_filename: str
    proposal_size: int
    proposal_sha256: str
    state: ApplicationState
    decision_reason: str | None = Field(
        description="Shown to operators and the applying team only (null for others)."
    )
    decided_at: dt.datetime | None
    created_at: dt.datetime
    entry_id: int | None


class ApplicationList(BaseModel):
    """The applications the asker may read; everyone sees the count and, once the
    shortlist is drawn up, the shortlisted lead organisations."""

    total: int
    shortlisted: list[str]
    items: list[ApplicationOut]
