"""The README is part of the product: every setting and command must be in it."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.core import TyperGroup

from mosu.cli import app
from mosu.core.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: TyperGroup, prefix: str = "mosu") -> list[str]:
    found = []
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{prefix} {name} is listed but does not load"
        if isinstance(command, TyperGroup):
            found += _commands(command, f"{prefix} {name}")
        else:
            found.append(f"{prefix} {name}")
    return found


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`MOSU_{name.upper()}`" in README, f"MOSU_{name.upper()} missing from README"


def test_every_command_is_documented() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    commands = _commands(root)
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
