"""What goes in and out of a challenge's review rubric (评审细则) and its combined rule."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from mosu.i18n import N_
from mosu.registry.schemas import Strict
from mosu.review.errors import WEIGHTS_SUM_TO_100
from mosu.review.models import Blinding

WEIGHT_TOTAL = 100
"""A rubric's criterion weights sum to 100 (e.g. 技术方案 40, 团队与资质 20, 落地可行性 30,
报价合理性 10)."""


class CriterionIn(Strict):
    """One criterion of a rubric: its key (stable, for the API and scores), name, weight
    and what a high score means."""

    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=100)
    weight: int = Field(ge=1, le=WEIGHT_TOTAL)
    description: str = Field(default="", max_length=2000)


class CombinedRule(Strict):
    """综合评分 = review_weight × panel score + race_weight × race score, each part first
    normalised to 0–100 as ``normalise`` says:

    * ``scale``: the panel score is already on 0–100; the race's final score (a metric on
      0–1) is multiplied by 100;
    * ``best``: each part is divided by the best entry's part, times 100;
    * ``minmax``: each part is mapped so that the lowest entry is 0 and the best is 100.

    ``ties``: which part decides between equal combined scores (``review`` or ``race``);
    an entry still tied after it shares the place.
    """

    review_weight: float = Field(ge=0, le=1)
    race_weight: float = Field(ge=0, le=1)
    normalise: Literal["scale", "best", "minmax"] = "scale"
    ties: Literal["review", "race"] = "review"

    @model_validator(mode="after")
    def _sum_to_one(self) -> Self:
        if abs(self.review_weight + self.race_weight - 1) > 1e-9:
            raise ValueError(N_("评审权重与赛马权重之和须为 1"))
        return self


class RubricIn(Strict):
    """A challenge's review rubric: criteria whose weights sum to 100, the score range of
    each criterion, 单盲 or 双盲, the dispersion threshold (points of 0–100 between the
    highest and lowest expert total) and the optional combined decision rule."""

    criteria: list[CriterionIn] = Field(min_length=1, max_length=20)
    score_min: int = Field(default=0, ge=0, le=1000)
    score_max: int = Field(default=10, ge=1, le=1000)
    blinding: Blinding = Blinding.single
    dispersion_threshold: float = Field(default=20.0, gt=0, le=100)
    combined: CombinedRule | None = None

    @model_validator(mode="after")
    def _checks(self) -> Self:
        total = sum(c.weight for c in self.criteria)
        if total != WEIGHT_TOTAL:
            raise WEIGHTS_SUM_TO_100.in_validator(total=total)
        keys = [c.key for c in self.criteria]
        if len(set(keys)) != len(keys):
            raise ValueError(N_("评审项的 key 不能重复"))
        if self.score_min >= self.score_max:
            raise ValueError(N_("分值下限须小于上限"))
        return self


class RubricOut(RubricIn):
    challenge_id: int
    fixed: bool
    """Whether the rubric can no longer change (the challenge has opened)."""
