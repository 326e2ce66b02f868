"""Service performance under load (压测): one endpoint measured at rising concurrency steps.

At each step (for example 1, 4, 16, 64 requests at once) exactly ``concurrency`` workers run
a closed loop, each sending the next prompt as soon as its previous answer has come back,
until the step's requests are done. Per request the time to the whole answer (latency), to
its first token (TTFT, streamed answers) and the output tokens the endpoint's ``usage``
counted are kept; per step :class:`StepResult` sums them: requests per second, output
tokens per second, error rate, latency, TTFT and time per output token (TPOT) percentiles.
:attr:`PerfResult.max_concurrency_within_slo` is the largest step up to which every step
kept its 95th percentile latency within the service level objective (SLO) and its error
rate at or below ``max_error_rate``.

A measurement never retries: an error counts as an error. The executor's circuit breaker
(:class:`~mosu.evals.executor.Breaker`) still stops it: HTTP 401, 403 or 404, an address the
network policy refuses, or ``max_unreachable`` attempts in a row without an HTTP answer;
until the endpoint's first HTTP answer only one request is in flight.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from pydantic import BaseModel

from mosu.evals import aio
from mosu.evals.executor import Breaker, WorkItem, run_worker
from mosu.evals.limits import RateLimiter
from mosu.evals.models.base import Model
from mosu.evals.models.specs import SecretLookup, build_model
from mosu.evals.netpolicy import LOCAL, AddressPolicy
from mosu.evals.prompts import Message
from mosu.evals.results import error_reason
from mosu.evals.service import percentile, tpot
from mosu.evals.store import Outcome
from mosu.evals.tasks import Task, parse_task

DEFAULT_STEPS = (1, 4, 16, 64)
MAX_ERROR_RATE = 0.01
"""A step whose error rate is above this (1%) is not within the SLO, whatever its latency."""
STOP_FACTOR = 2.0
"""Steps stop after one whose p95 latency is above this many times the SLO (a worse one
follows at more load), or whose every request failed."""
MIN_ROUNDS = 2
"""A step sends at least this many requests per worker, so its figures are not those of
the first round alone (connections opening) nor of the last (workers running out)."""
ANSWER_MODEL = "perf"


class RequestRecord(BaseModel):
    """One request of a step: when it started (seconds after the step began), how long it
    took, when its first token came, the output tokens ``usage`` counted, or its error."""

    start: float
    latency: float
    ttft: float | None = None
    output_tokens: int | None = None
    truncated: bool = False
    error: str | None = None

    @property
    def tpot(self) -> float | None:
        """Seconds per output token after the first (:func:`~mosu.evals.service.tpot`)."""
        return None if self.error else tpot(self.latency, self.ttft, self.output_tokens)


class StepResult(BaseModel):
    """One concurrency step's figures (seconds, tokens). Latency, TTFT, TPOT and tokens are
    over answered requests; rates over the step's wall time, from its first request's start
    to its last answer."""

    concurrency: int
    requests: int
    answered: int
    errors: int
    error_rate: float
    error_reasons: dict[str, int]
    duration: float
    requests_per_s: float
    output_tokens_per_s: float
    output_tokens_mean: float | None = None
    truncated: int = 0
    peak_in_flight: int = 0
    latency_mean: float | None = None
    latency_p50: float | None = None
    latency_p90: float | None = None
    latency_p95: float | None = None
    latency_p99: float | None = None
    ttft_mean: float | None = None
    ttft_p50: float | None = None
    ttft_p95: float | None = None
    ttft_p99: float | None = None
    tpot_mean: float | None = None
    tpot_p50: float | None = None
    within_slo: bool = False
    records: list[RequestRecord] = []


class PerfResult(BaseModel):
    """A whole measurement: its steps, the largest concurrency within the SLO and the output
    tokens per second there, and why it stopped before its last step, if it did
    (``stopped``: the circuit breaker; ``ended_early``: a step far over the SLO or all
    errors)."""

    model: str
    slo_p95: float
    max_error_rate: float
    requests_per_step: int
    max_tokens: int | None = None
    steps: list[StepResult]
    max_concurrency_within_slo: int | None = None
    tokens_per_s_within_slo: float | None = None
    stopped: str | None = None
    ended_early: str | None = None

    @property
    def failed(self) -> str | None:
        """Why the measurement says nothing of the service, or ``None``: the breaker stopped
        it, or not one request was answered."""
        if self.stopped is not None:
            return self.stopped
        if not any(step.answered for step in self.steps):
            return "every request failed"
        return None


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def summarise(
    concurrency: int,
    records: Sequence[RequestRecord],
    duration: float,
    *,
    slo_p95: float,
    max_error_rate: float = MAX_ERROR_RATE,
    peak_in_flight: int = 0,
    keep_records: bool = True,
) -> StepResult:
    """A step's figures from its requests; percentiles are numpy's (linear interpolation)."""
    answered = [r for r in records if r.error is None]
    errors = [r.error for r in records if r.error is not None]
    latencies = [r.latency for r in answered]
    ttfts = [r.ttft for r in answered if r.ttft is not None]
    tpots = [t for r in answered if (t := r.tpot) is not None]
    tokens = [r.output_tokens for r in answered if r.output_tokens is not None]
    wall = max(duration, 1e-9)
    error_rate = len(errors) / len(records) if records else 1.0
    p95 = percentile(latencies, 95)
    return StepResult(
        concurrency=concurrency,
        requests=len(records),
        answered=len(answered),
        errors=len(errors),
        error_rate=error_rate,
        error_reasons=dict(Counter(error_reason(e) for e in errors)),
        duration=duration,
        requests_per_s=len(records) / wall,
        output_tokens_per_s=sum(tokens) / wall,
        output_tokens_mean=_mean(tokens),
        truncated=sum(r.truncated for r in answered),
        peak_in_flight=peak_in_flight,
        latency_mean=_mean(latencies),
        latency_p50=percentile(latencies, 50),
        latency_p90=percentile(latencies, 90),
        latency_p95=p95,
        latency_p99=percentile(latencies, 99),
        ttft_mean=_mean(ttfts),
        ttft_p50=percentile(ttfts, 50),
        ttft_p95=percentile(ttfts, 95),
        ttft_p99=percentile(ttfts, 99),
        tpot_mean=_mean(tpots),
        tpot_p50=percentile(tpots, 50),
        within_slo=p95 is not None and p95 <= slo_p95 and error_rate <= max_error_rate,
        records=list(records) if keep_records else [],
    )


def max_within_slo(steps: Sequence[StepResult]) -> StepResult | None:
    """The last step of the unbroken run of steps within the SLO from the first one (a
    step that passes after one that missed is noise, not capacity); ``None`` when the
    first step missed."""
    best = None
    for step in steps:
        if not step.within_slo:
            break
        best = step
    return best


def _perf_task(max_tokens: int | None, temperature: float) -> Task:
    """A one-row task that carries the generation parameters to ``Model.prepare``."""
    return parse_task(
        {
            "name": "perf",
            "splits": {
                "test": {
                    "format": "inline",
                    "rows": [{"id": "0", "text": "", "label": ""}],
                    "id_field": "id",
                    "label_field": "label",
                }
            },
            "prompt": {"template": "{{ text }}"},
            "scorers": ["exact_match"],
            "generation": {"temperature": temperature, "max_tokens": max_tokens},
        },
        where="perf",
    )


async def _run_step(
    model: Model, prompts: Sequence[list[Message]], concurrency: int, total: int, breaker: Breaker
) -> tuple[list[RequestRecord], float, int]:
    """``concurrency`` of the executor's workers in a closed loop until ``total`` requests
    are done: the requests, the step's wall time and the most that were in flight at once."""
    records: list[RequestRecord] = []
    in_flight = peak = 0
    began = time.perf_counter()

    def requests() -> Iterator[WorkItem]:
        nonlocal in_flight, peak
        for index in range(total):
            in_flight += 1  # a worker takes the next request only to send it
            peak = max(peak, in_flight)
            yield WorkItem(f"r{index}", prompts[index % len(prompts)])

    def sink(done: Outcome) -> None:
        nonlocal in_flight
        in_flight -= 1
        records.append(
            RequestRecord(
                start=time.perf_counter() - began - done.latency,
                latency=done.latency,
                ttft=done.ttft,
                output_tokens=done.completion_tokens,
                truncated=done.truncated,
                error=done.error,
            )
        )

    queue, limiter, rng = requests(), RateLimiter(None), random.Random(0)
    await asyncio.gather(
        *(
            run_worker(ANSWER_MODEL, model, queue, limiter, rng, breaker, sink, lead=i == 0)
            for i in range(concurrency)
        )
    )
    return records, time.perf_counter() - began, peak


