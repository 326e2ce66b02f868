"""What goes in and out of the arena's API: arenas, competitors, battles, votes, ratings."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from mosu.arena.votes import WINNERS
from mosu.i18n import N_
from mosu.registry.schemas import Strict

Winner = Literal["model_a", "model_b", "tie", "tie (bothbad)"]
assert WINNERS == ("model_a", "model_b", "tie", "tie (bothbad)")
VoteSelection = Literal["human", "judge", "all"]
CompetitorKind = Literal["endpoint", "spec", "answers", "external"]


def _dev_only() -> list[Literal["train", "dev"]]:
    return ["dev"]


class PromptSource(Strict):
    """Prompts from a data set version: the listed public splits, input fields joined."""

    dataset_version_id: int
    splits: list[Literal["train", "dev"]] = Field(default_factory=_dev_only)
    fields: list[str] | None = None
    limit: int = Field(default=200, ge=1, le=5000)


class ArenaIn(Strict):
    """A new arena: expert-written ``prompts`` or a ``source`` data set version (not both)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    prompts: list[str] = Field(default_factory=list, max_length=5000)
    source: PromptSource | None = None
    votes_per_minute: int = Field(default=6, ge=1, le=600)
    read_chars_per_second: float = Field(default=30.0, gt=0, le=1000)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        self.prompts = [p.strip() for p in self.prompts if p.strip()]
        if bool(self.prompts) == (self.source is not None):
            raise ValueError(N_("请给出专家撰写的题目或数据集来源，二者选一"))
        return self


class CompetitorIn(Strict):
    """A competitor: a registry endpoint, an ``openai:`` spec, or pre-written answers
    (keyed by prompt key); ``model_id`` links it to the registry's model."""

    name: str = Field(min_length=1, max_length=200)
    model_id: int | None = None
    endpoint_id: int | None = None
    spec: str = Field(default="", max_length=500)
    answers: dict[str, str] = Field(default_factory=dict)
    note: str = ""

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        ways = sum([self.endpoint_id is not None, bool(self.spec), bool(self.answers)])
        if ways != 1:
            raise ValueError(N_("endpoint_id、spec 与 answers 须给出且只给出一项"))
        return self


class JudgeIn(Strict):
    """A judge model (a registry endpoint or an ``openai:`` spec) and how many battles of
    its own to make beside judging people's battles."""

    name: str = Field(min_length=1, max_length=200)
    endpoint_id: int | None = None
    spec: str = Field(default="", max_length=500)
    new_battles: int = Field(default=0, ge=0, le=10000)

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.endpoint_id is None) == (not self.spec):
            raise ValueError(N_("endpoint_id 与 spec 须给出且只给出一项"))
        return self


class VoteIn(Strict):
    winner: Winner


class CompetitorOut(BaseModel):
    id: int
    name: str
    model_id: int | None
    kind: CompetitorKind
    answers: int
    errors: int


class ArenaOut(BaseModel):
    id: int
    name: str
    description: str
    prompts: int
    competitors: list[CompetitorOut]
    human_votes: int
    judge_votes: int
    imported_votes: int
    votes_per_minute: int
    read_chars_per_second: float
    created_at: dt.datetime


class PromptImage(BaseModel):
    """A prompt's image: its hash, where the page fetches it, its size in pixels."""

    sha256: str
    url: str
    width: int
    height: int


class BattleOut(BaseModel):
    """A battle as its voter sees it: names only once the voter has voted."""

    id: int
    arena_id: int
    prompt: str
    answer_a: str
    answer_b: str
    voted: bool
    image: PromptImage | None = None
    """The image the prompt carries, shown beside the answers."""
    winner: Winner | None = None
    model_a: str | None = None
    model_b: str | None = None
    model_a_id: int | None = None
    model_b_id: int | None = None
    """The registry models behind the two sides, where a competitor names one."""


class AnswersReport(BaseModel):
    generated: int
    errors: int
    already: int
    problems: list[str]


class JudgeReport(BaseModel):
    judged: int
    new_battles: int
    errors: int
    problems: list[str]


class ImportReport(BaseModel):
    imported: int
    new_competitors: list[str]


class RatingRow(BaseModel):
    """One model on the leaderboard. ``rank`` counts within ``group`` (models never
    compared with another group's, even through others, are rated and ranked apart);
    ``insufficient_data`` marks a rating or interval that rests on a penalty or on
    resamples where the rating is infinite; ``lower``/``upper`` are null when infinite."""

    rank: int
    model: str
    rating: float
    lower: float | None
    upper: float | None
    battles: int
    elo: float
    group: int = 0
    insufficient_data: bool = False


class LeaderboardOut(BaseModel):
    votes: VoteSelection
    battles: int
    excluded_voters: int
    rows: list[RatingRow]
    groups: int = 1
    penalty: float = 0.0


class Agreement(BaseModel):
    """Judge against people on battles both voted on: exact agreement (both-bad counted as a
    tie) and agreement on the battles people decided."""

    judge: str
    battles: int
    agree: int
    rate: float | None
    decisive_battles: int
    decisive_agree: int
    decisive_rate: float | None


class VoterFlags(BaseModel):
    """A voter's side shares, speed and flags: a signed-in user (``voter_id``) or an
    anonymous session (``guest_id``, no username)."""

    voter_id: int | None
    guest_id: int | None = None
    username: str
    votes: int
    share_a: float
    share_b: float
    median_seconds: float | None
    fast_votes: int
    one_sided: bool
    too_fast: bool
