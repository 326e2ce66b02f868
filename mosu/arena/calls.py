"""Calling competitors and judges through the evaluation engine's adapters and executor.

The arena reuses :mod:`mosu.evals.models` (endpoints, local callables) and the engine's
:class:`~mosu.evals.executor.LocalExecutor` (each model's concurrency, rate limit,
retries with backoff), so an arena reaches a model exactly as a race does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from mosu.evals.executor import LocalExecutor, Shard, WorkItem
from mosu.evals.models.base import Model
from mosu.evals.prompts import Message
from mosu.evals.store import Outcome
from mosu.evals.tasks import Task, parse_task


def _arena_task() -> Task:
    """The task the adapters prepare with: free text, greedy decoding."""
    return parse_task(
        {
            "name": "arena",
            "splits": {
                "test": {
                    "format": "inline",
                    "rows": [{"id": "arena", "prompt": "arena", "label": "-"}],
                    "id_field": "id",
                    "label_field": "label",
                    "input_fields": ["prompt"],
                }
            },
            "prompt": {"template": "{{ prompt }}"},
            "scorers": ["exact_match"],
            "generation": {"temperature": 0.0},
        },
        where="arena",
    )


async def _call(
    models: Mapping[str, Model], work: Mapping[str, Sequence[tuple[str, list[Message]]]]
) -> list[Outcome]:
    task = _arena_task()
    outcomes: list[Outcome] = []
    used = {name: models[name] for name, items in work.items() if items}
    try:
        for model in used.values():
            await model.prepare(task)
        shards = [
            Shard(name, [WorkItem(key, messages) for key, messages in items])
            for name, items in work.items()
            if items
        ]
        await LocalExecutor().run(shards, used, outcomes.append)
    finally:
        for model in used.values():
            await model.aclose()
    return outcomes


def call_models(
    models: Mapping[str, Model], work: Mapping[str, Sequence[tuple[str, list[Message]]]]
) -> list[Outcome]:
    """Send each model its ``(key, messages)`` items; one :class:`Outcome` per item
    (the answer, or the error that remained after the model's retries).

    From a thread whose event loop is already running (Playwright's sync API, a notebook)
    the calls run on a fresh loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_call(models, work))
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _call(models, work)).result()
