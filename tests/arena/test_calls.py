"""Calling models through the engine's adapters, also from a thread whose loop runs."""

from __future__ import annotations

import asyncio

from mosu.arena.calls import call_models
from mosu.evals.models.specs import build_model
from mosu.evals.prompts import Message


def shout(messages: list[Message]) -> str:
    return messages[-1]["content"].upper()


WORK = {
    "m": [("1", [{"role": "user", "content": "abc"}]), ("2", [{"role": "user", "content": "x"}])]
}


def test_calls_return_one_outcome_per_item() -> None:
    model = build_model("python:tests.arena.test_calls:shout")
    outcomes = call_models({"m": model}, WORK)
    assert sorted((o.sample_id, o.output) for o in outcomes) == [("1", "ABC"), ("2", "X")]


def test_calls_work_inside_a_running_event_loop() -> None:
    async def inside() -> list[str | None]:
        model = build_model("python:tests.arena.test_calls:shout")
        return sorted(o.output or "" for o in call_models({"m": model}, WORK))

    assert asyncio.run(inside()) == ["ABC", "X"]
