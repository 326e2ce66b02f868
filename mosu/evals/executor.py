"""Execution: send each pending sample to its model within the endpoint's limits.

The unit of work is a :class:`Shard`, a model name and a list of work items; an
:class:`Executor` runs shards and reports each :class:`~mosu.evals.store.Outcome`. The
:class:`LocalExecutor` runs them on this process's event loop. Shards carry only plain data
(names, prompts, cache keys), so a cluster executor (Ray) can ship them to workers that
build the same models from the same specs, without changing tasks, models or scoring.

Each model's calls pass through a :class:`Breaker` (熔断): an answer of HTTP 401, 403 or
404, an address the network policy refuses, or ``max_unreachable`` attempts in a row
without an HTTP answer (those in flight together count once) stop the model's run.
Samples not sent by then are never sent and not recorded; the executor returns the reason.
Until the model's first HTTP answer only one request is in flight (slow start), so a dead
or refusing endpoint costs one request or ``max_unreachable`` attempts, not one per worker.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from mosu.evals.limits import Pacer, RateLimiter
from mosu.evals.models.base import Completion, Model, ModelError
from mosu.evals.prompts import Message
from mosu.evals.store import Outcome

OutcomeSink = Callable[[Outcome], None]
STOP_STATUS = frozenset({401, 403, 404})


class Breaker:
    """One model's circuit breaker. ``reason`` is set once it trips; ``settled`` is set at
    the first HTTP answer (the other workers may start) or at the trip.

    Attempts without an answer count in a row only when each was sent after the previous
    counted one had failed: requests that were in flight together when the endpoint
    stalled are one failure, not ``concurrency`` of them. An endpoint that stops answering
    for a moment in the middle of a race (every request in flight times out) therefore
    costs one count, and only ``max_unreachable`` such rounds of retries in a row stop the
    model; before the first answer only one request is in flight, so a dead endpoint
    still costs ``max_unreachable`` attempts."""

    def __init__(self, max_unreachable: int) -> None:
        self.max_unreachable = max_unreachable
        self.unreachable = 0
        self.counted_at = -math.inf  # when the last counted attempt failed
        self.reason: str | None = None
        self.settled = asyncio.Event()

    def _trip(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.settled.set()

    def observe(
        self, error: ModelError | None, *, timed_out: bool = False, began: float | None = None
    ) -> None:
        """Count one attempt's end: ``error`` is ``None`` for an answer (or a local failure);
        ``began`` is when it was sent (``time.perf_counter()``), ``None`` to count it
        whatever its start."""
        if timed_out or (error is not None and error.unreachable and not error.refused):
            if began is not None and began < self.counted_at:
                return  # in flight together with the failure already counted
            self.counted_at = time.perf_counter()
            self.unreachable += 1
            if self.unreachable >= self.max_unreachable:
                self._trip(f"stopped: endpoint unreachable ({self.unreachable} attempts in a row)")
            return
        if error is not None and error.refused:
            self._trip("stopped: endpoint address not allowed")
        elif error is not None and error.status in STOP_STATUS:
            self._trip(f"stopped: HTTP {error.status} from the endpoint")
        self.unreachable = 0
        self.settled.set()


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One request to make: ``sample_id`` is what its outcome is stored under (``ID#1`` for
    a repeat, :func:`~mosu.evals.store.epoch_id`), ``source_id`` the sample's own id when
    that differs (what the model is told it answers)."""

    sample_id: str
    messages: list[Message]
    cache_key: str | None = None
    prompt_hash: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class Shard:
    """Samples of one model to run."""

    model: str
    items: Sequence[WorkItem]


class Executor(Protocol):
    """Runs shards and reports every outcome to ``sink`` as it happens; returns the models
    whose breaker stopped them, with the reason."""

    async def run(
        self, shards: Sequence[Shard], models: Mapping[str, Model], sink: OutcomeSink
    ) -> dict[str, str]: ...


