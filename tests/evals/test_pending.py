"""Prompts are rendered as their requests go out, and still stored and cached as before."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mosu.evals import run
from mosu.evals.executor import WorkItem
from mosu.evals.limits import Limits
from mosu.evals.pending import Prompts, Requests
from mosu.evals.prompts import Message
from mosu.evals.store import cache_key, prompt_hash, serialise
from mosu.evals.tasks import Task
from tests.helpers.evals import toy_task


class Counting:
    """A model that notes, at each call, how many prompts the task had rendered."""

    endpoint = None

    def __init__(self, rendered: list[int], identity: str | None = "counting") -> None:
        self.rendered = rendered
        self.seen: list[int] = []
        self.limits = Limits(concurrency=4)
        self.identity = identity

    async def prepare(self, task: Task) -> None:
        return None

    async def complete(self, sample_id: str, messages: list[Message]) -> str:
        self.seen.append(self.rendered[0])
        return "甲"

    async def aclose(self) -> None:
        return None


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Task, list[int]]:
    task = toy_task(tmp_path, 200)
    rendered = [0]
    plain = Task.messages

    def messages(self: Task, sample: Any) -> list[Message]:
        rendered[0] += 1
        return plain(self, sample)

    monkeypatch.setattr(Task, "messages", messages)
    return task, rendered


def test_the_first_request_goes_out_before_the_other_prompts_are_rendered(
    counted: tuple[Task, list[int]], tmp_path: Path
) -> None:
    task, rendered = counted
    model = Counting(rendered)
    result = run(task, {"m": model}, store=tmp_path / "run.sqlite")
    assert result.models[0].samples == 200 and len(model.seen) == 200
    assert model.seen[0] <= 4  # the first call: a few prompts rendered, not 200
    assert rendered[0] == 200  # one model, one epoch: each prompt rendered once
    with sqlite3.connect(tmp_path / "run.sqlite") as conn:
        hashes = {r[0] for r in conn.execute("SELECT prompt_hash FROM results")}
        stored = dict(conn.execute("SELECT hash, messages FROM prompts").fetchall())
        cached = conn.execute("SELECT count(*) FROM cache").fetchone()[0]
    assert len(hashes) == 200 and hashes <= set(stored)  # every prompt sent was stored
    assert cached == 200
    first = task.samples()[0]
    assert stored[prompt_hash(serialise(task.messages(first)))] == serialise(task.messages(first))


def test_a_cache_that_can_answer_is_consulted_before_sending(
    counted: tuple[Task, list[int]], tmp_path: Path
) -> None:
    task, rendered = counted
    run(task, {"m": Counting(rendered)}, store=tmp_path / "a.sqlite")
    again = Counting(rendered)
    result = run(task, {"m": again}, store=tmp_path / "b.sqlite", cache_path=tmp_path / "a.sqlite")
    assert again.seen == [] and result.models[0].cached == 200


def test_requests_filter_and_slice_unrendered_and_pickle_as_plain_items(
    counted: tuple[Task, list[int]], tmp_path: Path
) -> None:
    task, rendered = counted
    ids = [s.id for s in task.samples()]
    prompts = Prompts(task, task.samples(), uses=2)
    requests = Requests.build(ids, 2, prompts, "ident")
    kept = requests.keep(lambda record: record != "0")[:150]
    assert len(requests) == 400 and len(kept) == 150 and rendered[0] == 0
    items = pickle.loads(pickle.dumps(kept[140:]))
    assert type(items) is list and all(type(i) is WorkItem for i in items)
    later = requests[len(ids) + 5]  # epoch 1 of sample 5, rendered once for both epochs
    assert (later.sample_id, later.source_id) == (f"{ids[5]}#1", ids[5])
    text = serialise(task.messages(task.samples()[5]))
    assert later.cache_key == cache_key("ident", text, 1)
    assert later.prompt_hash == prompt_hash(text)
    assert len(prompts.take()) == rendered[0] - 1 and prompts.take() == []
