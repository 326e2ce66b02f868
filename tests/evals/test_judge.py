from __future__ import annotations

from pathlib import Path

import pytest

from mosu.evals import run
from mosu.evals.errors import TaskError
from mosu.evals.fakeserver import JUDGE_PATTERN, FakeConfig, FakeServer, prompt_key, serve_in_thread
from mosu.evals.prompts import Template
from mosu.evals.scorers import JUDGE_TEMPLATE, judge_grade
from mosu.evals.tasks import Task, TaskSpec
from tests.helpers.evals import answer_config, toy_task


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


def _with_judge(
    tmp_path: Path, template: str | None = None, model: str = "python:tests.evals.toy_model:grader"
) -> Task:
    task = toy_task(tmp_path, 100)
    judge: dict[str, object] = {"name": "judge", "model": model}
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


def test_judge_through_an_endpoint_with_faults_is_cached_and_resumable(tmp_path: Path) -> None:
    """The judge is an OpenAI-compatible endpoint (the fake server grading the answers it
    gave); a fifth of all calls fails with HTTP 500 and is retried; a rerun sends nothing."""
    config = answer_config(
        toy_task(tmp_path, 100),
        accuracy=0.7,
        judge_pattern=JUDGE_PATTERN,
        faults={"server_error": 0.2},
    )
    with serve_in_thread(config) as (url, server):
        task = _with_judge(tmp_path, model=f"openai:{url}#judge?backoff=0.01&retries=20")
        model = {"m": f"openai:{url}#m?backoff=0.01&retries=20"}
        first = run(task, model, store=tmp_path / "r.sqlite")
        sent = server.requests
        again = run(task, model, store=tmp_path / "r.sqlite")
        assert server.requests == sent
        judge_prompts = [k for k in server.counts if k not in config.answers]
    result = first.models[0]
    assert result.errors == 0 and result.requests > 100
    assert len(judge_prompts) == 100 and sent > 200
    accuracy = result.metrics["accuracy"].value
    assert 0.55 < accuracy < 0.85
    assert result.metrics["judge"].value == pytest.approx(accuracy + (1 - accuracy) * 0.2)
    assert again.models[0].metrics == result.metrics


def test_fake_judge_reads_the_default_template() -> None:
    server = FakeServer(
        FakeConfig(answers={prompt_key("一加一"): "二"}, judge_pattern=JUDGE_PATTERN)
    )
    values = {
        "question": "问：\n一加一？",
        "answer": "二\n\n（完）",
        "reference": "二",
        "scale": 10,
    }
    judge = Template(JUDGE_TEMPLATE, where="judge")
    assert server.answer("judge", judge.render(values)) == "评分：2"
    assert server.answer("judge", judge.render({**values, "answer": " 二"})) == "评分：10"
    assert server.answer("m", "一加一") == "二"


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
