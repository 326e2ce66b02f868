"""The challenge and corpus pages stay over their views: no queries, no route modules, no
role checks of their own (those are predicates in :mod:`mosu.permissions`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mosu

ROOT = Path(mosu.__file__).parent
PAGES = ("web/challenge_pages.py", "web/corpus_pages.py")
DOMAIN = (
    "challenges/applications.py",
    "challenges/audit.py",
    "challenges/catalogue.py",
    "challenges/decisions.py",
    "challenges/lifecycle.py",
    "challenges/proposals.py",
    "challenges/views.py",
    "corpus/catalogue.py",
    "corpus/imports.py",
    "corpus/reading.py",
    "corpus/screening.py",
    "corpus/views.py",
)


def _tree(path: str) -> ast.Module:
    return ast.parse((ROOT / path).read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", PAGES)
def test_pages_neither_query_nor_import_routes(path: str) -> None:
    tree = _tree(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            assert not module.endswith("routes"), f"{path} imports {module}"
            names = {a.name for a in node.names}
            assert "routes" not in names, f"{path} imports a routes module"
            assert not (module.startswith("sqlalchemy") and "select" in names), path
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "select", f"{path} calls select()"
    assert len((ROOT / path).read_text(encoding="utf-8").splitlines()) <= 600


@pytest.mark.parametrize("path", PAGES + DOMAIN)
def test_no_role_checks_outside_permissions(path: str) -> None:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Attribute):
            assert node.attr != "is_operator", f"{path}:{node.lineno}"
            acting = isinstance(node.value, ast.Name) and node.value.id == "actor"
            assert not (acting and node.attr == "role"), f"{path}:{node.lineno}"
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            roles = [
                p
                for p in parts
                if isinstance(p, ast.Attribute)
                and isinstance(p.value, ast.Name)
                and p.value.id == "Role"
            ]
            assert not roles, f"{path}:{node.lineno} compares roles"
