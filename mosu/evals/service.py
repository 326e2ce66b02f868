"""What a buyer weighs beside quality: how much of the test a model answered, how fast, in
how many tokens, at what cost.

:func:`service` reads a model's stored outcomes. Latency is that of the attempt that gave
the answer; time to first token and time per output token need streamed answers
(``stream=1``); tokens are what the endpoint's ``usage`` counted; cost is those tokens at
the model's :class:`~mosu.evals.models.base.Price`. Percentiles are numpy's (linear
interpolation), over answered samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from mosu.evals.loaders import Sample
from mosu.evals.models.base import Price
from mosu.evals.store import Outcome


class Service(BaseModel):
    """One model's service figures over a race's samples (seconds, tokens, yuan)."""

    samples: int
    answered: int
    coverage: float
    truncated: int
    by_logprobs: int = 0  # choices read from the first token's log-probabilities
    latency_p50: float | None = None
    latency_p95: float | None = None
    ttft_p50: float | None = None
    ttft_p95: float | None = None
    tpot_p50: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_per_answer: float | None = None
    cost: float | None = None
    cost_per_1k: float | None = None


def ms(seconds: float | None) -> str:
    """Seconds as whole milliseconds for a table cell; empty when unknown."""
    return "" if seconds is None else f"{seconds * 1000:.0f}"


def percentile(values: Sequence[float], q: float) -> float | None:
    """numpy's percentile (linear interpolation), ``None`` of nothing. NumPy is imported
    here, not with the module: ``mosu eval`` formats with :func:`ms` before a race."""
    import numpy as np

    return float(np.percentile(values, q)) if values else None


def tpot(latency: float, ttft: float | None, tokens: int | None) -> float | None:
    """Seconds per output token after the first: (latency − TTFT) / (tokens − 1), for a
    streamed answer of two tokens or more."""
    if ttft is None or tokens is None or tokens < 2:
        return None
    return (latency - ttft) / (tokens - 1)


def service(
    samples: Sequence[Sample], rows: Mapping[str, Outcome], price: Price | None = None
) -> Service:
    """The figures of one model's outcomes ``rows`` on ``samples``."""
    answers = [o for s in samples if (o := rows.get(s.id)) is not None and o.output is not None]
    timed = [o.latency for o in answers if not (o.cached and o.latency == 0)]
    ttfts = [o.ttft for o in answers if o.ttft is not None]
    timed_tokens = [tpot(o.latency, o.ttft, o.completion_tokens) for o in answers]
    tpots = [t for t in timed_tokens if t is not None]
    counted = [
        o for o in answers if o.prompt_tokens is not None and o.completion_tokens is not None
    ]
    figures = Service(
        samples=len(samples),
        answered=len(answers),
        coverage=len(answers) / len(samples) if samples else 0.0,
        truncated=sum(o.truncated for o in answers),
        by_logprobs=sum(o.method == "logprobs" for o in answers),
        latency_p50=percentile(timed, 50),
        latency_p95=percentile(timed, 95),
        ttft_p50=percentile(ttfts, 50),
        ttft_p95=percentile(ttfts, 95),
        tpot_p50=percentile(tpots, 50),
    )
    if counted:
        prompt = sum(o.prompt_tokens or 0 for o in counted)
        completion = sum(o.completion_tokens or 0 for o in counted)
        figures.prompt_tokens, figures.completion_tokens = prompt, completion
        figures.tokens_per_answer = completion / len(counted)
        if price is not None:
            figures.cost = price.cost(prompt, completion)
            figures.cost_per_1k = figures.cost / len(counted) * 1000
    return figures


def pareto(points: Mapping[str, tuple[float, float]]) -> set[str]:
    """The names on the quality-cost Pareto front of ``points`` (name → (quality, cost)):
    those no other point beats, with quality as high or higher at a cost as low or lower,
    better in one of them."""
    return {
        name
        for name, (quality, cost) in points.items()
        if not any(
            q >= quality and c <= cost and (q > quality or c < cost)
            for other, (q, c) in points.items()
            if other != name
        )
    }
