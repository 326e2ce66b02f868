"""The engine's README is part of the product: every name a user can write is in it."""

from __future__ import annotations

from pathlib import Path

import typer.main

from mosu.evals.cli import app
from mosu.evals.models.local import BASELINES
from mosu.evals.parsers import PARSERS
from mosu.evals.scorers import SCORERS
from mosu.evals.tasks import DataSpec, TaskSpec, builtin_tasks

README = (Path(__file__).resolve().parents[2] / "mosu" / "evals" / "README.md").read_text(
    encoding="utf-8"
)


def test_scorers_parsers_baselines_and_tasks_are_documented() -> None:
    for name in [*SCORERS.builtin, *PARSERS, *builtin_tasks()]:
        assert f"`{name}`" in README, name
    for name in BASELINES:
        assert f"`baseline:{name}`" in README, name


def test_task_fields_are_documented() -> None:
    for name in [*TaskSpec.model_fields, *DataSpec.model_fields]:
        assert f"`{name}`" in README, name


def test_cli_options_are_documented() -> None:
    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    assert set(commands) == {"run", "report", "perf"}
    for command in commands.values():
        for param in command.params:
            if param.param_type_name == "option" and param.opts[0] != "--help":
                assert f"`{param.opts[0]}`" in README, param.opts[0]


def test_stats_method_is_documented() -> None:
    assert "paired bootstrap" in README and "Rank groups" in README


def test_public_api_is_exported() -> None:
    import mosu.evals

    for name in mosu.evals.__all__:
        assert getattr(mosu.evals, name) is not None, name
    assert sorted(mosu.evals.__all__) == mosu.evals.__all__


def test_what_the_held_out_run_tripped_on_is_documented() -> None:
    """Issue 16 §6: ids without an id field, python: import paths, the answer key format."""
    assert "Omitted, a sample's id is its row's 0-based position" in README
    assert "PYTHONPATH=. mosu eval run task.yaml -m mine=python:my_model:answer" in README
    fake = README.split("## Fake server", 1)[1].split("\n## ", 1)[0]
    assert '{"prompt": ' in fake and '{"id": ' in fake and "--id-pattern" in fake
    assert "`< 0.001`" in README
