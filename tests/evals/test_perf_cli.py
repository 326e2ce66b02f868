"""``mosu eval perf``: the table, perf.json, the HTML report and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mosu.evals.cli import app
from mosu.evals.fakeserver import FakeConfig, serve_in_thread
from mosu.evals.perf import PerfResult
from tests.helpers.evals import toy_task_file

runner = CliRunner()


def test_perf_prints_steps_and_writes_json_and_html(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        '{"prompt": "一"}\n{"messages": [{"role": "user", "content": "二"}]}\n', encoding="utf-8"
    )
    out = tmp_path / "out"
    with serve_in_thread(FakeConfig(latency=0.02, token_rate=500, template="0123456789")) as (
        url,
        server,
    ):
        args = [
            "perf", f"fake=openai:{url}#m?stream=1", "--prompts", str(prompts),
            "--steps", "1,2", "--requests", "4", "--slo", "2", "--out", str(out),
        ]  # fmt: skip
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        sent = server.requests
    assert result.exit_code == 0, result.output
    assert "max concurrency within SLO (p95 ≤ 2 s, errors ≤ 1%): 2" in result.output
    saved = PerfResult.model_validate_json((out / "perf.json").read_text(encoding="utf-8"))
    assert [s.requests for s in saved.steps] == [4, 4] and sent == 8
    assert saved.model == "fake" and saved.max_concurrency_within_slo == 2
    page = (out / "perf.html").read_text(encoding="utf-8")
    assert "Plotly.newPlot" in page and "<script src=" not in page


def test_perf_takes_prompts_from_a_task(tmp_path: Path) -> None:
    task_file = toy_task_file(tmp_path, 6)
    with serve_in_thread(FakeConfig()) as (url, server):
        args = [
            "perf", f"openai:{url}#m", "--task", str(task_file), "--steps", "1",
            "--requests", "6", "--max-tokens", "2", "--out", str(tmp_path / "o"), "-q",
        ]  # fmt: skip
        result = runner.invoke(app, args)
        asked = len(server.counts)
    assert result.exit_code == 0, result.output
    assert asked == 6  # each of the task's six prompts once
    saved = json.loads((tmp_path / "o" / "perf.json").read_text(encoding="utf-8"))
    assert saved["max_tokens"] == 2


def test_perf_exit_codes(tmp_path: Path) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("q\n", encoding="utf-8")
    bad = runner.invoke(
        app, ["perf", "baseline:majority", "--prompts", str(prompts), "--steps", "4,1"]
    )
    assert bad.exit_code == 2 and "各步须递增" in bad.output
    neither = runner.invoke(app, ["perf", "baseline:majority"])
    assert neither.exit_code == 2 and "须且只能给出一个" in neither.output
    with serve_in_thread(FakeConfig(api_key="k")) as (url, _):
        args = ["perf", f"openai:{url}#m", "--prompts", str(prompts), "--out", str(tmp_path / "o")]
        refused = runner.invoke(app, args)
    assert refused.exit_code == 1, refused.output
    assert "stopped: HTTP 401 from the endpoint" in refused.output
