"""Run a race's shards as Ray tasks, on one machine or a cluster (the optional ``ray`` extra).

The driver (the process that called :func:`mosu.evals.run`) keeps the durable store: each
shard runs as a streaming Ray task that yields its outcomes as they finish, and the driver
hands each one to the same sink as :class:`~mosu.evals.executor.LocalExecutor`, so resume,
caching and scoring are unchanged. Each endpoint's limits hold across the whole cluster:
one :class:`EndpointLimiter` actor per endpoint (URL, model, key and limits) grants its
``concurrency`` slots and paces request starts ``60 / rpm`` seconds apart for every shard
on every node, of every race that calls that endpoint at the same time (a detached actor in
the ``mosu`` namespace, found by name). Local models get a limiter for the race alone.

The models share the cluster's shard slots (its CPUs over ``cpus_per_shard``) evenly, so a
race over several endpoints keeps every endpoint busy instead of queueing one endpoint's
shards ahead of the others'. Each shard has its own :class:`~mosu.evals.executor.Breaker`;
a model's first shard runs alone until an answer of that model reaches the driver, and once one shard's breaker trips,
no other shard of that model starts (one already running stops by its own breaker); the
executor returns the reason, as the local one does.

A shard whose worker dies (process killed, node lost) is run again with only the samples
whose outcome had not reached the driver, so no completed request is sent twice; the slots
the dead attempt held are given back first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mosu.evals import aio
from mosu.evals.errors import EvalError
from mosu.evals.executor import Breaker, OutcomeSink, Shard, WorkItem, call_with_retries
from mosu.evals.limits import Pacer
from mosu.evals.models.base import Model
from mosu.evals.store import Outcome

DEFAULT_SHARD_SIZE = 250
CPUS_PER_SHARD = 0.2
"""A shard's share of a Ray CPU. Measured on 2 CPUs over ten endpoints (bench/ray_race.py):
one CPU a shard ran two shards, so two endpoints, at once (351 samples/s); 0.2 ran ten
(1,900 samples/s, where the CPUs, not the endpoints, became the bound)."""
LIMITER_NAMESPACE = "mosu"
FORGET_AFTER = 3600.0
"""Seconds a finished shard attempt is remembered by a limiter (so a late request of it is
refused); shared limiters live as long as the cluster, so older ones are dropped."""
_INIT_LOCK = threading.Lock()


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EvalError(
            "the Ray executor needs Ray: pip install 'mosu[ray]' (or unset MOSU_RAY_ADDRESS)"
        ) from None
    return ray


class EndpointLimiter:
    """One model's limits for the whole cluster (a Ray actor): ``concurrency`` slots, held
    by shard attempts, and request starts paced ``60 / rpm`` seconds apart."""

    def __init__(self, concurrency: int, rpm: float | None) -> None:
        self.capacity = concurrency
        self.interval = 60.0 / rpm if rpm else 0.0
        self.held: Counter[str] = Counter()
        self.closed: dict[str, float] = {}  # finished holders -> when
        self.peak = 0
        self.paced = 0
        self._next = 0.0
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def enter(self, holder: str) -> bool:
        """Wait for a free slot and give it to ``holder``; ``False`` once the holder is
        finished (a late request is then granted nothing)."""
        changed = self._condition()
        async with changed:
            await changed.wait_for(
                lambda: holder in self.closed or self.held.total() < self.capacity
            )
            if holder in self.closed:
                return False
            self.held[holder] += 1
            self.peak = max(self.peak, self.held.total())
            return True

    async def leave(self, holder: str) -> None:
        changed = self._condition()
        async with changed:
            if self.held[holder] > 0:
                self.held[holder] -= 1
            changed.notify_all()

    async def forget(self, holder: str) -> None:
        """Give back every slot a finished or dead shard attempt held, and any it waits for."""
        changed = self._condition()
        async with changed:
            self.held.pop(holder, None)
            now = time.monotonic()
            self.closed[holder] = now
            if len(self.closed) > 1000:
                self.closed = {h: t for h, t in self.closed.items() if now - t < FORGET_AFTER}
            changed.notify_all()

    async def pace(self) -> float:
        """Seconds the caller must wait before its request starts."""
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.interval
        self.paced += 1
        return start - now

    async def stats(self) -> dict[str, int]:
        return {"peak": self.peak, "held": self.held.total(), "paced": self.paced}


class _NoPace:
    async def acquire(self) -> None:
        return None


_NO_PACE = _NoPace()


class _ClusterPacer:
    def __init__(self, limiter: Any) -> None:
        self.limiter = limiter

    async def acquire(self) -> None:
        wait = await self.limiter.pace.remote()
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass(frozen=True)
class Stopped:
    """A shard's breaker tripped: no more samples of ``model`` are to be sent."""

    model: str
    reason: str


