from __future__ import annotations

import sqlite3
from pathlib import Path

from mosu.evals import run
from mosu.evals.fakeserver import FakeConfig, prompt_key, serve_in_thread
from mosu.evals.run import Progress
from tests.helpers.evals import answer_config, toy_task

FAST = "concurrency=16&timeout=0.5&backoff=0.01&retries=8"
# a busy test machine may stall all 16 requests in flight past the timeout: that is one
# failure for the breaker, and a second of timeout leaves room for it
PATIENT = "concurrency=16&timeout=1&backoff=0.01&retries=8"


def test_race_through_every_fault_finishes_with_the_expected_order(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 300)
    faults = {
        "rate_limit": 0.04,
        "server_error": 0.04,
        "timeout": 0.02,
        "malformed": 0.03,
        "empty": 0.03,
        "disconnect": 0.03,
    }
    config = answer_config(
        task,
        latency=0.002,
        accuracy=0.6,
        accuracy_by_model={"good": 0.95},
        faults=faults,
        retry_after=0.01,
        hang=2,
    )
    seen: list[Progress] = []
    with serve_in_thread(config) as (url, server):
        result = run(
            task,
            {
                "good": f"openai:{url}#good?{PATIENT}",
                "fair": f"openai:{url}#fair?{PATIENT}",
                "majority": "baseline:majority",
            },
            store=tmp_path / "run.sqlite",
            progress=seen.append,
        )
        assert server.requests > 600  # faults cost retries
    ranks = {m.name: m.rank for m in result.models}
    assert ranks == {"good": 1, "fair": 2, "majority": 3}
    good = next(m for m in result.models if m.name == "good")
    assert good.errors == 0, good.error_reasons
    assert good.requests > 300
    assert 0.90 < good.metrics["accuracy"].value < 0.99
    assert (
        good.metrics["accuracy"].low
        < good.metrics["accuracy"].value
        < good.metrics["accuracy"].high
    )
    assert set(good.by_category) == {"g0", "g1", "g2"}
    assert good.confusion is not None and sum(map(sum, good.confusion.matrix)) == 300
    assert seen[-1].done == 300 or any(p.done == p.total for p in seen)
    assert {c.a for c in result.comparisons if c.significant} >= {"good"}


def test_a_sample_that_keeps_failing_is_an_error_and_the_race_goes_on(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 40)
    with serve_in_thread(FakeConfig(faults={"server_error": 1.0})) as (url, server):
        result = run(
            task,
            {"down": f"openai:{url}#x?retries=2&backoff=0.001", "maj": "baseline:majority"},
            store=tmp_path / "r.sqlite",
        )
        assert server.requests == 40 * 3  # an endpoint that answers (500) is not stopped
    # a model without a single answer is failed, not ranked 0.0 [0.0, 0.0]
    assert [m.name for m in result.models] == ["maj"]
    (down,) = result.failed
    assert (down.name, down.reason) == ("down", "every sample failed")
    assert down.errors == 40 and down.error_reasons == {"HTTP 500": 40}
    assert result.models[0].errors == 0


def test_a_404_stops_the_model_at_once(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 5)
    with serve_in_thread(FakeConfig()) as (url, server):
        result = run(
            task, {"m": f"openai:{url.replace('/v1', '/nope')}#m"}, store=tmp_path / "r.sqlite"
        )
        assert server.requests == 0  # the fake counts chat requests; /nope/... is not one
    assert result.models == []
    (failed,) = result.failed
    assert failed.reason == "stopped: HTTP 404 from the endpoint"
    assert failed.requests == 1 and failed.errors == 5
    assert failed.error_reasons == {"HTTP 404": 1, "not run": 4}


def test_rerun_resumes_and_cache_makes_rescoring_free(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 120)
    with serve_in_thread(answer_config(task, accuracy=0.8)) as (url, server):
        spec = {"m": f"openai:{url}#m?concurrency=8"}
        first = run(task, spec, store=tmp_path / "a" / "run.sqlite")
        assert server.requests == 120
        again = run(task, spec, store=tmp_path / "a" / "run.sqlite")
        assert server.requests == 120
        other = run(
            task,
            spec,
            store=tmp_path / "b" / "run.sqlite",
            cache_path=tmp_path / "a" / "run.sqlite",
        )
        assert server.requests == 120
    assert first.models[0].metrics == again.models[0].metrics == other.models[0].metrics
    assert other.models[0].cached == 120 and other.models[0].requests == 0
    with sqlite3.connect(tmp_path / "a" / "run.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM cache").fetchone() == (120,)


def test_resume_refuses_a_different_task(tmp_path: Path) -> None:
    import pytest

    from mosu.evals.errors import EvalError

    run(toy_task(tmp_path, 10), {"maj": "baseline:majority"}, store=tmp_path / "r.sqlite")
    with pytest.raises(EvalError, match="different task"):
        run(toy_task(tmp_path, 11), {"maj": "baseline:majority"}, store=tmp_path / "r.sqlite")


def test_prompt_key_is_what_the_engine_sends(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 3)
    with serve_in_thread(answer_config(task)) as (url, server):
        run(task, {"m": f"openai:{url}#m"}, store=tmp_path / "r.sqlite")
        assert set(server.counts) == {
            prompt_key(task.messages(s)[-1]["content"]) for s in task.samples()
        }
