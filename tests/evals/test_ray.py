"""The Ray executor on a local Ray instance: the same results as the local executor, limits
held across shards running in parallel, and a worker killed mid-shard losing nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from mosu.evals.executor import LocalExecutor
from mosu.evals.fakeserver import prompt_key, serve_in_thread
from mosu.evals.models.specs import build_model
from mosu.evals.ray_executor import RayExecutor, executor_for
from mosu.evals.run import arun
from tests.helpers.evals import answer_config, toy_task
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.processes
ONE = 1.0
"""A Ray CPU a shard: two shards at once on the fixture's 2 CPUs, so Ray starts two worker
processes rather than ten (each costs seconds of CPU on a loaded 2-CPU machine); the
default (a fifth) is raced by the sharing test below and by ``executor_for``."""


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """One local Ray instance for this module's tests (start-up costs seconds), shut down after
    them: idle, its processes take 3% of a CPU, which the rest of the session should have."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _samples(store: Path) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT model, sample_id, output, error FROM results").fetchall()
    return {(m, s): (o, e) for m, s, o, e in rows}


def _shard_pids() -> list[int]:
    """Ray worker processes running a shard now (Ray titles them after the task)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"ray::mosu_shard"):
                found.append(int(entry.name))
    return found


def test_ray_results_equal_local_results_and_limits_hold_across_shards(
    local_ray: Any, tmp_path: Path
) -> None:
    task = toy_task(tmp_path, 240)
    config = answer_config(task, latency=0.02, accuracy=0.7)
    results = {}
    for kind in ("local", "ray"):
        with serve_in_thread(config) as (url, server):
            models = {
                "a": f"openai:{url}#a?concurrency=3",
                "b": f"openai:{url}#b?concurrency=2",
                "base": "baseline:majority",
            }
            executor = (
                RayExecutor(shard_size=30, cpus_per_shard=ONE) if kind == "ray" else LocalExecutor()
            )
            store = tmp_path / kind / "run.sqlite"
            results[kind] = asyncio.run(
                arun(task, models, store=store, executor=executor, replicates=50)
            )
            # 8 shards of "a" and "b" ran two at a time: the limits are the endpoints'
            assert server.peak_in_flight <= 3 + 2
            assert set(server.counts.values()) == {2}  # each prompt once per endpoint model
        if kind == "ray":
            assert isinstance(executor, RayExecutor)
            assert executor.limits["a"]["peak"] == 3 and executor.limits["b"]["peak"] == 2
            assert executor.limits["a"]["held"] == 0
    assert _samples(tmp_path / "ray" / "run.sqlite") == _samples(tmp_path / "local" / "run.sqlite")
    local, remote = results["local"], results["ray"]
    assert [(m.name, m.rank, m.metrics) for m in local.models] == [
        (m.name, m.rank, m.metrics) for m in remote.models
    ]


def test_requests_per_minute_hold_across_the_cluster(local_ray: Any, tmp_path: Path) -> None:
    task = toy_task(tmp_path, 24)
    with serve_in_thread(answer_config(task)) as (url, server):
        executor = RayExecutor(shard_size=6, cpus_per_shard=ONE)
        asyncio.run(
            arun(
                task,
                {"m": f"openai:{url}#m?concurrency=8&rpm=600"},
                store=tmp_path / "run.sqlite",
                executor=executor,
                replicates=10,
            )
        )
        # four shards in parallel, one pace: 24 starts at least 0.1 s apart
        assert server.requests == 24
        assert server.last_request - server.first_request >= 23 * 0.1 - 0.05
    assert executor.limits["m"]["paced"] == 24


def test_races_at_the_same_time_share_an_endpoints_limits(local_ray: Any, tmp_path: Path) -> None:
    """Two races (two executors, as two challenges would be) on one endpoint at once: its
    concurrency holds for both together; another key to the same URL is another quota."""
    task = toy_task(tmp_path, 120)
    with serve_in_thread(answer_config(task, latency=0.03)) as (url, server):

        async def both() -> None:
            runs = [
                arun(
                    task,
                    {"m": f"openai:{url}#m?concurrency=3&temperature={k}"},
                    store=tmp_path / f"race{k}" / "run.sqlite",
                    executor=RayExecutor(shard_size=20, cpus_per_shard=ONE),
                    replicates=10,
                )
                for k in range(2)
            ]
            await asyncio.gather(*runs)

        asyncio.run(both())
        assert server.requests == 240
        assert server.peak_in_flight == 3  # not 3 per race
    environ = {"MOSU_TEST_KEY": "sk-secret-for-the-test"}
    plain = build_model(f"openai:{url}#m?concurrency=3")
    keyed = build_model(f"openai:{url}#m?concurrency=3&key_env=MOSU_TEST_KEY", environ=environ)
    assert plain.endpoint != keyed.endpoint
    assert keyed.endpoint is not None and "sk-secret" not in keyed.endpoint  # a digest only


def test_a_worker_killed_mid_shard_loses_nothing_and_repeats_no_completed_request(
    local_ray: Any, tmp_path: Path
) -> None:
    task = toy_task(tmp_path, 300)
    config = answer_config(task, latency=0.05, accuracy=0.7)  # a shard takes about 4 s
    key_of = {s.id: prompt_key(task.messages(s)[-1]["content"]) for s in task.samples()}
    store = tmp_path / "ray" / "run.sqlite"
    executor = RayExecutor(shard_size=150, cpus_per_shard=ONE)
    with serve_in_thread(config) as (url, server):
        outcome: dict[str, Any] = {}

        def race() -> None:
            try:
                outcome["result"] = asyncio.run(
                    arun(
                        task,
                        {"m": f"openai:{url}#m?concurrency=2"},
                        store=store,
                        executor=executor,
                        replicates=50,
                    )
                )
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=race)
        thread.start()
        wait_until(
            lambda: server.requests >= 40 and bool(_shard_pids()),
            timeout=60,
            interval=0.01,
            what="a shard under way",
        )
        victim = _shard_pids()[0]
        os.kill(victim, signal.SIGKILL)
        recorded = {sid for _, sid in _samples(store)}  # by the driver, when the worker died
        thread.join(120)
        assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
        counts = {sid: server.counts[key] for sid, key in key_of.items()}
    assert executor.retried >= 1
    finished = _samples(store)
    assert len(finished) == 300 and all(e is None for _, e in finished.values())
    # nothing the driver had recorded went twice: only requests in flight when the worker
    # died (at most its concurrency), or answered but still on their way to the driver
    repeated = [sid for sid, n in counts.items() if n > 1]
    assert recorded and not set(repeated) & recorded, repeated
    assert len(repeated) <= 2 * 2, repeated
    assert all(n >= 1 for n in counts.values())

    with serve_in_thread(config) as (url, _server):  # the answers do not depend on the pace
        local = asyncio.run(
            arun(
                task,
                {"m": f"openai:{url}#m?concurrency=10"},
                store=tmp_path / "local" / "run.sqlite",
                replicates=50,
            )
        )
    assert _samples(tmp_path / "local" / "run.sqlite") == finished
    assert local.models[0].metrics == outcome["result"].models[0].metrics


def test_eval_run_chooses_ray_by_option_or_address(local_ray: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mosu.evals.cli import app, choose_executor
    from mosu.evals.settings import EvalSettings
    from tests.helpers.evals import toy_task_file

    assert executor_for(None) is None
    assert executor_for("auto", seed=3).address == "auto"  # type: ignore[union-attr]
    assert choose_executor(None, EvalSettings(), 0) is None
    assert choose_executor("local", EvalSettings(ray_address="auto"), 0) is None
    chosen = choose_executor(None, EvalSettings(ray_address="ray://head:10001", loop="asyncio"), 0)
    assert isinstance(chosen, RayExecutor) and chosen.address == "ray://head:10001"
    assert chosen.loop == "asyncio"
    task_file = toy_task_file(tmp_path, 40)
    runner = CliRunner()
    outputs = {}
    for kind in ("local", "ray"):
        args = ["run", str(task_file), "-m", "tfidf=baseline:tfidf", "-q", "--replicates", "20"]
        result = runner.invoke(app, [*args, "--out", str(tmp_path / kind), "--executor", kind])
        assert result.exit_code == 0, result.output
        lines = (tmp_path / kind / "samples.jsonl").read_text(encoding="utf-8").splitlines()
        # the same records but for the time each answer took
        outputs[kind] = [
            {k: v for k, v in json.loads(line).items() if k not in ("latency", "ttft")}
            for line in lines
        ]
    assert outputs["ray"] == outputs["local"]
    result = runner.invoke(
        app, ["run", str(task_file), "-m", "x=baseline:majority", "--executor", "dask"]
    )
    assert result.exit_code == 2 and "未知的执行器" in result.output


def test_a_refusing_or_dead_endpoint_stops_across_shards(local_ray: Any, tmp_path: Path) -> None:
    """The breaker holds on Ray too: the model's first shard runs alone, trips, and no other
    shard of the model starts."""
    from mosu.evals.fakeserver import FakeConfig

    task = toy_task(tmp_path, 120)
    with serve_in_thread(answer_config(task, api_key="right")) as (url, server):
        refused = asyncio.run(
            arun(
                task,
                {"m": f"openai:{url}#m?concurrency=4&key_env=K", "base": "baseline:majority"},
                store=tmp_path / "a.sqlite",
                executor=RayExecutor(shard_size=20, cpus_per_shard=ONE),
                environ={"K": "wrong"},
                replicates=20,
            )
        )
        assert server.received == 1
    assert [m.name for m in refused.models] == ["base"]
    assert refused.failed[0].reason == "stopped: HTTP 401 from the endpoint"
    with serve_in_thread(FakeConfig(faults={"disconnect": 1.0})) as (url, server):
        dead = asyncio.run(
            arun(
                task,
                {"m": f"openai:{url}#m?concurrency=4&backoff=0.001"},
                store=tmp_path / "b.sqlite",
                executor=RayExecutor(shard_size=20, cpus_per_shard=ONE),
                replicates=20,
            )
        )
        assert server.received == 5
    assert dead.models == [] and dead.failed[0].requests == 5


def test_the_models_share_the_clusters_shards_so_every_endpoint_is_busy(
    local_ray: Any, tmp_path: Path
) -> None:
    """Two endpoints, two shard slots (2 CPUs, one a shard), four shards each: a model runs
    one shard at a time, so the slots go to both endpoints at once rather than to the shards
    of the model that answered first (which would wait on its one endpoint's limit while the
    other stood idle)."""
    task = toy_task(tmp_path, 40)
    config = answer_config(task, latency=0.02)
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(serve_in_thread(config))[0] for _ in range(2)]
        executor = RayExecutor(shard_size=10, cpus_per_shard=ONE)
        result = asyncio.run(
            arun(
                task,
                {f"m{i}": f"openai:{url}#m?concurrency=4" for i, url in enumerate(urls)},
                store=tmp_path / "run.sqlite",
                executor=executor,
                replicates=10,
            )
        )
    assert executor.shards_at_once == {"m0": 1, "m1": 1}
    assert all(m.metrics["accuracy"].value == 1.0 for m in result.models)
