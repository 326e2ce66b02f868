from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mosu.evals.cli import app
from mosu.evals.fakeserver import serve_in_thread
from mosu.evals.tasks import load_task

from .helpers import answer_config, toy_task_file

runner = CliRunner()


def test_run_then_report(tmp_path: Path) -> None:
    task_file = toy_task_file(tmp_path, 60)
    task = load_task(task_file)
    out = tmp_path / "out"
    with serve_in_thread(answer_config(task, accuracy=0.9)) as (url, _):
        args = [
            "run",
            str(task_file),
            "-m",
            f"api=openai:{url}#m",
            "-m",
            "maj=baseline:majority",
            "--out",
            str(out),
            "-q",
        ]
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "api" in result.output and "accuracy" in result.output
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [m["name"] for m in saved["models"]] == ["api", "maj"]
    assert len((out / "samples.jsonl").read_text(encoding="utf-8").splitlines()) == 120
    report = runner.invoke(app, ["report", str(out / "results.json")])
    assert report.exit_code == 0, report.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Plotly.newPlot" in html and "<script src" not in html
    assert "混淆矩阵" in html


def test_errors_are_short_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", "no-such-task", "-m", "baseline:majority", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "no task file 'no-such-task'" in result.output
    result = runner.invoke(
        app,
        [
            "run",
            str(toy_task_file(tmp_path, 5)),
            "-m",
            "baseline:majority",
            "--out",
            str(tmp_path / "x"),
            "--resume",
        ],
    )
    assert result.exit_code == 2 and "nothing to resume" in result.output
