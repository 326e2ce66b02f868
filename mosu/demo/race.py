"""The demo's race: two built-in baselines and two fake endpoints on the demo hotline task.

The endpoints are the project's fake OpenAI-compatible server on loopback, answering from
the task's answer key with a set accuracy; one of them also fails a share of calls
(429 with Retry-After, 500, timeouts), so the demo shows retries and error counts.
"""

from __future__ import annotations

import json
from pathlib import Path

from mosu.evals import FakeConfig, RaceResult, aio, load_task, serve_in_thread
from mosu.evals.cli import leaderboard, race_with_progress
from mosu.evals.report import render_report
from mosu.evals.results import write_samples
from mosu.evals.store import RunStore

DEMO_DIR = Path(__file__).parent
TASK = DEMO_DIR / "hotline_task.yaml"
DATA = DEMO_DIR / "data" / "hotline_messages.jsonl"
ENDPOINT_ACCURACY = {"xinghe-zhengwu": 0.92, "shengche-rexian": 0.7}


def _answer_key() -> dict[str, str]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    return {row["编号"]: row["受理部门"] for row in rows}


def run_demo_race(folder: Path) -> RaceResult:
    """Race the demo models on the hotline task; write results, samples and an HTML report."""
    task = load_task(str(TASK), data_dir=DATA.parent)
    config = FakeConfig(
        latency=0.05,
        answers=_answer_key(),
        id_pattern=r"工单编号：(\S+)",
        choices=list(task.spec.labels or []),
        accuracy_by_model=ENDPOINT_ACCURACY,
        faults={"rate_limit": 0.04, "server_error": 0.04, "timeout": 0.02},
        retry_after=0.2,
        hang=2.0,
    )
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "run.sqlite"
    with serve_in_thread(config) as (url, _server):
        specs = {
            "多数类基线": "baseline:majority",
            "TF-IDF 基线": "baseline:tfidf",
            **{
                f"{name}（模拟接入点）": f"openai:{url}#{name}?concurrency=8&timeout=1&retries=4"
                for name in ENDPOINT_ACCURACY
            },
        }
        result = aio.run(race_with_progress(task, specs, store, None, False, 1000, 0, False))
    result.write(folder / "results.json")
    run_store = RunStore(store)
    try:
        write_samples(
            task, {n: run_store.finished(n) for n in specs}, folder / "samples.jsonl", list(specs)
        )
    finally:
        run_store.close()
    (folder / "report.html").write_text(render_report(result), encoding="utf-8")
    return result


__all__ = ["leaderboard", "run_demo_race"]
