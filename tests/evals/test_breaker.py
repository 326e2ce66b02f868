"""The circuit breaker: a refusing or dead endpoint stops its model's run at once."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from typer.testing import CliRunner

from mosu.evals import run
from mosu.evals.cli import app
from mosu.evals.executor import Breaker
from mosu.evals.fakeserver import FakeConfig, serve_in_thread
from mosu.evals.models.base import ModelError
from mosu.evals.tasks import load_task
from tests.helpers.evals import answer_config, toy_task, toy_task_file

FAST = "retries=6&backoff=0.001&concurrency=16"


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_breaker_counts_attempts_in_a_row_without_an_answer() -> None:
    breaker = Breaker(3)
    down = ModelError("endpoint unreachable", unreachable=True)
    for _ in range(2):
        breaker.observe(down)
    breaker.observe(ModelError("HTTP 500", status=500))  # an answer: the count starts again
    breaker.observe(down)
    breaker.observe(None, timed_out=True)
    assert breaker.reason is None and breaker.settled.is_set()
    breaker.observe(down)
    assert breaker.reason == "stopped: endpoint unreachable (3 attempts in a row)"


def test_requests_in_flight_together_when_the_endpoint_stalls_count_once() -> None:
    breaker = Breaker(3)
    sent = time.perf_counter()
    for _ in range(16):  # a stall: all 16 requests in flight time out
        breaker.observe(None, timed_out=True, began=sent)
    assert (breaker.unreachable, breaker.reason) == (1, None)
    resent = time.perf_counter()
    for _ in range(16):  # their retries, sent after the first timeout, time out too
        breaker.observe(None, timed_out=True, began=resent)
    assert breaker.unreachable == 2 and breaker.reason is None
    breaker.observe(None)  # the endpoint answers again
    assert breaker.unreachable == 0
    for _ in range(3):  # a dead endpoint: each attempt sent after the last one failed
        breaker.observe(None, timed_out=True, began=time.perf_counter())
    assert breaker.reason == "stopped: endpoint unreachable (3 attempts in a row)"


def test_401_403_404_and_refused_addresses_stop_at_once() -> None:
    for status in (401, 403, 404):
        breaker = Breaker(5)
        breaker.observe(ModelError(f"HTTP {status}", retryable=False, status=status))
        assert breaker.reason == f"stopped: HTTP {status} from the endpoint"
    for status in (400, 429, 500):
        breaker = Breaker(5)
        breaker.observe(ModelError(f"HTTP {status}", status=status))
        assert breaker.reason is None
    breaker = Breaker(5)
    breaker.observe(ModelError("endpoint address not allowed", unreachable=True, refused=True))
    assert breaker.reason == "stopped: endpoint address not allowed"


def test_a_wrong_key_costs_one_request(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 64)
    with serve_in_thread(answer_config(task, api_key="right")) as (url, server):
        result = run(
            task,
            {"m": f"openai:{url}#m?{FAST}&key_env=K", "maj": "baseline:majority"},
            store=tmp_path / "r.sqlite",
            environ={"K": "wrong"},
        )
        assert server.received == 1  # was 64: every sample once (401 is not retried)
    assert [m.name for m in result.models] == ["maj"]
    (failed,) = result.failed
    assert failed.reason == "stopped: HTTP 401 from the endpoint"
    assert failed.error_reasons == {"HTTP 401": 1, "not run": 63}


def test_an_endpoint_that_never_answers_costs_k_attempts(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 64)
    with serve_in_thread(FakeConfig(faults={"disconnect": 1.0})) as (url, server):
        result = run(task, {"m": f"openai:{url}#m?{FAST}"}, store=tmp_path / "a.sqlite")
        assert server.received == 5  # was 64 × 7 = 448
        result = run(
            task, {"m": f"openai:{url}#m?{FAST}&max_unreachable=2"}, store=tmp_path / "b.sqlite"
        )
        assert server.received == 5 + 2
    assert result.models == []
    assert result.failed[0].reason == "stopped: endpoint unreachable (2 attempts in a row)"


def test_a_dead_port_stops_after_k_connection_attempts(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 64)
    spec = f"openai:http://127.0.0.1:{_dead_port()}/v1#m?{FAST}"
    result = run(task, {"m": spec}, store=tmp_path / "r.sqlite")
    (failed,) = result.failed
    assert failed.reason == "stopped: endpoint unreachable (5 attempts in a row)"
    assert failed.requests == 5
    assert failed.error_reasons == {"endpoint unreachable": 1, "not run": 63}


def test_a_resumed_run_sends_what_the_breaker_held_back(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 20)
    store = tmp_path / "r.sqlite"
    with serve_in_thread(answer_config(task, api_key="right")) as (url, server):
        spec = {"m": f"openai:{url}#m?{FAST}&key_env=K"}
        assert run(task, spec, store=store, environ={"K": "right2"}).failed
        server.config.api_key = "right2"  # the team fixes its endpoint
        result = run(task, spec, store=store, environ={"K": "right2"})
        assert server.received == 1 + 19
    assert result.failed == [] and result.models[0].errors == 1


def test_eval_run_exits_1_when_a_model_failed_entirely(tmp_path: Path) -> None:
    task_file = toy_task_file(tmp_path, 30)
    task = load_task(task_file)
    out = tmp_path / "out"
    with serve_in_thread(answer_config(task, api_key="right")) as (url, server):
        args = ["run", str(task_file), "-m", f"api=openai:{url}#m", "-m", "maj=baseline:majority"]
        result = CliRunner().invoke(app, [*args, "--out", str(out), "-q"])
        assert server.received == 1
    assert result.exit_code == 1, result.output
    assert "failed: api: stopped: HTTP 401 from the endpoint" in result.output
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [m["name"] for m in saved["models"]] == ["maj"]
    assert saved["failed"][0]["name"] == "api"
    report = CliRunner().invoke(app, ["report", str(out / "results.json")])
    assert report.exit_code == 0, report.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Failed models" in html and "stopped: HTTP 401 from the endpoint" in html


def test_eval_run_can_refuse_private_endpoints(tmp_path: Path) -> None:
    task_file = toy_task_file(tmp_path, 5)
    with serve_in_thread(FakeConfig()) as (url, server):
        args = ["run", str(task_file), "-m", f"api=openai:{url}#m", "--no-allow-private"]
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o"), "-q"])
        assert server.received == 0
    assert result.exit_code == 2
    assert "loopback" in result.output