async def _run_items(
    name: str,
    model: Model,
    items: Sequence[WorkItem],
    limiter: Any,
    holder: str,
    seed: int,
    emit: Callable[[Outcome | Stopped], None],
) -> None:
    if not items:
        return
    pacer: Pacer = _ClusterPacer(limiter) if model.limits.rpm else _NO_PACE
    rng = random.Random(f"{seed}:{name}:{holder}")
    pending = iter(items)
    left = len(items)
    finished = asyncio.Event()
    breaker = Breaker(model.limits.max_unreachable)

    async def worker(lead: bool) -> None:
        """Holds one of the endpoint's slots while this shard has samples to send (as a
        local worker does), so a sample costs no round trip to the limiter; the lead starts
        at once, the others at the first answer."""
        nonlocal left
        try:
            if not lead:
                await breaker.settled.wait()
            if breaker.reason is not None or not await limiter.enter.remote(holder):
                return
            try:
                for item in pending:
                    if breaker.reason is not None:
                        break
                    outcome = await call_with_retries(name, model, item, pacer, rng, breaker)
                    if outcome is not None:
                        emit(outcome)
                    left -= 1
                    if not left or breaker.reason is not None:
                        finished.set()
            finally:
                limiter.leave.remote(holder)
        except BaseException:
            finished.set()
            raise
        finally:
            if lead:
                breaker.settled.set()

    workers = [
        asyncio.ensure_future(worker(i == 0))
        for i in range(min(model.limits.concurrency, len(items)))
    ]
    try:
        await finished.wait()
        await limiter.forget.remote(holder)  # releases the workers still queued for a slot
        await asyncio.gather(*workers)
        if breaker.reason is not None:
            emit(Stopped(name, breaker.reason))
    finally:
        for task in workers:
            task.cancel()
        await limiter.forget.remote(holder)
        await model.aclose()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()


def mosu_shard(
    name: str,
    model: Model,
    items: Sequence[WorkItem],
    limiter: Any,
    holder: str,
    seed: int,
    loop: str = "uvloop",
) -> Iterator[list[Outcome | Stopped]]:
    """A shard on a Ray worker: yields its outcomes in small batches as they finish (and
    :class:`Stopped` when its breaker trips), on an event loop of kind ``loop``."""
    outbox: queue.Queue[object] = queue.Queue()

    def main() -> None:
        try:
            aio.run(_run_items(name, model, items, limiter, holder, seed, outbox.put), loop)
            outbox.put(_DONE)
        except BaseException as exc:  # handed to the driver as the shard's error
            outbox.put(_Failed(exc))

    threading.Thread(target=main, daemon=True, name=f"mosu-shard-{holder}").start()
    while True:
        batch = [outbox.get()]
        while True:
            try:
                batch.append(outbox.get_nowait())
            except queue.Empty:
                break
        outcomes = [o for o in batch if isinstance(o, Outcome | Stopped)]
        if outcomes:
            yield outcomes
        for entry in batch:
            if isinstance(entry, _Failed):
                raise entry.error
            if entry is _DONE:
                return


@functools.cache
def _remote() -> tuple[Any, Any]:
    ray = _ray()
    limiter = ray.remote(num_cpus=0, max_concurrency=10_000)(EndpointLimiter)
    shard = ray.remote(num_returns="streaming", max_retries=0)(mosu_shard)
    return limiter, shard


def _limiter(limiter_cls: Any, model: Model) -> Any:
    """The model's limiter: for an endpoint, one detached actor named after the endpoint and
    its limits, shared by every race on the cluster that calls it (found if it exists);
    for a model of this race alone, an actor of its own."""
    limits = model.limits
    if model.endpoint is None:
        return limiter_cls.remote(limits.concurrency, limits.rpm)
    key = f"{model.endpoint}|{limits.concurrency}|{limits.rpm}"
    return limiter_cls.options(
        name="mosu-limiter-" + hashlib.sha256(key.encode()).hexdigest()[:32],
        namespace=LIMITER_NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
    ).remote(limits.concurrency, limits.rpm)


class _Slots:
    """Each model's share of the shards the cluster runs at once, and the most it held."""

    def __init__(self, names: Sequence[str], share: int) -> None:
        self._free = {name: asyncio.Semaphore(share) for name in names}
        self._held: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def held(self, name: str) -> AsyncIterator[None]:
        async with self._free[name]:
            self._held[name] += 1
            self.peak[name] = max(self.peak[name], self._held[name])
            try:
                yield
            finally:
                self._held[name] -= 1


