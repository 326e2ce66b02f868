"""Prometheus metrics (监控指标): what every part of mosu counts, in one place.

The metrics are built on first use (:func:`metrics`), not at import, so that ``mosu serve``
can first point prometheus_client at a shared directory (:func:`use_directory`): with several
web processes (and the worker threads of the parent), each process writes its values to
files there and ``/metrics`` sums them whichever process answers (prometheus_client's
multiprocess mode). Without a directory the values live in this process's registry.

Labels are bounded: a route's template (never a raw URL), a job's kind, a race's id, an
entry's name, an error's reason class.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # SQLAlchemy is imported by the pool only: `mosu eval run` never loads it
    from sqlalchemy.engine import Engine

ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


@dataclass(frozen=True)
class Metrics:
    """Every metric mosu keeps; see ``docs/deployment/monitoring.md`` for each one's use."""

    requests: Counter
    request_seconds: Histogram
    db_connections_in_use: Gauge
    db_pool_size: Gauge
    db_gate_wait_seconds: Histogram
    jobs_finished: Counter
    race_requests: Counter
    race_errors: Counter
    race_request_seconds: Histogram
    race_samples: Counter
    public_cache: Counter
    voucher_commitments: Counter
    voucher_committed_fen: Counter


_metrics: Metrics | None = None


def _build(registry: CollectorRegistry | None) -> Metrics:
    return Metrics(**_web(registry), **_work(registry))


def _web(reg: Any) -> dict[str, Any]:
    """The web processes' metrics: requests and the database."""
    return dict(
        requests=Counter(
            "mosu_http_requests",
            "HTTP requests answered, by route template, method and status class.",
            ["route", "method", "status"],
            registry=reg,
        ),
        request_seconds=Histogram(
            "mosu_http_request_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        ),
        db_connections_in_use=Gauge(
            "mosu_db_connections_in_use",
            "Database connections checked out of the pool (summed over live processes).",
            multiprocess_mode="livesum",
            registry=reg,
        ),
        db_pool_size=Gauge(
            "mosu_db_pool_size",
            "Database connections the pools may hold (summed over live processes).",
            multiprocess_mode="livesum",
            registry=reg,
        ),
        db_gate_wait_seconds=Histogram(
            "mosu_db_gate_wait_seconds",
            "Time a request waited for its turn at the database, by kind (read or write).",
            ["kind"],
            buckets=(0.001, *LATENCY_BUCKETS),
            registry=reg,
        ),
    )


def _work(reg: Any) -> dict[str, Any]:
    """The work's metrics: jobs, races, the micro-cache and vouchers."""
    return dict(
        jobs_finished=Counter(
            "mosu_jobs_finished",
            "Jobs a worker ended, by kind and outcome (succeeded, failed, retried, "
            "cancelled, released, lost).",
            ["kind", "outcome"],
            registry=reg,
        ),
        race_requests=Counter(
            "mosu_race_requests",
            "Requests sent to model endpoints during races, by race and entry (endpoint).",
            ["race", "endpoint"],
            registry=reg,
        ),
        race_errors=Counter(
            "mosu_race_errors",
            "Samples that ended in an error, by race, entry and reason.",
            ["race", "endpoint", "reason"],
            registry=reg,
        ),
        race_request_seconds=Histogram(
            "mosu_race_request_seconds",
            "Latency of a sample's answer from a model endpoint, by race and entry.",
            ["race", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        ),
        race_samples=Counter(
            "mosu_race_samples",
            "Samples finished per race (rate() gives samples per second).",
            ["race"],
            registry=reg,
        ),
        public_cache=Counter(
            "mosu_public_cache",
            "Answers of micro-cached routes, by result (hit or miss).",
            ["result"],
            registry=reg,
        ),
        voucher_commitments=Counter(
            "mosu_voucher_commitments",
            "Voucher commitments booked in the ledger, by programme kind.",
            ["kind"],
            registry=reg,
        ),
        voucher_committed_fen=Counter(
            "mosu_voucher_committed_fen",
            "Money committed by vouchers, in fen, by programme kind.",
            ["kind"],
            registry=reg,
        ),
    )


def metrics() -> Metrics:
    """The process's metrics, built on first use."""
    global _metrics
    if _metrics is None:
        _metrics = _build(REGISTRY)
    return _metrics


def directory() -> Path | None:
    """The multiprocess directory this process writes to, if any."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def use_directory(path: Path, *, clear: bool, here: bool = True) -> None:
    """Write this process's values (and its children's: the variable is inherited) under
    ``path``, for ``/metrics`` to sum. ``clear`` first deletes the files of processes that
    have ended (``mosu serve`` does at start), so no dead process's gauges linger while a
    running ``mosu worker``'s stay. ``here``: this process records values too (else only
    its children, started after, do). Call before :func:`metrics`."""
    path.mkdir(parents=True, exist_ok=True)
    if clear:
        for stale in path.glob("*.db"):
            pid = stale.stem.rsplit("_", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                stale.unlink(missing_ok=True)
    os.environ[ENV] = str(path)
    values = sys.modules.get("prometheus_client.values")
    if (
        here and values is not None
    ):  # imported already: it chose its value class from the environment
        values.ValueClass = values.MultiProcessValue()  # type: ignore[attr-defined]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exposition(collectors: Iterable[Collector] = ()) -> bytes:
    """The metrics in Prometheus' text format: this process's, or every process's summed
    from the directory; with ``collectors`` (read at scrape time, e.g. the job queue)."""
    path = directory()
    registry: CollectorRegistry
    if path is None:
        metrics()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Registered())
    else:
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


class _Registered(Collector):
    """The default registry's metrics, re-offered to a registry of one scrape."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


class Scraped(Collector):
    """Metrics computed when scraped, from a function returning metric families."""

    def __init__(self, read: Callable[[], Iterable[Any]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Any]:
        return self.read()


def instrument_pool(engine: Engine, size: int) -> None:
    """Count ``engine``'s checked-out connections and publish its pool's ``size``."""
    from sqlalchemy import event

    found = metrics()
    found.db_pool_size.set(size)
    in_use = found.db_connections_in_use

    def checkout(*_args: object) -> None:
        in_use.inc()

    def checkin(*_args: object) -> None:
        in_use.dec()

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)


def error_reason(error: str) -> str:
    """A bounded class for an error message of the evaluation engine (``http_429``,
    ``timeout``, ``transport``, ``malformed``, ``empty``, ``refused``, ``other``)."""
    if error.startswith("HTTP "):
        code = error[5:8]
        return f"http_{code}" if code.isdigit() else "http"
    lowered = error.lower()
    for word, reason in (
        ("timeout", "timeout"),
        ("timed out", "timeout"),
        ("not allowed", "refused"),
        ("malformed", "malformed"),
        ("empty", "empty"),
        ("connect", "transport"),
        ("transport", "transport"),
        ("disconnect", "transport"),
    ):
        if word in lowered:
            return reason
    return "other"


def route_template(scope: Any) -> str | None:
    """The template of the route that answered a request (``/api/v1/orgs/{organisation_id}``),
    from its ASGI scope; ``None`` before routing or when none matched. FastAPI names an
    included route as its router declared it, so the prefix is taken from the path: the
    leading segments the template lacks."""
    found = getattr(scope.get("route"), "path", None)
    if not found:
        return None
    template, path = str(found), str(scope.get("path", ""))
    extra = path.rstrip("/").count("/") - template.rstrip("/").count("/")
    if extra <= 0 or ":path}" in template:
        return template
    return "/".join(path.split("/")[: extra + 1]) + template
