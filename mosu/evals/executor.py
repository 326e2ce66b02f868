"""Execution: send each pending sample to its model within the endpoint's limits.

The unit of work is a :class:`Shard`, a model name and a list of work items; an
:class:`Executor` runs shards and reports each :class:`~mosu.evals.store.Outcome`. The
:class:`LocalExecutor` runs them on this process's event loop. Shards carry only plain data
(names, prompts, cache keys), so a cluster executor (Ray) can ship them to workers that
build the same models from the same specs, without changing tasks, models or scoring.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from mosu.evals.limits import Pacer, RateLimiter
from mosu.evals.models.base import Model, ModelError
from mosu.evals.prompts import Message
from mosu.evals.store import Outcome

OutcomeSink = Callable[[Outcome], None]


@dataclass(frozen=True, slots=True)
class WorkItem:
    sample_id: str
    messages: list[Message]
    cache_key: str | None = None


@dataclass(frozen=True)
class Shard:
    """Samples of one model to run."""

    model: str
    items: Sequence[WorkItem]


class Executor(Protocol):
    """Runs shards and reports every outcome to ``sink`` as it happens."""

    async def run(
        self, shards: Sequence[Shard], models: Mapping[str, Model], sink: OutcomeSink
    ) -> None: ...


async def call_with_retries(
    model_name: str, model: Model, item: WorkItem, limiter: Pacer, rng: random.Random
) -> Outcome:
    """One sample: retried with jittered exponential backoff honouring ``Retry-After``,
    until it succeeds, fails for good, or runs out of retries (then recorded as an error)."""
    limits = model.limits
    attempts = 0
    start = time.perf_counter()
    while True:
        await limiter.acquire()
        attempts += 1
        retry_after: float | None = None
        try:
            async with asyncio.timeout(limits.timeout):
                output = await model.complete(item.sample_id, item.messages)
            return Outcome(
                model_name,
                item.sample_id,
                output,
                None,
                attempts,
                False,
                time.perf_counter() - start,
                item.cache_key,
            )
        except ModelError as exc:
            reason, retryable, retry_after = exc.reason, exc.retryable, exc.retry_after
        except TimeoutError:
            reason, retryable = f"timeout after {limits.timeout:g} s", True
        except Exception as exc:  # a local model's own bug must not stop the race
            reason, retryable = f"{type(exc).__name__}: {exc}", False
        if not retryable or attempts > limits.retries:
            return Outcome(
                model_name,
                item.sample_id,
                None,
                reason,
                attempts,
                False,
                time.perf_counter() - start,
            )
        await asyncio.sleep(limits.delay(attempts - 1, rng, retry_after))


class LocalExecutor:
    """Runs shards on the current event loop: per model, ``concurrency`` workers share the
    model's queue of items and one rate limiter."""

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    async def run(
        self, shards: Sequence[Shard], models: Mapping[str, Model], sink: OutcomeSink
    ) -> None:
        queues: dict[str, list[WorkItem]] = {}
        for shard in shards:
            queues.setdefault(shard.model, []).extend(shard.items)
        workers = []
        for name, items in queues.items():
            model = models[name]
            limiter = RateLimiter(model.limits.rpm)
            iterator = iter(items)
            rng = random.Random(f"{self.seed}:{name}")
            for _ in range(min(model.limits.concurrency, len(items))):
                workers.append(self._worker(name, model, iterator, limiter, rng, sink))
        await asyncio.gather(*workers)

    @staticmethod
    async def _worker(
        name: str,
        model: Model,
        items: object,
        limiter: RateLimiter,
        rng: random.Random,
        sink: OutcomeSink,
    ) -> None:
        assert hasattr(items, "__next__")
        for item in items:  # type: ignore[attr-defined]
            sink(await call_with_retries(name, model, item, limiter, rng))
