from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from mosu.evals.fakeserver import FakeConfig, prompt_key, serve_in_thread


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


async def _ask(session: aiohttp.ClientSession, url: str, prompt: str, model: str) -> Reply:
    payload = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    async with session.post(f"{url}/chat/completions", json=payload) as response:
        return Reply(response.status, dict(response.headers), await response.read())


def _post(url: str, prompt: str, model: str = "m") -> Reply:
    async def go() -> Reply:
        async with aiohttp.ClientSession() as session:
            return await _ask(session, url, prompt, model)

    return asyncio.run(go())


def _content(response: Reply) -> str:
    return str(json.loads(response.body)["choices"][0]["message"]["content"])


def test_answers_from_the_key_and_counts_prompts() -> None:
    config = FakeConfig(answers={prompt_key("一加一"): "二"}, template="答案是{answer}")
    with serve_in_thread(config) as (url, server):
        assert _content(_post(url, "一加一")) == "答案是二"
        assert _content(_post(url, " 一加一 ")) == "答案是二"
        assert server.counts[prompt_key("一加一")] == 2
        assert server.requests == 2


def test_accuracy_is_deterministic_per_prompt_and_model() -> None:
    prompts = [f"问题{i}" for i in range(400)]
    config = FakeConfig(
        answers={prompt_key(p): "对" for p in prompts},
        choices=["对", "错"],
        accuracy=0.7,
        accuracy_by_model={"strong": 0.95},
    )
    with serve_in_thread(config) as (url, _):

        async def ask(model: str) -> list[str]:
            connector = aiohttp.TCPConnector(limit=16)
            async with aiohttp.ClientSession(connector=connector) as session:
                replies = await asyncio.gather(*(_ask(session, url, p, model) for p in prompts))
            return [_content(r) for r in replies]

        first, again, strong = (
            asyncio.run(ask("m")),
            asyncio.run(ask("m")),
            asyncio.run(ask("strong")),
        )
    assert first == again
    assert first.count("对") / 400 == pytest.approx(0.7, abs=0.07)
    assert strong.count("对") / 400 == pytest.approx(0.95, abs=0.04)


@pytest.mark.parametrize(
    "fault", ["rate_limit", "server_error", "malformed", "empty", "disconnect"]
)
def test_each_fault(fault: str) -> None:
    config = FakeConfig(answers={prompt_key("q"): "a"}, faults={fault: 1.0}, retry_after=2)
    with serve_in_thread(config) as (url, _):
        if fault == "disconnect":
            with pytest.raises(aiohttp.ServerDisconnectedError):
                _post(url, "q")
            return
        response = _post(url, "q")
    if fault == "rate_limit":
        assert response.status == 429 and response.headers["Retry-After"] == "2"
    elif fault == "server_error":
        assert response.status == 500
    elif fault == "malformed":
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.body)
    else:
        assert _content(response) == ""


def test_answer_key_file_and_cli_config(tmp_path: Path) -> None:
    from mosu.evals.fakeserver import load_answer_key

    key = tmp_path / "key.jsonl"
    key.write_text(
        '{"prompt": "一加一", "answer": "二"}\n{"id": 7, "answer": "B"}\n', encoding="utf-8"
    )
    assert load_answer_key(key) == {prompt_key("一加一"): "二", "7": "B"}
    with pytest.raises(ValueError, match="unknown faults"):
        FakeConfig(faults={"meteor": 0.1})


def test_api_key_is_required_when_set(tmp_path: Path) -> None:
    from mosu.evals.models.base import ModelError
    from mosu.evals.models.openai_compat import OpenAIChatModel
    from tests.helpers.evals import toy_task

    task = toy_task(tmp_path, 4)

    async def ask(url: str, key: str | None) -> str:
        model = OpenAIChatModel(url, "m", api_key=key)
        await model.prepare(task)
        try:
            return (await model.complete("1", [{"role": "user", "content": "q"}])).text
        finally:
            await model.aclose()

    config = FakeConfig(answers={prompt_key("q"): "a"}, api_key="sk-right")
    with serve_in_thread(config) as (url, server):
        assert asyncio.run(ask(url, "sk-right")) == "a"
        for key in (None, "sk-wrong"):
            with pytest.raises(ModelError, match="HTTP 401") as caught:
                asyncio.run(ask(url, key))
            assert not caught.value.retryable
        assert server.requests == 1


def test_every_flag_says_what_it_does() -> None:
    from mosu.evals.fakeserver_cli import parser as build

    parser = build()
    for action in parser._actions:
        assert action.help and action.help.strip(), action.option_strings
    assert parser.description and '{"prompt": ' in (parser.epilog or "")
