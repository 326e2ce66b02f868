"""The documentation is part of the product: the site's pages, links and reference must hold.

The reference pages (API routes, commands, settings) are generated from the code when the
site builds (``scripts/docs_reference.py``), so what is checked here is that the generator
covers everything, that every page the navigation names exists, and that every link between
pages leads somewhere. ``mkdocs build --strict`` in ``scripts/test.sh`` checks the rest.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
import yaml
from typer.core import TyperGroup

from mosu.cli import app
from mosu.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _load_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference", ROOT / "scripts" / "docs_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up
    spec.loader.exec_module(module)
    return module


REFERENCE = _load_reference()


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    """The generated reference pages, by their path under docs/."""
    return {uri: build() for uri, build in REFERENCE.PAGES.items()}


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


def _nav_pages(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def _nav() -> list[str]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return list(_nav_pages(config["nav"]))


def _written() -> dict[str, str]:
    return {
        path.relative_to(DOCS).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(DOCS.rglob("*.md"))
    }


def test_every_nav_page_exists_and_every_page_is_in_the_nav() -> None:
    nav = _nav()
    pages = set(_written()) | set(REFERENCE.PAGES)
    for page in nav:
        assert page in pages, f"mkdocs.yml names {page}, which is not in docs/"
    for page in pages:
        assert page in nav, f"docs/{page} is not in mkdocs.yml's nav"


def test_internal_links_resolve(generated: dict[str, str]) -> None:
    pages = {**_written(), **generated}
    for page, text in pages.items():
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            resolved = (Path(page).parent / path).as_posix()
            parts: list[str] = []
            for part in resolved.split("/"):
                if part == "..":
                    assert parts, f"{page} links outside docs/: {target}"
                    parts.pop()
                elif part not in ("", "."):
                    parts.append(part)
            assert "/".join(parts) in pages, f"{page} links to {target}, which does not exist"


def test_every_command_is_in_the_reference(generated: dict[str, str]) -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    commands = _commands(root)
    assert "mosu db upgrade" in commands
    for command in commands:
        assert f"## `{command}`" in generated["reference/cli.md"], command


def test_every_setting_is_in_the_reference(generated: dict[str, str]) -> None:
    for name in Settings.model_fields:
        assert f"`MOSU_{name.upper()}`" in generated["reference/settings.md"], name


def test_every_route_is_in_the_reference_with_who_may_call_it(
    generated: dict[str, str],
) -> None:
    app = REFERENCE.reference_app()
    try:
        routes = REFERENCE.served_routes(app)
    finally:
        app.state.engine.dispose()
    assert len(routes) > 100
    page = generated["reference/api.md"]
    for route in routes:
        for method in route.methods & {"GET", "POST", "PUT", "PATCH", "DELETE"}:
            row = re.search(rf"^\| `{method} {re.escape(route.path)}` \| ([^|]+) \|", page, re.M)
            assert row is not None, f"{method} {route.path} missing from the API reference"
            assert row.group(1).strip(), f"{method} {route.path} says nothing of who"
    assert "| `DELETE /api/v1/orgs/{organisation_id}` | operator |" in page


def test_readme_is_a_front_page() -> None:
    assert len(README.encode()) < 12 * 1024, "the README is a front page: details go in docs/"
    for target in LINK.findall(README):
        if target.startswith("docs/"):
            assert (ROOT / target.split("#", 1)[0]).is_file(), target


def test_quick_start_is_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1]
    block = re.search(r"```(?:bash)?\n(.*?)```", quick, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[0].endswith("mosu demo") and "requirements.lock" in lines[0]
    assert "scripts/test.sh" in lines[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert lines[1] in ci
    started = (DOCS / "get-started.md").read_text(encoding="utf-8")
    assert block.group(1) in started, "the site's Get started shows other commands"
