"""Service figures: coverage, latency, first token, tokens, truncation and cost, read from
what a streaming fake server was told to produce."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from mosu.evals import run
from mosu.evals.errors import EvalError, ModelSpecError
from mosu.evals.fakeserver import serve_in_thread
from mosu.evals.models.base import Price
from mosu.evals.models.specs import build_model
from mosu.evals.service import pareto
from mosu.evals.store import Outcome, RunStore, prompt_hash, serialise
from mosu.evals.tasks import Task, load_task
from tests.helpers.evals import answer_config, toy_task

FAST = "concurrency=8&timeout=5&backoff=0.01"


def test_streamed_race_reports_tokens_cost_and_speed(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 40)
    prompt_chars = sum(len(task.messages(s)[-1]["content"]) for s in task.samples())
    answer_chars = sum(len(s.label) for s in task.samples())  # every answer right: the label
    fast = answer_config(task, latency=0.01, token_rate=0)
    slow = answer_config(task, latency=0.12, token_rate=0)
    with serve_in_thread(fast) as (fast_url, _), serve_in_thread(slow) as (slow_url, _):
        result = run(
            task,
            {
                "fast": f"openai:{fast_url}#m?{FAST}&stream=1&price_in=2&price_out=8",
                "slow": f"openai:{slow_url}#m?{FAST}&stream=1",
            },
            store=tmp_path / "run.sqlite",
            prices={"slow": Price(1.0, 1.0)},
        )
    figures = {m.name: m.service for m in result.models}
    for name, f in figures.items():
        assert f is not None
        assert (f.samples, f.answered, f.coverage, f.truncated) == (40, 40, 1.0, 0), name
        # the fake server counts characters as tokens, and each answer is the gold label
        assert (f.prompt_tokens, f.completion_tokens) == (prompt_chars, answer_chars)
        assert f.tokens_per_answer == answer_chars / 40
        assert f.ttft_p50 is not None and f.latency_p50 is not None
        assert f.latency_p95 is not None and f.latency_p50 <= f.latency_p95
    fast_f, slow_f = figures["fast"], figures["slow"]
    assert fast_f is not None and slow_f is not None
    assert fast_f.cost == pytest.approx((prompt_chars * 2 + answer_chars * 8) / 1e6)
    assert fast_f.cost_per_1k == pytest.approx(fast_f.cost / 40 * 1000)
    assert slow_f.cost == pytest.approx((prompt_chars + answer_chars) / 1e6)
    # the server holds the first token for its latency: never sooner
    assert slow_f.ttft_p50 is not None and slow_f.ttft_p50 >= 0.12
    assert fast_f.ttft_p50 is not None and fast_f.ttft_p50 < slow_f.ttft_p50


def test_tokens_at_a_set_rate_give_time_per_output_token(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 8)
    config = answer_config(task, latency=0.02, token_rate=10, template="答案是{answer}。")
    with serve_in_thread(config) as (url, _):
        result = run(task, {"m": f"openai:{url}#m?{FAST}&stream=1"}, store=tmp_path / "r.sqlite")
    f = result.models[0].service
    assert f is not None and f.tpot_p50 is not None and f.ttft_p50 is not None
    assert f.tokens_per_answer == 5  # 答案是X。
    # the last token is never read before the server sends it
    assert f.latency_p50 is not None and f.latency_p50 >= 0.02 + 4 / 10
    # tokens are timed as they arrive, 100 ms apart; a busy client that reads the first token
    # late shortens the gap it measures, so the bound leaves room for a 200 ms stall
    assert 1 / 10 * 0.5 <= f.tpot_p50 < f.latency_p50


def test_answers_cut_at_max_tokens_are_counted_as_truncated(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 12)
    config = answer_config(task, template="让我想一想……答案是{answer}")
    with serve_in_thread(config) as (url, _):
        result = run(
            task,
            {"short": f"openai:{url}#m?{FAST}&max_tokens=4", "long": f"openai:{url}#m?{FAST}"},
            store=tmp_path / "run.sqlite",
        )
    by_name = {m.name: m for m in [*result.models, *result.incomplete]}
    short, long = by_name["short"].service, by_name["long"].service
    assert short is not None and long is not None
    assert short.truncated == 12 and short.completion_tokens == 12 * 4
    assert long.truncated == 0
    assert by_name["short"].metrics["accuracy"].value == 0.0  # cut before the answer


def test_low_coverage_is_incomplete_not_ranked_with_an_answered_only_score(
    tmp_path: Path,
) -> None:
    task = toy_task(tmp_path, 60)
    flaky = answer_config(task, faults={"server_error": 0.5})
    steady = answer_config(task, accuracy=0.5)
    spec = "concurrency=1&timeout=5&retries=0"
    with serve_in_thread(flaky) as (flaky_url, _), serve_in_thread(steady) as (steady_url, _):
        result = run(
            task,
            {"flaky": f"openai:{flaky_url}#m?{spec}", "steady": f"openai:{steady_url}#m?{spec}"},
            store=tmp_path / "run.sqlite",
            min_coverage=0.9,
        )
    assert [m.name for m in result.models] == ["steady"]
    assert result.models[0].rank == 1 and not result.comparisons
    (flaky_line,) = result.incomplete
    assert flaky_line.rank == 0 and "below the minimum 90%" in flaky_line.incomplete
    f = flaky_line.service
    assert f is not None and 0.2 < f.coverage < 0.8
    assert flaky_line.answered_score == 1.0  # what it answered was right
    assert flaky_line.metrics["accuracy"].value == pytest.approx(f.coverage)
    assert flaky_line.error_reasons.get("HTTP 500") == 60 - f.answered


def test_the_store_keeps_each_prompt_and_reopens_an_older_file(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as conn:
        conn.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE results (model TEXT NOT NULL, sample_id TEXT NOT NULL, output TEXT,"
            " error TEXT, attempts INTEGER NOT NULL, cached INTEGER NOT NULL,"
            " latency REAL NOT NULL, PRIMARY KEY (model, sample_id)) WITHOUT ROWID;"
            "CREATE TABLE cache (key TEXT PRIMARY KEY, output TEXT NOT NULL) WITHOUT ROWID;"
            "INSERT INTO results VALUES ('m', '1', '甲', NULL, 1, 0, 0.5);"
            "INSERT INTO cache VALUES ('k', '甲');"
        )
    conn.close()
    store = RunStore(old)
    try:
        (outcome,) = store.finished("m").values()
        assert (outcome.output, outcome.latency, outcome.completion_tokens) == ("甲", 0.5, None)
        assert store.cached(["k"])["k"].output == "甲"
        messages = [{"role": "user", "content": "一加一"}]
        digest = prompt_hash(serialise(messages))
        store.remember_prompts([(digest, serialise(messages))])
        store.write([Outcome("m", "2", "二", None, 1, False, 0.2, "k2", 0.1, 5, 1, "stop", digest)])
        again = store.finished("m")["2"]
        assert (again.ttft, again.prompt_tokens, again.finish_reason) == (0.1, 5, "stop")
        assert store.prompt(again.prompt_hash or "") == messages
        assert store.cached(["k2"])["k2"].completion_tokens == 1
    finally:
        store.close()


def test_a_rerun_reuses_cached_answers_with_their_figures(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 10)
    cache = tmp_path / "cache.sqlite"
    with serve_in_thread(answer_config(task, latency=0.01)) as (url, server):
        spec = f"openai:{url}#m?{FAST}&stream=1&price_in=1&price_out=1"
        first = run(task, {"m": spec}, store=tmp_path / "a.sqlite", cache_path=cache)
        second = run(task, {"m": spec}, store=tmp_path / "b.sqlite", cache_path=cache)
        assert server.requests == 10
    assert second.models[0].cached == 10
    assert second.models[0].service == first.models[0].service


def test_pareto_front_keeps_models_no_other_beats_on_quality_and_cost() -> None:
    points = {"a": (0.9, 5.0), "b": (0.8, 1.0), "c": (0.7, 2.0), "d": (0.9, 6.0), "e": (0.95, 9.0)}
    assert pareto(points) == {"a", "b", "e"}


def test_prices_come_in_pairs_and_are_not_negative() -> None:
    with pytest.raises(ModelSpecError, match="both price_in and price_out"):
        build_model("openai:http://127.0.0.1:9/v1#m?price_in=1")
    with pytest.raises(ModelSpecError, match="0 or more"):
        build_model("openai:http://127.0.0.1:9/v1#m?price_in=-1&price_out=1")
    with pytest.raises(ModelSpecError, match="stream"):
        build_model("openai:http://127.0.0.1:9/v1#m?stream=maybe")


def _choice_task(folder: Path, n: int = 20) -> Task:
    rows = [{"id": i, "q": f"第{i}题", "label": "ABCD"[i % 4]} for i in range(n)]
    spec = {
        "name": "mc",
        "splits": {
            "test": {"format": "inline", "rows": rows, "id_field": "id", "label_field": "label"}
        },
        "prompt": {"template": "{{ q }}"},
        "parser": {"name": "choice_letter", "letters": "ABCD"},
        "scorers": ["accuracy"],
        "generation": {"choice_by": "logprobs"},
    }
    path = folder / "mc.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return load_task(path)


@pytest.mark.parametrize(
    ("options", "by_logprobs", "requests"),
    [
        ({}, 20, 20),  # the letter is read from the first token: one short request each
        ({"logprobs": False}, 0, 40),  # no logprobs given: each falls back to generation
        ({"template": "答案是{answer}"}, 0, 40),  # first token not a letter: generate
    ],
)
def test_multiple_choice_by_logprobs_falls_back_to_generation(
    tmp_path: Path, options: dict[str, object], by_logprobs: int, requests: int
) -> None:
    task = _choice_task(tmp_path)
    config = answer_config(task, **options)
    config.choices = list("ABCD")
    with serve_in_thread(config) as (url, server):
        result = run(task, {"m": f"openai:{url}#m?{FAST}"}, store=tmp_path / "run.sqlite")
        assert server.requests == requests
    line = result.models[0]
    assert line.metrics["accuracy"].value == 1.0
    assert line.service is not None and line.service.by_logprobs == by_logprobs
    store = RunStore(tmp_path / "run.sqlite")
    try:
        methods = {o.method for o in store.finished("m").values()}
    finally:
        store.close()
    assert methods == {"logprobs" if by_logprobs else "generate"}


def test_logprobs_need_a_choice_letter_parser(tmp_path: Path) -> None:
    spec = {
        "name": "bad",
        "splits": {
            "test": {
                "format": "inline",
                "rows": [{"id": 1, "q": "x", "label": "A"}],
                "id_field": "id",
                "label_field": "label",
            }
        },
        "prompt": {"template": "{{ q }}"},
        "scorers": ["accuracy"],
        "generation": {"choice_by": "logprobs"},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(EvalError, match="needs parser choice_letter"):
        load_task(path)


def test_a_model_sets_its_own_vendor_fields(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 4)
    with serve_in_thread(answer_config(task)) as (url, server):
        spec = f'openai:{url}#m?{FAST}&extra_body={{"enable_thinking": false, "top_k": 5}}'
        run(task, {"m": spec}, store=tmp_path / "run.sqlite")
        body = server.bodies[-1]
    assert body["enable_thinking"] is False and body["top_k"] == 5
    for bad in ('{"stream": true}', '{"max_tokens": 9}', "[1]", "{"):
        with pytest.raises(ModelSpecError, match="extra_body"):
            build_model(f"openai:http://127.0.0.1:9/v1#m?extra_body={bad}")


def test_an_answer_cut_while_thinking_is_answered_empty_not_retried() -> None:
    from mosu.evals.models.base import ModelError
    from mosu.evals.models.openai_compat import _completion

    cut = _completion(None, {"prompt_tokens": 9, "completion_tokens": 64}, "length", None)
    assert (cut.text, cut.finish_reason, cut.completion_tokens) == ("", "length", 64)
    with pytest.raises(ModelError, match="empty content"):
        _completion("", None, "stop", None)