class RayExecutor:
    """Runs shards as Ray tasks (see the module's docstring).

    ``address`` is a Ray cluster (``ray://host:10001`` or ``auto``); ``None`` joins the Ray
    already initialised in this process, or starts a local one. Shards are cut to
    ``shard_size`` samples; a shard is run again at most ``shard_retries`` times. Shards
    run on event loops of kind ``loop`` (uvloop where installed, or asyncio's own). A shard
    holds ``cpus_per_shard`` of a Ray CPU: :data:`CPUS_PER_SHARD`, since a shard mostly
    waits on the network, so five run on each CPU.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        shard_size: int = DEFAULT_SHARD_SIZE,
        shard_retries: int = 3,
        cpus_per_shard: float = CPUS_PER_SHARD,
        seed: int = 0,
        loop: str = "uvloop",
    ) -> None:
        if shard_size < 1 or shard_retries < 0:
            raise ValueError("shard_size must be at least 1 and shard_retries not negative")
        _ray()  # fail now, with the remedy, when the extra is not installed
        self.address = address
        self.shard_size = shard_size
        self.shard_retries = shard_retries
        self.cpus_per_shard = cpus_per_shard
        self.seed = seed
        self.loop = loop
        self.retried = 0
        self.limits: dict[str, dict[str, int]] = {}
        self.shards_at_once: dict[str, int] = {}
        """The most shards of each model the last run had started and not finished."""

    def _connect(self) -> Any:
        ray = _ray()
        with _INIT_LOCK:  # a worker process may start several races at once
            if ray.is_initialized():
                return ray
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:  # a Ray of this machine's own, for this process
                ray.init(include_dashboard=False, log_to_driver=False)
        return ray

    async def run(
        self, shards: Sequence[Shard], models: Mapping[str, Model], sink: OutcomeSink
    ) -> dict[str, str]:
        ray = self._connect()
        limiter_cls, shard_fn = _remote()
        names = sorted({s.model for s in shards})
        limiters = {name: _limiter(limiter_cls, models[name]) for name in names}
        own = [limiters[name] for name in names if models[name].endpoint is None]
        shipped = {name: ray.put(models[name]) for name in names}
        pieces = [
            (shard.model, list(shard.items[i : i + self.shard_size]))
            for shard in shards
            for i in range(0, len(shard.items), self.shard_size)
        ]
        stopped: dict[str, str] = {}
        answered = {name: asyncio.Event() for name in names}
        leads: set[str] = set()
        slots = _Slots(names, self._share(ray, len(names)))

        async def run_piece(name: str, items: list[WorkItem]) -> None:
            if name in leads:  # the model's first shard runs alone until an answer comes
                await answered[name].wait()
            else:
                leads.add(name)
            try:
                async with slots.held(name):
                    await _stream_piece(name, items)
            finally:
                answered[name].set()

        async def _stream_piece(name: str, items: list[WorkItem]) -> None:
            remaining = items
            for attempt in range(self.shard_retries + 1):
                if name in stopped:  # another shard's breaker stopped the model
                    return
                holder = uuid.uuid4().hex
                finished: set[str] = set()
                stream = shard_fn.options(num_cpus=self.cpus_per_shard).remote(
                    name, shipped[name], remaining, limiters[name], holder, self.seed, self.loop
                )
                try:
                    async for ref in stream:
                        for outcome in await ref:
                            if isinstance(outcome, Stopped):
                                stopped.setdefault(name, outcome.reason)
                                continue
                            finished.add(outcome.sample_id)
                            if outcome.output is not None:
                                answered[name].set()
                            sink(outcome)
                    return
                except asyncio.CancelledError:  # the race was stopped: so are its shards
                    with contextlib.suppress(Exception):
                        ray.cancel(stream, force=True)
                    raise
                except ray.exceptions.RayTaskError as exc:  # the shard's own code failed
                    raise exc.as_instanceof_cause() from None
                except ray.exceptions.RayError as exc:  # its worker or node died
                    await limiters[name].forget.remote(holder)
                    remaining = [i for i in remaining if i.sample_id not in finished]
                    if not remaining:
                        return
                    if attempt == self.shard_retries:
                        raise EvalError(
                            f"a shard of {name!r} failed {attempt + 1} times: {exc}"
                        ) from exc
                    self.retried += 1

        try:
            await asyncio.gather(*(run_piece(name, items) for name, items in pieces))
            self.shards_at_once = dict(slots.peak)
            for name, limiter in limiters.items():
                self.limits[name] = await limiter.stats.remote()
            return stopped
        finally:
            for limiter in own:
                ray.kill(limiter)

    def _share(self, ray: Any, models: int) -> int:
        """How many shards of one model may be queued or running at once: its share of the
        shards the cluster runs at once (its CPUs over ``cpus_per_shard``), at least one.
        Without it, the pieces of the model whose first answer came first fill every slot
        and wait on that one endpoint's limiter while the other endpoints stand idle."""
        slots = ray.cluster_resources().get("CPU", 1.0) / self.cpus_per_shard
        return max(1, int(slots) // max(models, 1))


def executor_for(address: str | None, *, seed: int = 0, loop: str = "uvloop") -> RayExecutor | None:
    """The Ray executor when an address is configured (``MOSU_RAY_ADDRESS``), else ``None``
    (the local executor)."""
    return RayExecutor(address=address, seed=seed, loop=loop) if address else None
