"""The engine's event loop: uvloop when installed, asyncio's on request; the fake server and
the endpoint adapter work on both."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mosu.evals import aio
from mosu.evals.fakeserver import FakeConfig, FakeServer, prompt_key, serve_in_thread
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.settings import EvalSettings
from tests.helpers.evals import toy_task


def test_loop_choice_follows_the_settings() -> None:
    assert aio.loop_name() == "uvloop"  # a dependency on Linux
    assert aio.loop_name("asyncio") == "asyncio"
    assert EvalSettings.from_env({}).loop == "uvloop"
    assert EvalSettings.from_env({"MOSU_EVAL_LOOP": "asyncio"}).loop == "asyncio"
    with pytest.raises(ValueError, match="MOSU_EVAL_LOOP"):
        EvalSettings.from_env({"MOSU_EVAL_LOOP": "trio"})
    with pytest.raises(ValueError, match="MOSU_EVAL_LOOP"):
        aio.loop_name("trio")


def test_eval_settings_are_read_from_the_mapping_given() -> None:
    environ = {"MOSU_CACHE_DIR": "/tmp/cache", "MOSU_RAY_ADDRESS": "auto"}
    assert EvalSettings.from_env(environ) == EvalSettings(
        cache_dir=Path("/tmp/cache"), ray_address="auto"
    )
    assert EvalSettings.from_env({"MOSU_CACHE_DIR": "", "MOSU_RAY_ADDRESS": ""}) == EvalSettings()


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_server_and_adapter_on_each_loop(loop: str, tmp_path: Path) -> None:
    task = toy_task(tmp_path, 4)

    config = FakeConfig(answers={prompt_key("一加一"): "二"})

    async def ask(url: str) -> str:
        model = OpenAIChatModel(url, "m")
        await model.prepare(task)
        try:
            return (await model.complete("1", [{"role": "user", "content": "一加一"}])).text
        finally:
            await model.aclose()

    async def both_on_one_loop() -> tuple[str, str]:
        server = FakeServer(config)
        port = await server.start()
        try:
            async with asyncio.timeout(10):
                answer = await ask(f"http://127.0.0.1:{port}/v1")
        finally:
            await server.close()
        return type(asyncio.get_running_loop()).__module__, answer

    module, answer = aio.run(both_on_one_loop(), loop)
    assert module.split(".")[0] == loop and answer == "二"
    with serve_in_thread(config, loop) as (url, server):
        assert aio.run(ask(url), loop) == "二" and server.requests == 1