def _check(steps: Sequence[int], prompts: Sequence[object], requests: int, slo: float) -> None:
    if not steps or any(s < 1 for s in steps) or list(steps) != sorted(set(steps)):
        raise ValueError("steps must be rising whole numbers of at least 1, e.g. 1,4,16,64")
    if not prompts:
        raise ValueError("a measurement needs at least one prompt")
    if requests < 1 or not slo > 0:
        raise ValueError("requests per step must be at least 1 and the SLO positive")


async def ameasure(
    model: Model | str,
    prompts: Sequence[str | list[Message]],
    *,
    steps: Sequence[int] = DEFAULT_STEPS,
    requests_per_step: int = 64,
    slo_p95: float = 3.0,
    max_error_rate: float = MAX_ERROR_RATE,
    max_tokens: int | None = None,
    temperature: float = 0.0,
    min_rounds: int = MIN_ROUNDS,
    name: str = "model",
    network: AddressPolicy = LOCAL,
    environ: Mapping[str, str] | None = None,
    secrets: SecretLookup | None = None,
    keep_records: bool = True,
    on_step: Callable[[StepResult], None] | None = None,
) -> PerfResult:
    """Measure ``model`` (a model or a spec string) at each of ``steps`` concurrent requests.

    A step sends ``max(requests_per_step, min_rounds × concurrency)`` requests, cycling
    through ``prompts`` (strings, or chat messages). The model's connection limit is raised
    to the largest step and its retries are off for the measurement (``rpm`` is not
    applied: the steps set the load). Raises ``ValueError`` for steps that do not rise,
    no prompts, or a non-positive SLO.
    """
    _check(steps, prompts, requests_per_step, slo_p95)
    messages = [[{"role": "user", "content": p}] if isinstance(p, str) else p for p in prompts]
    built = (
        build_model(model, environ=environ, secrets=secrets, policy=network)
        if isinstance(model, str)
        else model
    )
    original = built.limits
    built.limits = replace(original, concurrency=max(original.concurrency, *steps), retries=0)
    result = PerfResult(
        model=name,
        slo_p95=slo_p95,
        max_error_rate=max_error_rate,
        requests_per_step=requests_per_step,
        max_tokens=max_tokens,
        steps=[],
    )
    try:
        await built.prepare(_perf_task(max_tokens, temperature))
        breaker = Breaker(original.max_unreachable)
        for concurrency in steps:
            total = max(requests_per_step, min_rounds * concurrency)
            records, wall, peak = await _run_step(built, messages, concurrency, total, breaker)
            step = summarise(
                concurrency,
                records,
                wall,
                slo_p95=slo_p95,
                max_error_rate=max_error_rate,
                peak_in_flight=peak,
                keep_records=keep_records,
            )
            result.steps.append(step)
            if on_step is not None:
                on_step(step)
            if breaker.reason is not None:
                result.stopped = breaker.reason
                break
            why = _end_reason(step, slo_p95)
            if why is not None and concurrency != steps[-1]:
                result.ended_early = why
                break
    finally:
        await built.aclose()
        built.limits = original
    best = max_within_slo(result.steps)
    if best is not None and result.stopped is None:
        result.max_concurrency_within_slo = best.concurrency
        result.tokens_per_s_within_slo = best.output_tokens_per_s
    return result


def _end_reason(step: StepResult, slo_p95: float) -> str | None:
    """Why no larger step is worth sending, or ``None``."""
    if step.answered == 0:
        return f"every request at concurrency {step.concurrency} failed"
    p95 = step.latency_p95 or 0.0
    if p95 > STOP_FACTOR * slo_p95:
        return (
            f"p95 latency {p95:.2f} s at concurrency {step.concurrency} is over "
            f"{STOP_FACTOR:g} × the SLO ({slo_p95:g} s)"
        )
    return None


def measure(
    model: Model | str,
    prompts: Sequence[str | list[Message]],
    *,
    loop: str = "uvloop",
    **options: Any,
) -> PerfResult:
    """:func:`ameasure` on a new event loop (uvloop where installed)."""
    return aio.run(ameasure(model, prompts, **options), loop)


__all__ = [
    "DEFAULT_STEPS",
    "MAX_ERROR_RATE",
    "PerfResult",
    "RequestRecord",
    "StepResult",
    "ameasure",
    "max_within_slo",
    "measure",
    "summarise",
]
