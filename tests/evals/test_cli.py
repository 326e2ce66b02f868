from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from mosu.evals.cli import app
from mosu.evals.fakeserver import serve_in_thread
from mosu.evals.tasks import load_task
from tests.helpers.evals import answer_config, toy_task_file

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
    assert result.exit_code == 2 and "无可续跑的运行" in result.output


def test_an_invalid_parser_regex_is_a_clear_error(tmp_path: Path) -> None:
    """No traceback: the file, the field and the reason, exit code 2."""
    task_file = toy_task_file(tmp_path, 5)
    task = yaml.safe_load(task_file.read_text(encoding="utf-8"))
    task["parser"] = {"name": "regex", "pattern": "类别[甲乙(.)"}
    task_file.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(
        app, ["run", str(task_file), "-m", "maj=baseline:majority", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    output = "".join(result.output.split())  # the console wraps long lines
    expected = f"{task_file}: parser.pattern: invalid regular expression '类别[甲乙(.)'"
    assert "".join(expected.split()) in output
    assert "unterminatedcharacterset" in output
    assert "Traceback" not in result.output


def _label_sorted_task(folder: Path) -> Path:
    """A task over a JSONL file sorted by label: 60 甲, 30 乙, 10 丙."""
    rows = [("甲", 60), ("乙", 30), ("丙", 10)]
    lines: list[str] = []
    for label, count in rows:
        for _ in range(count):
            lines.append(json.dumps({"id": f"s{len(lines)}", "text": "题", "label": label}))
    (folder / "sorted.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = {
        "name": "sorted",
        "splits": {
            "test": {
                "format": "jsonl",
                "path": str(folder / "sorted.jsonl"),
                "id_field": "id",
                "label_field": "label",
            }
        },
        "labels": ["甲", "乙", "丙"],
        "prompt": {"template": "{{ text }}"},
        "parser": "label",
        "scorers": ["accuracy"],
    }
    path = folder / "sorted.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path


def test_limit_draws_every_label_and_takes_a_whole_predictions_file(tmp_path: Path) -> None:
    task_file = _label_sorted_task(tmp_path)
    predictions = tmp_path / "all.jsonl"
    predictions.write_text(
        "".join(json.dumps({"id": f"s{i}", "prediction": "甲"}) + "\n" for i in range(100)),
        encoding="utf-8",
    )
    chosen = []
    for out in ("one", "two"):
        args = ["run", str(task_file), "-m", f"p=predictions:{predictions}", "--limit", "10"]
        result = runner.invoke(app, [*args, "--seed", "3", "--out", str(tmp_path / out), "-q"])
        assert result.exit_code == 0, result.output
        lines = (tmp_path / out / "samples.jsonl").read_text(encoding="utf-8").splitlines()
        chosen.append([json.loads(line)["id"] for line in lines])
        if out == "one":
            labels = [json.loads(line)["label"] for line in lines]
    assert labels == ["甲"] * 6 + ["乙"] * 3 + ["丙"]  # in proportion, in file order
    assert chosen[0] == chosen[1]  # the same sample for the same seed
    saved = json.loads((tmp_path / "one" / "results.json").read_text(encoding="utf-8"))
    assert saved["samples"] == 10
    assert saved["models"][0]["metrics"]["accuracy"]["value"] == 0.6

    with predictions.open("a", encoding="utf-8") as extra:
        extra.write(json.dumps({"id": "s100", "prediction": "甲"}) + "\n")
    args = ["run", str(task_file), "-m", f"p=predictions:{predictions}", "--limit", "10"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "three"), "-q"])
    assert result.exit_code != 0
    assert "unknown ids: s100" in result.output


FIRST_REQUEST = """
import sys
import mosu.evals.http as http
send = http.Pool.request
seen = []

def request(self, *args, **kwargs):
    if not seen:
        later = ("numpy", "jinja2", "prometheus_client", "rich")
        seen.append(sorted(m for m in later if m in sys.modules))
        print("LOADED", seen[0], file=sys.stderr)
    return send(self, *args, **kwargs)

http.Pool.request = request
from mosu.cli import main
sys.argv = ["mosu", *sys.argv[1:]]
main()
"""


def test_the_first_request_goes_out_before_scoring_templating_or_metrics_load(
    tmp_path: Path,
) -> None:
    """Issue 20: ``mosu eval run``'s start-up loads what sends requests; NumPy (scoring),
    Jinja2 (a plain template), prometheus_client (no /metrics here) and Rich (``-q``: no
    progress bars; the tables are drawn after the race) come later or never."""
    import subprocess
    import sys

    task_file = toy_task_file(tmp_path, 40)
    task = load_task(task_file)
    with serve_in_thread(answer_config(task)) as (url, _):
        args = ["eval", "run", str(task_file), "-m", f"api=openai:{url}#m"]
        done = subprocess.run(
            [sys.executable, "-c", FIRST_REQUEST, *args, "--out", str(tmp_path / "o"), "-q"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stderr
    assert len((tmp_path / "o" / "samples.jsonl").read_text(encoding="utf-8").splitlines()) == 40
