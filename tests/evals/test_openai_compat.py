from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from mosu.evals import run
from mosu.evals.errors import ModelSpecError
from mosu.evals.fakeserver import FakeConfig, prompt_key, serve_in_thread
from mosu.evals.limits import Limits
from mosu.evals.models.base import ModelError
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.models.specs import build_model
from mosu.evals.tasks import Task, TaskSpec
from tests.helpers.evals import answer_config, toy_task


def _call(tmp_path: Path, url: str, prompt: str = "q") -> str:
    async def go() -> str:
        model = OpenAIChatModel(url, "m", api_key="sk-test", limits=Limits(concurrency=2))
        await model.prepare(toy_task(tmp_path, 4))
        try:
            return (await model.complete("1", [{"role": "user", "content": prompt}])).text
        finally:
            await model.aclose()

    return asyncio.run(go())


def test_answer_through_the_pooled_client(tmp_path: Path) -> None:
    with serve_in_thread(FakeConfig(answers={prompt_key("q"): "甲"})) as (url, server):
        assert _call(tmp_path, url) == "甲"
        assert server.requests == 1


@pytest.mark.parametrize(
    ("fault", "reason", "retryable", "retry_after"),
    [
        ("rate_limit", "HTTP 429", True, 2.0),
        ("server_error", "HTTP 500", True, None),
        ("malformed", "malformed JSON response", True, None),
        ("empty", "empty content", True, None),
        ("disconnect", "connection closed before a full response", True, None),
    ],
)
def test_each_fault_is_classified(
    tmp_path: Path, fault: str, reason: str, retryable: bool, retry_after: float | None
) -> None:
    config = FakeConfig(answers={prompt_key("q"): "a"}, faults={fault: 1.0}, retry_after=2)
    with serve_in_thread(config) as (url, _), pytest.raises(ModelError) as caught:
        _call(tmp_path, url)
    assert caught.value.reason.startswith(reason)
    assert (caught.value.retryable, caught.value.retry_after) == (retryable, retry_after)


def test_client_error_is_final_and_refused_connection_retryable(tmp_path: Path) -> None:
    with serve_in_thread(FakeConfig()) as (url, _), pytest.raises(ModelError) as caught:
        _call(tmp_path, url.removesuffix("/v1") + "/elsewhere")
    assert caught.value.reason.startswith("HTTP 404") and not caught.value.retryable
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ModelError) as refused:
        _call(tmp_path, f"http://127.0.0.1:{port}/v1")
    # no address, port or socket error: a team cannot tell a closed port from a filtered one
    assert refused.value.reason == "endpoint unreachable"
    assert refused.value.retryable and refused.value.unreachable and refused.value.status is None


def test_only_http_urls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only http"):
        _call(tmp_path, "ftp://example.com/v1")


def _task_with(tmp_path: Path, **generation: object) -> Task:
    task = toy_task(tmp_path, 4)
    data = task.spec.model_dump()
    data["generation"] = {**data["generation"], **generation}
    return Task(TaskSpec.model_validate(data))


def test_generation_controls_reach_the_endpoint(tmp_path: Path) -> None:
    task = _task_with(
        tmp_path,
        seed=7,
        stop=["\n\n", "###"],
        top_p=0.9,
        max_tokens=4096,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}, "top_k": 20},
    )
    with serve_in_thread(answer_config(task)) as (url, server):
        result = run(task, {"m": f"openai:{url}#m"}, store=tmp_path / "r.sqlite")
        bodies = list(server.bodies)
    assert len(bodies) == 4 and result.models[0].metrics["accuracy"].value == 1.0
    assert {k: v for k, v in bodies[0].items() if k != "messages"} == {
        "model": "m",
        "temperature": 0.0,
        "max_tokens": 4096,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["\n\n", "###"],
        "chat_template_kwargs": {"enable_thinking": False},
        "top_k": 20,
    }


def test_spec_options_win_and_belong_to_the_cache_key(tmp_path: Path) -> None:
    task = _task_with(tmp_path, seed=7, stop="###")
    with serve_in_thread(answer_config(task)) as (url, server):
        spec = f"openai:{url}#m?seed=1&stop=%0A&stop=END"
        run(task, {"a": spec, "b": f"openai:{url}#m"}, store=tmp_path / "r.sqlite")
        sent = {(b["seed"], json.dumps(b["stop"])) for b in server.bodies}
        # the same prompts with other parameters are other requests, not cache hits
        assert server.requests == 8
    assert sent == {(1, json.dumps(["\n", "END"])), (7, json.dumps("###"))}
    model = build_model(spec)
    assert "END" in (model.identity or "")
    with pytest.raises(ModelSpecError, match="stop takes 1 to 4 sequences, got 5"):
        build_model(f"openai:{url}#m?" + "&".join(f"stop={i}" for i in range(5)))
    with pytest.raises(ModelSpecError, match="option seed='x' is not a valid number"):
        build_model(f"openai:{url}#m?seed=x")
