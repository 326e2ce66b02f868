"""Per-endpoint limits: concurrency, requests per minute, timeout and the retry policy."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Limits:
    """An endpoint's limits (并发 concurrency, RPM, timeout), retry policy and circuit breaker:
    ``max_unreachable`` attempts in a row without an HTTP answer stop the model's run
    (attempts in flight together count once: :class:`~mosu.evals.executor.Breaker`)."""

    concurrency: int = 16
    rpm: float | None = None
    timeout: float = 60.0
    retries: int = 6
    backoff: float = 0.5
    backoff_max: float = 30.0
    max_unreachable: int = 5

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.rpm is not None and self.rpm <= 0:
            raise ValueError("rpm must be positive")
        if self.timeout <= 0 or self.retries < 0:
            raise ValueError("timeout must be positive and retries not negative")
        if self.max_unreachable < 1:
            raise ValueError("max_unreachable must be at least 1")

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Jittered exponential backoff ("equal jitter") that never undercuts ``Retry-After``."""
        ceiling = min(self.backoff_max, self.backoff * 2**attempt)
        wait = float(ceiling / 2 + rng.uniform(0, ceiling / 2))
        return max(wait, retry_after) if retry_after is not None else wait


class Pacer(Protocol):
    """Waits until the next request may start (this process's limiter, or a cluster's)."""

    async def acquire(self) -> None: ...


class RateLimiter:
    """Spaces request starts at least ``60 / rpm`` seconds apart (a paced token bucket)."""

    def __init__(self, rpm: float | None) -> None:
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (a number, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