async def call_with_retries(
    model_name: str,
    model: Model,
    item: WorkItem,
    limiter: Pacer,
    rng: random.Random,
    breaker: Breaker | None = None,
) -> Outcome | None:
    """One sample: retried with jittered exponential backoff honouring ``Retry-After``,
    until it succeeds, fails for good, or runs out of retries (then recorded as an error).
    Once ``breaker`` has tripped no attempt starts: ``None`` if none had been sent. An
    answer's latency is that of the attempt that gave it (what the service took), a
    failure's the time from the first attempt to giving up."""
    limits = model.limits
    attempts = 0
    start = time.perf_counter()
    reason = ""
    while True:
        await limiter.acquire()
        if breaker is not None and breaker.reason is not None:
            if not attempts:
                return None
            return Outcome(
                model_name, item.sample_id, None, reason, attempts, False,
                time.perf_counter() - start, prompt_hash=item.prompt_hash,
            )  # fmt: skip
        attempts += 1
        began = time.perf_counter()
        retry_after: float | None = None
        error: ModelError | None = None
        timed_out = False
        try:
            async with asyncio.timeout(limits.timeout):
                answer = await model.complete(item.source_id or item.sample_id, item.messages)
            if breaker is not None:
                breaker.observe(None)
            done = answer if isinstance(answer, Completion) else Completion(answer)
            return Outcome(
                model_name,
                item.sample_id,
                done.text,
                None,
                attempts,
                False,
                time.perf_counter() - began,
                item.cache_key,
                done.ttft,
                done.prompt_tokens,
                done.completion_tokens,
                done.finish_reason,
                item.prompt_hash,
                done.method,
            )
        except ModelError as exc:
            reason, retryable, retry_after, error = exc.reason, exc.retryable, exc.retry_after, exc
        except TimeoutError:
            reason, retryable, timed_out = f"timeout after {limits.timeout:g} s", True, True
        except Exception as exc:  # a local model's own bug must not stop the race
            reason, retryable = f"{type(exc).__name__}: {exc}", False
        if breaker is not None:
            breaker.observe(error, timed_out=timed_out, began=began)
        if not retryable or attempts > limits.retries:
            return Outcome(
                model_name,
                item.sample_id,
                None,
                reason,
                attempts,
                False,
                time.perf_counter() - start,
                prompt_hash=item.prompt_hash,
            )
        await asyncio.sleep(limits.delay(attempts - 1, rng, retry_after))


class LocalExecutor:
    """Runs shards on the current event loop: per model, ``concurrency`` workers share the
    model's queue of items and one rate limiter."""

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    async def run(
        self, shards: Sequence[Shard], models: Mapping[str, Model], sink: OutcomeSink
    ) -> dict[str, str]:
        queues: dict[str, list[Sequence[WorkItem]]] = {}
        for shard in shards:  # items are taken (and may be built) only as they are sent
            queues.setdefault(shard.model, []).append(shard.items)
        workers = []
        breakers: dict[str, Breaker] = {}
        for name, parts in queues.items():
            model = models[name]
            limiter = RateLimiter(model.limits.rpm)
            iterator = itertools.chain.from_iterable(parts)
            rng = random.Random(f"{self.seed}:{name}")
            breaker = breakers[name] = Breaker(model.limits.max_unreachable)
            for i in range(min(model.limits.concurrency, sum(map(len, parts)))):
                workers.append(
                    run_worker(name, model, iterator, limiter, rng, breaker, sink, lead=i == 0)
                )
        await asyncio.gather(*workers)
        return {name: b.reason for name, b in breakers.items() if b.reason is not None}


async def run_worker(
    name: str,
    model: Model,
    items: Iterator[WorkItem],
    limiter: Pacer,
    rng: random.Random,
    breaker: Breaker,
    sink: OutcomeSink,
    *,
    lead: bool,
) -> None:
    """One of a model's workers: the lead starts at once, the others at the model's first
    HTTP answer; all stop taking samples once the breaker trips."""
    if not lead:
        await breaker.settled.wait()
    try:
        for item in items:
            if breaker.reason is not None:
                return
            outcome = await call_with_retries(name, model, item, limiter, rng, breaker)
            if outcome is not None:
                sink(outcome)
    finally:
        if lead:  # no samples left: the others need not wait for an answer any longer
            breaker.settled.set()
