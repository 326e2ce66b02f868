from __future__ import annotations

from pathlib import Path

import pytest

from mosu.evals import run
from mosu.evals.errors import TaskError
from mosu.evals.fakeserver import serve_in_thread
from mosu.evals.scorers import judge_grade
from mosu.evals.tasks import Task, TaskSpec

from .helpers import answer_config, toy_task


@pytest.mark.parametrize(
    ("verdict", "grade"),
    [
        ("评分：8", 0.8),
        ("评分: ８", 0.8),
        ("我给 7 分", 0.7),
        ("Score: 9.5", 0.95),
        ("15", 1.0),
        ("无法评价", 0.0),
        (None, 0.0),
    ],
)
def test_judge_grade(verdict: str | None, grade: float) -> None:
    assert judge_grade(verdict, 10) == pytest.approx(grade)


def _with_judge(tmp_path: Path, template: str | None = None) -> Task:
    task = toy_task(tmp_path, 100)
    judge: dict[str, object] = {"name": "judge", "model": "python:tests.evals.toy_model:grader"}
    if template:
        judge["template"] = template
    data = task.spec.model_dump()
    data["scorers"].append(judge)
    return Task(TaskSpec.model_validate(data))


def test_judge_grades_each_answer_and_is_resumable(tmp_path: Path) -> None:
    task = _with_judge(tmp_path)
    with serve_in_thread(answer_config(task, accuracy=0.8)) as (url, server):
        first = run(task, {"m": f"openai:{url}#m"}, store=tmp_path / "r.sqlite")
        again = run(task, {"m": f"openai:{url}#m"}, store=tmp_path / "r.sqlite")
        assert server.requests == 100
    metrics = first.models[0].metrics
    assert metrics["judge"].value == pytest.approx(
        metrics["accuracy"].value + (1 - metrics["accuracy"].value) * 0.2
    )
    assert again.models[0].metrics == metrics


def test_judge_template_is_checked(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="judge template"):
        _with_judge(tmp_path, "{{ answer }} {{ gold }}")


def test_cli_shows_judge_progress(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from mosu.evals.cli import app

    task = _with_judge(tmp_path)
    path = tmp_path / "judged.yaml"
    path.write_text(
        yaml.safe_dump(task.spec.model_dump(exclude_defaults=True), allow_unicode=True),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["run", str(path), "-m", "maj=baseline:majority", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "judge" in result.output
