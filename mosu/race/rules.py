"""A stage's scoring rule over quality, speed and cost (计分规则), published with the stage.

A rule is either **constraints** (``{"constraints": [{"metric": "latency_p95", "op": "<=",
"value": 3}]}``): an entry that misses one is not ranked, and the board says which and by
how much; or **weights** (``{"weights": {"quality": 0.6, "speed": 0.2, "cost": 0.2}}``):
entries are ordered by a composite score.

The composite: quality is the primary metric as it is (in [0, 1]); speed is the p50
latency and cost the cost per 1,000 samples, each min-max normalised over the ranked
entries and turned so that higher is better (``1 − (x − min) / (max − min)``; all 1 when
every entry has the same figure); the composite is the weighted sum divided by the sum of
the weights. Rank groups still come from the paired bootstrap of quality, shown beside it.
Pure functions: no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mosu.core.text import Text
from mosu.evals.service import Service
from mosu.i18n import N_
from mosu.race.errors import (
    INVALID_RULE,
)

Metric = Literal[
    "latency_p50",
    "latency_p95",
    "ttft_p50",
    "ttft_p95",
    "tpot_p50",
    "tokens_per_answer",
    "cost_per_1k",
    "coverage",
]
METRICS: dict[str, tuple[str, str]] = {
    # name: (its words, catalogued; unit)
    "latency_p50": (N_("p50 延迟"), "s"),
    "latency_p95": (N_("p95 延迟"), "s"),
    "ttft_p50": (N_("p50 首字时间"), "s"),
    "ttft_p95": (N_("p95 首字时间"), "s"),
    "tpot_p50": (N_("p50 每 token 时间"), "s"),
    "tokens_per_answer": (N_("每答 tokens"), "tokens"),
    "cost_per_1k": (N_("每千样本成本"), "¥"),
    "coverage": (N_("覆盖率"), ""),
}
SPEED = "latency_p50"
COST = "cost_per_1k"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Constraint(_Rule):
    """One published bound on a service figure (seconds, tokens, yuan, or a share)."""

    metric: Metric
    op: Literal["<=", ">="] = "<="
    value: float = Field(ge=0)

    def text(self) -> Text:
        """The bound in words: ``p95 延迟 ≤ 3 s``."""
        zh, unit = METRICS[self.metric]
        op = "≤" if self.op == "<=" else "≥"
        return Text(
            "{metric} {op} {amount}",
            {"metric": Text(zh), "op": op, "amount": _amount(self.value, unit)},
        )

    def missed(self, figures: Service) -> Text | None:
        """Why ``figures`` miss this bound (``"p95 延迟 4.1 s > 3 s"``), None if met."""
        zh, unit = METRICS[self.metric]
        value = getattr(figures, self.metric)
        if value is None:
            return Text(
                N_("{metric}未知（必须满足 {bound}）"), {"metric": Text(zh), "bound": self.text()}
            )
        ok = value <= self.value if self.op == "<=" else value >= self.value
        if ok:
            return None
        sign = ">" if self.op == "<=" else "<"
        shown = f"{_amount(value, unit)} {sign} {_amount(self.value, unit)}"
        return Text("{metric} {shown}", {"metric": Text(zh), "shown": shown})


class Weights(_Rule):
    """Weights of normalised quality, speed (p50 latency) and cost (per 1,000 samples)."""

    quality: float = Field(ge=0, le=1000)
    speed: float = Field(default=0, ge=0, le=1000)
    cost: float = Field(default=0, ge=0, le=1000)

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if self.quality + self.speed + self.cost <= 0:
            raise ValueError("at least one weight must be above 0")
        return self


class ScoringRule(_Rule):
    """Constraints or weights, never both."""

    constraints: list[Constraint] | None = Field(default=None, min_length=1, max_length=10)
    weights: Weights | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ScoringRule:
        if (self.constraints is None) == (self.weights is None):
            raise ValueError("a rule has either constraints or weights")
        return self


def _amount(value: float, unit: str) -> str:
    if unit == "¥":
        return f"¥{value:.4g}"
    if unit == "":
        return f"{value:.1%}"
    return f"{value:.3g} {unit}"


def problems(exc: ValidationError, top: str) -> str:
    """What a validation error found, field by field (``top`` names the whole)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or top}: {e['msg']}" for e in exc.errors())


def parse_rule(data: Mapping[str, Any] | None) -> ScoringRule | None:
    """A stage's rule from its JSON (None: quality alone); :class:`Invalid` says what is wrong."""
    if data is None or not data:
        return None
    try:
        return ScoringRule.model_validate(data)
    except ValidationError as exc:
        raise INVALID_RULE(problems=problems(exc, "rule"), details={"field": "rule"}) from None


def rule_text(rule: ScoringRule | None) -> Text:
    """The published rule in words, shown in the reader's language."""
    if rule is None:
        return Text(N_("按质量（主指标）排名"))
    if rule.constraints is not None:
        bounds = Text.joined([c.text() for c in rule.constraints], N_("{a}；{b}"))
        return Text(N_("须满足：{bounds}，未满足者不排名"), {"bounds": bounds})
    w = rule.weights
    assert w is not None
    total = w.quality + w.speed + w.cost
    parts = [(w.quality, N_("质量")), (w.speed, N_("速度")), (w.cost, N_("成本"))]
    terms = [
        Text("{weight}×{name}", {"weight": format(x / total, ".2f"), "name": Text(name)})
        for x, name in parts
        if x
    ]
    return Text(
        N_("综合分 = {terms}（速度、成本按参赛者间最小最大值归一，越低越好）"),
        {"terms": Text.joined(terms, "{a} + {b}")},
    )


def unmet(rule: ScoringRule | None, figures: Service) -> Text | None:
    """Why an entry with these figures cannot be ranked under the rule, or None."""
    if rule is None:
        return None
    if rule.constraints is not None:
        missed = [m for c in rule.constraints if (m := c.missed(figures)) is not None]
        return Text.joined(missed, N_("{a}；{b}")) if missed else None
    w = rule.weights
    assert w is not None
    if w.speed and getattr(figures, SPEED) is None:
        return Text(N_("速度未知，无法计算综合分"))
    if w.cost and getattr(figures, COST) is None:
        return Text(N_("成本未知（没有价格或 token 计数），无法计算综合分"))
    return None


def _goodness(values: Mapping[str, float]) -> dict[str, float]:
    """Min-max normalised and turned so that the lowest value scores 1, the highest 0."""
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    if high == low:
        return dict.fromkeys(values, 1.0)
    return {k: 1 - (v - low) / (high - low) for k, v in values.items()}


def composite(
    weights: Weights, quality: Mapping[str, float], figures: Mapping[str, Service]
) -> dict[str, float]:
    """Each entry's composite score (see the module's docstring); keys as in ``quality``."""
    speed = _goodness(
        {k: v for k in quality if (v := getattr(figures[k], SPEED)) is not None}
        if weights.speed
        else {}
    )
    cost = _goodness(
        {k: v for k in quality if (v := getattr(figures[k], COST)) is not None}
        if weights.cost
        else {}
    )
    total = weights.quality + weights.speed + weights.cost
    return {
        k: (
            weights.quality * q
            + weights.speed * speed.get(k, 0.0)
            + weights.cost * cost.get(k, 0.0)
        )
        / total
        for k, q in quality.items()
    }


__all__ = [
    "METRICS",
    "Constraint",
    "ScoringRule",
    "Weights",
    "composite",
    "parse_rule",
    "rule_text",
    "unmet",
]
