"""Repeats (epochs): each sample asked N times, stored, cached and resumed per epoch; the
primary metric per epoch with its spread; intervals and ranks from per-sample means."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from mosu.evals import run, stats
from mosu.evals.cli import app
from mosu.evals.errors import EvalError
from mosu.evals.fakeserver import serve_in_thread
from mosu.evals.limits import Limits
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.models.specs import build_model
from mosu.evals.prompts import Message
from mosu.evals.report import render_report
from mosu.evals.run import _fingerprint, short_max_tokens
from mosu.evals.tasks import Task, TaskSpec, load_task, parse_task
from tests.helpers.evals import answer_config, toy_task, toy_task_file
from tests.helpers.processes import result_rows
from tests.helpers.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]

LABELS = ["甲", "乙", "丙", "丁"]


def _with_epochs(task: Task, epochs: int) -> Task:
    return Task(task.spec.model_copy(update={"epochs": epochs}))


class Wavering:
    """A local model right on sample ``i`` in epoch ``e`` unless ``(i + e) % 3 == 0``; it
    counts its calls per sample to know the epoch (one worker asks epoch by epoch)."""

    limits = Limits(concurrency=1, retries=0)
    identity = None
    endpoint = None

    def __init__(self, *, think: bool = False) -> None:
        self.think = think
        self.calls: Counter[str] = Counter()
        self.gold: dict[str, str] = {}

    async def prepare(self, task: Task) -> None:
        self.gold = {s.id: s.label for s in task.samples()}

    async def complete(self, sample_id: str, messages: list[Message]) -> str:
        epoch = self.calls[sample_id]
        self.calls[sample_id] += 1
        gold = self.gold[sample_id]
        right = (int(sample_id) + epoch) % 3 != 0
        answer = gold if right else LABELS[(LABELS.index(gold) + 1) % 4]
        return (
            f"<think>\n是{LABELS[0]}还是{LABELS[1]}？\n</think>\n\n{answer}"
            if self.think
            else answer
        )

    async def aclose(self) -> None:
        return None


def test_spread_across_epochs_and_intervals_from_per_sample_means(tmp_path: Path) -> None:
    n, epochs = 40, 3
    task = _with_epochs(toy_task(tmp_path, n), epochs)
    model = Wavering()
    result = run(
        task, {"w": model, "maj": "baseline:majority"}, store=tmp_path / "r.sqlite", seed=3
    )
    assert set(model.calls.values()) == {epochs}  # the sample's own id, once per epoch
    right = np.array([[(i + e) % 3 != 0 for i in range(n)] for e in range(epochs)], dtype=float)
    w = next(m for m in result.models if m.name == "w")
    assert w.epochs is not None and w.epochs.metric == "accuracy"
    assert w.epochs.values == pytest.approx(right.mean(axis=1).tolist())  # 0.65, 0.675, 0.675
    assert w.epochs.mean == pytest.approx(right.mean())
    assert w.epochs.std == pytest.approx(np.std(right.mean(axis=1), ddof=1))
    assert (w.epochs.minimum, w.epochs.maximum) == pytest.approx((0.65, 0.675))
    # the ranked value and its interval: the per-sample mean over epochs, bootstrapped
    per_sample = right.mean(axis=0).reshape(-1, 1)
    reps = stats.bootstrap_replicates(
        [per_sample], lambda s, k: s[..., 0] / k, replicates=1000, seed=3
    )
    expected = stats.interval(float(per_sample.mean()), reps[0])
    accuracy = w.metrics["accuracy"]
    assert (accuracy.value, accuracy.low, accuracy.high) == pytest.approx(
        (expected.value, expected.low, expected.high)
    )
    assert w.by_category["g0"].value == pytest.approx(2 / 3)  # (0 + e) % 3: wrong in epoch 0
    assert w.confusion is not None and sum(map(sum, w.confusion.matrix)) == n * epochs
    assert (w.samples, w.errors, w.unparsed) == (n, 0, 0)
    majority = next(m for m in result.models if m.name == "maj")
    assert majority.epochs is not None and majority.epochs.std == 0.0
    assert result.epochs == epochs and "asked 3 times" in result.method
    html = render_report(result)
    assert "per epoch" in html and "66.7 ± 1.4 [65.0–67.5]" in html


def test_each_epoch_is_its_own_request_stored_and_resumed(tmp_path: Path) -> None:
    n = 30
    task = toy_task(tmp_path, n)
    store = tmp_path / "r.sqlite"
    with serve_in_thread(answer_config(task, accuracy=0.7)) as (url, server):
        spec = {"m": f"openai:{url}#m?concurrency=4"}
        one = run(task, spec, store=store)
        assert server.requests == n and one.models[0].epochs is None
        # more epochs on a finished run: only the new ones are sent
        three = run(_with_epochs(task, 3), spec, store=store)
        assert server.requests == 3 * n
        assert set(server.counts.values()) == {3}
        # a killed run: some (sample, epoch) answers never committed (nor cached)
        lost = ["0", "5#1", "7#2", "8#1", "8#2"]
        with sqlite3.connect(store) as conn:
            conn.executemany("DELETE FROM results WHERE sample_id = ?", [(i,) for i in lost])
            conn.execute("DELETE FROM cache")
        resumed = run(_with_epochs(task, 3), spec, store=store)
        assert server.requests == 3 * n + len(lost)
    with sqlite3.connect(store) as conn:
        ids = [r[0] for r in conn.execute("SELECT sample_id FROM results WHERE model = 'm'")]
    assert sorted(ids) == sorted(f"{i}{f'#{e}' if e else ''}" for i in range(n) for e in range(3))
    # the fake server's answers are a function of the prompt: every epoch says the same
    assert three.models[0].epochs is not None and three.models[0].epochs.std == 0.0
    assert resumed.models[0].metrics == three.models[0].metrics == one.models[0].metrics


def test_epoch_ids_may_not_be_other_samples_ids(tmp_path: Path) -> None:
    rows = [{"id": "a", "q": "x", "y": "甲"}, {"id": "a#1", "q": "y", "y": "乙"}]
    task = parse_task(
        {
            "name": "clash",
            "splits": {
                "test": {"format": "inline", "rows": rows, "id_field": "id", "label_field": "y"}
            },
            "prompt": {"template": "{{ q }}"},
            "scorers": ["accuracy"],
            "epochs": 2,
        }
    )
    with pytest.raises(EvalError, match="epoch 1 of sample 'a' would be stored as 'a#1'"):
        run(task, {"m": "python:tests.evals.toy_model:first_label"}, store=tmp_path / "r.sqlite")


def test_fingerprint_is_the_one_before_generation_controls(tmp_path: Path) -> None:
    """A run stored before epochs, the new generation fields and image fields existed
    resumes: the store's task fingerprint is the earlier one (the whole spec, then the ids)
    without epochs and without the new generation fields and image fields left unset."""
    task = toy_task(tmp_path, 10)
    new = {
        "epochs": True,
        "generation": dict.fromkeys(("top_p", "seed", "stop", "extra_body"), True),
        "splits": {name: {"image_fields": True} for name in task.spec.splits},
    }
    earlier = (
        task.spec.model_dump_json(exclude=new) + "\n" + "\n".join(s.id for s in task.samples())
    )
    before = hashlib.sha256(earlier.encode("utf-8")).hexdigest()
    assert '"generation":{"temperature":0.0,"max_tokens":null' in earlier
    assert _fingerprint(task) == before
    assert _fingerprint(_with_epochs(task, 5)) == before
    data = task.spec.model_dump()
    data["generation"]["seed"] = 1
    assert _fingerprint(Task(TaskSpec.model_validate(data))) != before


def test_cli_epochs_warning_and_outputs(tmp_path: Path) -> None:
    task_file = toy_task_file(tmp_path, 20)
    data = yaml.safe_load(task_file.read_text(encoding="utf-8"))
    data["generation"] = {"max_tokens": 16}
    task_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    with serve_in_thread(answer_config(load_task(task_file), accuracy=0.8)) as (url, server):
        args = ["run", str(task_file), "-m", f"api=openai:{url}#m", "--out", str(out), "-q"]
        result = CliRunner().invoke(app, [*args, "--epochs", "2"])
        assert server.requests == 40
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "× 2 epochs" in output and "mean ± std" in output
    assert "warning: api: max_tokens is 16" in output
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["epochs"] == 2 and saved["models"][0]["epochs"]["metric"] == "accuracy"
    assert saved["warnings"] == [
        "api: max_tokens is 16: a reasoning model that thinks first is cut off before it "
        "answers; give it 2048-8192 (spec option max_tokens) or turn thinking off with "
        "generation.extra_body"
    ]
    lines = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert Counter(line["epoch"] for line in lines) == {0: 20, 1: 20}
    bad = CliRunner().invoke(app, [*args, "--epochs", "0"])
    assert bad.exit_code == 2


@pytest.mark.parametrize(
    ("params", "warned"),
    [
        ({"max_tokens": 32}, True),
        ({"max_tokens": 4096}, False),
        ({}, False),
        ({"max_tokens": 32, "chat_template_kwargs": {"enable_thinking": False}}, False),
        ({"max_tokens": 32, "enable_thinking": False}, False),
        ({"max_tokens": 32, "thinking": {"type": "disabled"}}, False),
    ],
)
def test_short_max_tokens_warns_unless_thinking_is_off(
    params: dict[str, object], warned: bool
) -> None:
    model = build_model("openai:http://127.0.0.1:9/v1#m")
    assert isinstance(model, OpenAIChatModel)
    model.params.update(params)
    assert bool(short_max_tokens({"m": model, "maj": build_model("baseline:majority")})) == warned


def test_the_judge_grades_every_epoch_without_the_thinking(tmp_path: Path) -> None:
    n, epochs = 30, 2
    data = toy_task(tmp_path, n).spec.model_dump()
    data["scorers"].append({"name": "judge", "model": "python:tests.evals.toy_model:grader"})
    task = Task(TaskSpec.model_validate({**data, "epochs": epochs}))
    result = run(task, {"w": Wavering(think=True)}, store=tmp_path / "r.sqlite")
    (w,) = result.models
    right = np.array([[(i + e) % 3 != 0 for i in range(n)] for e in range(epochs)], dtype=float)
    assert w.metrics["accuracy"].value == pytest.approx(right.mean())
    # 10/10 for a right answer, 2/10 for a wrong one: the judge saw the answer alone
    assert w.metrics["judge"].value == pytest.approx(right.mean() + (1 - right.mean()) * 0.2)


@pytest.mark.processes
def test_kill_minus_9_then_resume_sends_only_the_missing_sample_epoch_pairs(
    tmp_path: Path,
) -> None:
    n, epochs = 150, 3
    task_file = toy_task_file(tmp_path, n)
    task = load_task(task_file)
    out = tmp_path / "run"
    with serve_in_thread(answer_config(task, latency=0.01, accuracy=0.7)) as (url, server):
        command = [
            *(sys.executable, "-m", "mosu.evals.cli", "run", str(task_file)),
            *("--model", f"m=openai:{url}#m?concurrency=4", "--epochs", str(epochs)),
            *("--out", str(out), "-q"),
        ]
        child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
        wait_until(
            lambda: result_rows(out / "run.sqlite") >= 60 or child.poll() is not None,
            timeout=60,
            interval=0.01,
            what="the first 60 results",
        )
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
        committed = result_rows(out / "run.sqlite")
        assert 60 <= committed < n * epochs
        sent_before = server.requests
        resumed = subprocess.run(
            [*command, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=120
        )
        assert resumed.returncode == 0, resumed.stderr
        # no fault: one request per (sample, epoch) not committed before the kill, none
        # for a committed one (every pair is stored at the end)
        assert server.requests - sent_before == n * epochs - committed
    assert result_rows(out / "run.sqlite") == n * epochs
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["epochs"] == epochs and saved["models"][0]["errors"] == 0
