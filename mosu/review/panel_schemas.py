"""What goes into the panel's API: the draw, a recusal, a deadline, a close and a score."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from mosu.core import clock
from mosu.registry.schemas import Strict
from mosu.review.panels import MAX_SEED
from mosu.review.scoring import MIN_COMMENT


def _beijing(moment: dt.datetime | None) -> dt.datetime | None:
    """A time without a zone is Beijing time; stored in UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.SHANGHAI)
    return moment.astimezone(dt.UTC)


class PanelDrawIn(Strict):
    """抽取评审专家: ``size`` experts from the pool filtered by ``field`` ("" = every
    field); ``seed`` fixes the draw (left out: a fresh random one, recorded)."""

    size: int = Field(ge=1, le=100)
    field: str = Field(default="", max_length=100)
    seed: int | None = Field(default=None, ge=0, lt=MAX_SEED)
    deadline: dt.datetime | None = None

    _zone = field_validator("deadline")(_beijing)


class RecuseIn(Strict):
    """回避 with a reason; an operator names the member (``expert_id``)."""

    reason: str = Field(min_length=1, max_length=2000)
    expert_id: int | None = None


class DeadlineIn(Strict):
    """The scoring deadline (``null`` clears it); a time without a zone is Beijing time."""

    deadline: dt.datetime | None

    _zone = field_validator("deadline")(_beijing)


class CloseIn(Strict):
    """结束评审; with scores missing only with ``force`` and a reason."""

    force: bool = False
    reason: str = Field(default="", max_length=2000)


class ScoreIn(Strict):
    """One member's scores of one application: a score per criterion key, and a comment."""

    scores: dict[str, float]
    comment: str = Field(min_length=MIN_COMMENT, max_length=5000)


class ScoreOut(Strict):
    panel_id: int
    application_id: int
    scores: dict[str, float]
    comment: str
    total: float
    updated_at: dt.datetime
