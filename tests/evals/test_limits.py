from __future__ import annotations

import random

import pytest

from mosu.evals.limits import Limits, RateLimiter, parse_retry_after


def test_backoff_is_jittered_exponential_and_honours_retry_after() -> None:
    limits = Limits(backoff=0.5, backoff_max=8)
    rng = random.Random(0)
    for attempt in range(8):
        ceiling = min(8, 0.5 * 2**attempt)
        delays = [limits.delay(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
    assert all(limits.delay(0, rng, retry_after=5.0) >= 5.0 for _ in range(20))


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        Limits(concurrency=0)
    with pytest.raises(ValueError):
        Limits(rpm=-1)
    assert RateLimiter(600).interval == pytest.approx(0.1)
    assert RateLimiter(None).interval == 0
