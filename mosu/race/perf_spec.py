"""A service-performance stage (性能压测阶段) is told apart by the ``perf`` section of its task.

A stage whose ``task`` JSON holds ``{"perf": {"steps": [1, 4, 16], "requests_per_step": 64,
"slo_p95": 3.0, "max_tokens": 256}, "prompt": {...}}`` measures each entry's endpoint under
load (:mod:`mosu.evals.perf`) instead of scoring its answers: the prompts are the stage's
test rows rendered with its template. The section is the platform's, not the engine's, so
:func:`engine_definition` takes it out (and supplies a scorer, which a perf stage has no
use for) before the engine reads the task. Pure: no database, no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mosu.challenges.models import SubmissionMode
from mosu.evals.perf import MAX_ERROR_RATE
from mosu.race.errors import (
    INVALID_PERF,
    PERF_TAKES_ENDPOINTS,
)
from mosu.race.image_delivery import IMAGE_DELIVERY_KEY, image_delivery
from mosu.race.rules import problems

PERF_KEY = "perf"
MAX_STEP = 256


class PerfStage(BaseModel):
    """What a perf stage measures: concurrency steps, requests per step, the p95 latency
    objective in seconds, the error rate a step may have within it, ``max_tokens`` sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[int] = [1, 4, 16]
    requests_per_step: int = Field(default=64, ge=1, le=5000)
    slo_p95: float = Field(default=3.0, gt=0)
    max_error_rate: float = Field(default=MAX_ERROR_RATE, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)

    @field_validator("steps")
    @classmethod
    def _rising(cls, steps: list[int]) -> list[int]:
        if not steps or steps != sorted(set(steps)) or steps[0] < 1 or steps[-1] > MAX_STEP:
            raise ValueError(f"steps must rise, from 1 to at most {MAX_STEP}")
        return steps


def perf_stage(definition: Mapping[str, Any]) -> PerfStage | None:
    """The stage's perf section, or ``None`` for a quality stage; :class:`Invalid` names
    what is wrong with a section that does not validate."""
    section = definition.get(PERF_KEY)
    if section is None:
        return None
    try:
        return PerfStage.model_validate(section)
    except ValidationError as exc:
        raise INVALID_PERF(problems=problems(exc, PERF_KEY)) from None


def engine_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The task definition as the engine reads it: the platform's keys taken out (a perf
    stage's section, and the image delivery, which must be a known one), and a scorer
    supplied to a perf stage when it names none."""
    image_delivery(definition)
    out = {k: v for k, v in definition.items() if k not in (PERF_KEY, IMAGE_DELIVERY_KEY)}
    if PERF_KEY in definition:
        out.setdefault("scorers", ["exact_match"])
    return out


def check_mode(definition: Mapping[str, Any], mode: SubmissionMode) -> None:
    """A perf stage measures endpoints: a predictions file has no latency."""
    if perf_stage(definition) is not None and mode is not SubmissionMode.endpoint:
        raise PERF_TAKES_ENDPOINTS()
