"""The race's HTML pages sit over its views: no queries of their own, no route modules, and
no role checks (those live in mosu.permissions)."""

from __future__ import annotations

import ast
from pathlib import Path

import mosu.web.race_pages

SOURCE = Path(mosu.web.race_pages.__file__).read_text(encoding="utf-8")
TREE = ast.parse(SOURCE)


def test_race_pages_import_no_routes_and_no_sqlalchemy_queries() -> None:
    imported = {
        node.module or "" for node in ast.walk(TREE) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(TREE)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not [m for m in imported if m.endswith("routes") or m.startswith("mosu.race.routes")]
    assert not [m for m in imported if m == "sqlalchemy" or m.startswith("sqlalchemy.sql")]
    calls = {
        node.func.id
        for node in ast.walk(TREE)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "select" not in calls


def test_race_pages_check_no_roles_themselves() -> None:
    assert "is_operator" not in SOURCE and "Role." not in SOURCE
