"""The README is part of the product: every setting and command must be in it."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from mosu.cli import app
from mosu.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: typer.Typer, prefix: str = "mosu") -> list[str]:
    found = []
    for command in group.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        found.append(f"{prefix} {name.replace('_cmd', '').replace('_', '-')}")
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        found += _commands(sub.typer_instance, f"{prefix} {sub.name}")
    return found


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`MOSU_{name.upper()}`" in README, f"MOSU_{name.upper()} missing from README"


def test_every_command_is_documented() -> None:
    commands = _commands(app)
    assert "mosu db upgrade" in commands
    for command in commands:
        assert f"`{command}" in README, f"{command} missing from README"


def test_quick_start_is_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1]
    block = re.search(r"```(?:bash)?\n(.*?)```", quick, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[0].endswith("mosu demo") and "requirements.lock" in lines[0]
    assert "scripts/test.sh" in lines[1]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert lines[1] in ci
