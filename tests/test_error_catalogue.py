"""Every error a user can meet is catalogued: a code, its HTTP status and a message in both
languages (mosu/core/errors.py); the API and the pages show it in the reader's language."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx

import mosu
import mosu.app  # loads every domain, and with them their errors
from mosu import i18n
from mosu.core import errors
from tests.conftest import LiveServer

PACKAGE = Path(mosu.__file__).parent
CARRIERS = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.MosuError)
}
"""The exception classes of mosu/core/errors.py; elsewhere an error is raised by calling its
catalogued ``Error``, or passed on as it came (``exc.text``)."""


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _passed_on(node: ast.Call) -> bool:
    first = node.args[0] if node.args else None
    return isinstance(first, ast.Attribute) and first.attr == "text"


def uncatalogued() -> list[str]:
    """Where code builds an error's message by hand instead of raising a catalogued one."""
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE.parent)
        if str(where) == "mosu/core/errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if name in CARRIERS and not _passed_on(node):
                found.append(f"{where}:{node.lineno} {name}(…)")
            if name == "ensure" and len(node.args) > 1:
                second = node.args[1]
                if isinstance(second, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    found.append(f"{where}:{node.lineno} ensure(…, text)")
    return found


def test_every_error_is_raised_from_the_catalogue() -> None:
    found = uncatalogued()
    assert not found, f"declare these as Error(...) in the domain's errors.py: {found}"


def test_every_catalogued_error_has_a_code_and_both_languages() -> None:
    catalogue = errors.catalogue()
    assert len(catalogue) > 50
    codes = [e.code for e in catalogue]
    assert len(codes) == len(set(codes))
    for error in catalogue:
        assert " / " not in error.message, error.code
        assert i18n.gettext("en", error.message) != error.message, error.code
        assert issubclass(error.kind, errors.MosuError)


def test_a_code_is_declared_once(monkeypatch) -> None:
    monkeypatch.setattr(errors, "_DECLARED", dict(errors._DECLARED))
    errors.Error("test.once", errors.Conflict, "已存在")
    assert errors.Error("test.once", errors.Conflict, "已存在").code == "test.once"
    try:
        errors.Error("test.once", errors.Conflict, "别的话")
    except ValueError as exc:
        assert "declared twice" in str(exc)
    else:
        raise AssertionError("a second message under one code was accepted")


def test_an_error_answers_in_the_readers_language(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        _answers_in_the_readers_language(client)


def _answers_in_the_readers_language(client: httpx.Client) -> None:
    path = "/api/v1/no-such-route"
    zh = client.get(path).json()["error"]
    assert zh == {"code": "core.page_not_found", "message": "页面不存在"}
    en = client.get(path, headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}).json()
    assert en["error"]["message"] == "Page not found"
    client.cookies.set(i18n.LANG_COOKIE, "en")
    en = client.get(path, headers={"Accept-Language": "zh-CN"}).json()  # the cookie wins
    assert en["error"]["message"] == "Page not found"
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "Page not found" in page.text
    assert "页面不存在" not in page.text
    wrong = client.post("/api/v1/tokens", content=b"{")
    assert wrong.status_code in (401, 422) and wrong.json()["error"]["code"].startswith("core.")
