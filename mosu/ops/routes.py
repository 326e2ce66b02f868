"""``/healthz``, ``/readyz`` and ``/metrics``: unauthenticated (``/metrics`` by address or
token), never cached, and outside the database gate: they answer even when every turn at
the database is taken."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.orm import Session

from mosu.core.metrics import CONTENT_TYPE, Scraped, exposition
from mosu.jobs.beats import queue_state
from mosu.ops.errors import METRICS_REFUSED
from mosu.ops.health import readiness
from mosu.permissions import ANYONE, METRICS_SCRAPER, may_scrape_metrics

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


def _anyone() -> None:
    """Anyone may ask (no session is opened)."""


_anyone.mosu_requirement = ANYONE  # type: ignore[attr-defined]


def _scraper(request: Request) -> None:
    """Refuse (403) a client neither from an allowed address nor with the metrics token."""
    settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    bearer = header[7:] if header.lower().startswith("bearer ") else None
    address = request.client.host if request.client else None
    if not may_scrape_metrics(
        address, bearer, allowed=settings.metrics_allow, token=settings.metrics_token
    ):
        raise METRICS_REFUSED()


_scraper.mosu_requirement = METRICS_SCRAPER  # type: ignore[attr-defined]


@router.get("/healthz", dependencies=[Depends(_anyone)])
def healthz() -> JSONResponse:
    """存活检查：进程在运行 / liveness: the process answers."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz", dependencies=[Depends(_anyone)])
def readyz(request: Request) -> JSONResponse:
    """就绪检查：数据库可达、结构最新、（如需）工作进程有心跳 / readiness: database
    reachable, schema newest, a worker's heartbeat when workers are expected; 503 if not."""
    found = readiness(request.app.state.engine, request.app.state.settings)
    return JSONResponse(
        {"status": "ready" if found.ready else "not ready", "checks": found.checks},
        status_code=200 if found.ready else 503,
        headers=NO_STORE,
    )


@router.get("/metrics", dependencies=[Depends(_scraper)])
def prometheus_metrics(request: Request) -> Response:
    """Prometheus 监控指标 / metrics in Prometheus' text format."""
    engine = request.app.state.engine

    def queue() -> list[Any]:
        with Session(engine) as session:
            state = queue_state(session)
        queued = GaugeMetricFamily("mosu_jobs_queued", "Jobs waiting, by kind.", labels=["kind"])
        running = GaugeMetricFamily("mosu_jobs_running", "Jobs running, by kind.", labels=["kind"])
        for kind, count in state.queued.items():
            queued.add_metric([kind], count)
        for kind, count in state.running.items():
            running.add_metric([kind], count)
        oldest = GaugeMetricFamily(
            "mosu_jobs_oldest_queued_seconds",
            "How long the oldest job that may run has waited.",
            value=state.oldest_queued_seconds,
        )
        return [queued, running, oldest]

    body = exposition([Scraped(queue)])
    return Response(body, media_type=CONTENT_TYPE, headers=NO_STORE)
