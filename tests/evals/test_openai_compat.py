from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from mosu.evals.fakeserver import FakeConfig, prompt_key, serve_in_thread
from mosu.evals.limits import Limits
from mosu.evals.models.base import ModelError
from mosu.evals.models.openai_compat import OpenAIChatModel
from tests.helpers.evals import toy_task


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
