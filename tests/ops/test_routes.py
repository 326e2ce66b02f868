"""``/healthz``, ``/readyz`` and ``/metrics`` over real HTTP, request ids in headers, pages
and logs, and the counters moving when their events happen."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.orm import Session

from mosu.core import logs
from mosu.core.db import make_engine
from mosu.core.settings import Settings
from mosu.jobs import queue
from mosu.jobs.beats import beat
from mosu.ops.health import readiness
from tests.conftest import LiveServer, World


def sample(body: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with ``labels`` (0 when absent)."""
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def scrape(live: LiveServer, **kw: object) -> str:
    response = httpx.get(live.url + "/metrics", timeout=30, **kw)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.text


def test_health_and_readiness(live: LiveServer, app: FastAPI, settings: Settings) -> None:
    alive = httpx.get(live.url + "/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    assert alive.headers["cache-control"] == "no-store"
    ready = httpx.get(live.url + "/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "schema": "ok"}

    # workers expected but none has beaten: not ready; a heartbeat makes it ready
    app.state.settings = settings.model_copy(update={"expect_worker": True})
    waiting = httpx.get(live.url + "/readyz")
    assert waiting.status_code == 503
    assert waiting.json()["checks"]["worker"] == "no worker has beaten"
    beat(app.state.engine, "test-worker", started_at=dt.datetime.now(dt.UTC))
    assert httpx.get(live.url + "/readyz").status_code == 200
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with app.state.engine.begin() as conn:
        conn.execute(text("UPDATE worker_beats SET seen_at = :t"), {"t": long_ago})
    silent = httpx.get(live.url + "/readyz")
    assert silent.status_code == 503 and "ago" in silent.json()["checks"]["worker"]

    # a schema behind this mosu's newest revision
    with app.state.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    behind = httpx.get(live.url + "/readyz")
    assert behind.status_code == 503 and behind.json()["checks"]["schema"].startswith("at 0001")


def test_readiness_when_the_database_is_gone(settings: Settings) -> None:
    gone = settings.model_copy(update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    engine = make_engine(gone.database_url)
    try:
        found = readiness(engine, gone)
    finally:
        engine.dispose()
    assert not found.ready and found.checks["database"].startswith("unreachable")


def test_metrics_are_open_to_allowed_addresses_or_the_token(
    live: LiveServer, app: FastAPI, settings: Settings
) -> None:
    assert "mosu_http_requests_total" in scrape(live)  # loopback is allowed by default
    app.state.settings = settings.model_copy(update={"metrics_allow": "10.0.0.0/8"})
    refused = httpx.get(live.url + "/metrics")
    assert refused.status_code == 403
    app.state.settings = settings.model_copy(
        update={"metrics_allow": "", "metrics_token": "scrape-token-123"}
    )
    assert httpx.get(live.url + "/metrics", headers={"Authorization": "Bearer no"}).is_error
    scrape(live, headers={"Authorization": "Bearer scrape-token-123"})


def test_counters_move_with_their_events(
    live: LiveServer, app: FastAPI, world: World, db: Session
) -> None:
    before = scrape(live)
    route = "/api/v1/orgs/{organisation_id}"
    for _ in range(3):
        assert httpx.get(f"{live.url}/api/v1/orgs/{world.org_a}").status_code == 200
    httpx.get(f"{live.url}/api/v1/orgs/999999")
    for _ in range(2):  # a micro-cached public list: a miss, then a hit
        assert httpx.get(f"{live.url}/api/v1/orgs").status_code == 200
    queue.enqueue(db, kind="test.waiting", now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    db.commit()
    after = scrape(live)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    ok = {"route": route, "method": "GET", "status": "2xx"}
    assert moved("mosu_http_requests_total", **ok) == 3
    assert moved("mosu_http_requests_total", route=route, method="GET", status="4xx") == 1
    assert moved("mosu_http_request_seconds_count", route=route, method="GET") == 4
    listed = {"route": "/api/v1/orgs", "method": "GET", "status": "2xx"}
    assert moved("mosu_http_requests_total", **listed) == 2  # a hit counts under its route
    assert f'route="/api/v1/orgs/{world.org_a}"' not in after  # never the raw URL
    assert moved("mosu_public_cache_total", result="hit") >= 1
    assert moved("mosu_public_cache_total", result="miss") >= 1
    assert sample(after, "mosu_jobs_queued", kind="test.waiting") == 1
    assert sample(after, "mosu_jobs_oldest_queued_seconds") >= 299
    assert sample(after, "mosu_db_pool_size") > 0


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """mosu's log lines, as JSON, for the test."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure("json", "INFO", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_request_id_in_the_header_the_error_page_and_the_log(
    live: LiveServer, captured: io.StringIO
) -> None:
    page = httpx.get(live.url + "/orgs/999999")
    rid = page.headers["x-request-id"]
    assert page.status_code == 404 and len(rid) == 16
    assert f'<code class="request-id">{rid}</code>' in page.text
    given = httpx.get(live.url + "/healthz", headers={"X-Request-ID": "lb-abcdef-0001"})
    assert given.headers["x-request-id"] == "lb-abcdef-0001"
    odd = httpx.get(live.url + "/healthz", headers={"X-Request-ID": "<script>"})
    assert odd.headers["x-request-id"] != "<script>"

    app = live.server.config.app
    assert isinstance(app, FastAPI)

    @app.get("/ops-test-boom")
    def boom() -> None:
        raise RuntimeError("kaboom password=hunter2-secret")

    try:
        failed = httpx.get(live.url + "/ops-test-boom")
    finally:
        app.router.routes.pop()
    assert failed.status_code == 500
    rid = failed.headers["x-request-id"]
    assert rid in failed.text
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == rid]
    assert mine and mine[0]["level"] == "error" and "kaboom" in mine[0]["error"]
    assert "hunter2-secret" not in captured.getvalue()
