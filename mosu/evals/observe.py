"""What a run tells the metrics (``/metrics``) as its samples finish: per entry (endpoint)
requests, errors by reason and answer latency, and samples per race.

The platform's race jobs pass it to :func:`mosu.evals.run.arun`; the race is the job's
(:data:`mosu.core.logs.RACE_ID`, set by the worker). ``mosu eval run`` has no ``/metrics``
to show and passes none: prometheus_client stays out of its start-up. Each entry's metric
children are looked up once, so a sample costs a few increments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mosu.core.logs import RACE_ID
from mosu.core.metrics import error_reason, metrics
from mosu.evals.store import Outcome


def race_observer() -> Callable[[Outcome], None]:
    """A sink for the current race's outcomes (cached ones sent no request: skipped)."""
    found = metrics()
    race = str(RACE_ID.get() or "")
    samples = found.race_samples.labels(race)
    children: dict[str, tuple[Any, Any]] = {}

    def observe(outcome: Outcome) -> None:
        samples.inc()
        if outcome.cached:
            return
        pair = children.get(outcome.model)
        if pair is None:
            pair = children[outcome.model] = (
                found.race_requests.labels(race, outcome.model),
                found.race_request_seconds.labels(race, outcome.model),
            )
        pair[0].inc(outcome.attempts)
        if outcome.error is not None:
            found.race_errors.labels(race, outcome.model, error_reason(outcome.error)).inc()
        else:
            pair[1].observe(outcome.latency)

    return observe
