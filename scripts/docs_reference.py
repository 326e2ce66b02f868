"""Reference pages made from the code while the docs build: API routes, CLI and settings.

A mkdocs hook (``hooks:`` in ``mkdocs.yml``): ``on_files`` adds ``reference/api.md``,
``reference/cli.md`` and ``reference/settings.md`` to the site as generated files, so nothing
generated is committed and the pages cannot drift from the code. Who may call a route comes
from the requirement it declares (the ``require(...)`` dependency of ``mosu/permissions.py``),
its summary from the app's OpenAPI document and its handler's docstring; commands and their
options from the Typer app; settings from the fields of ``Settings`` and their descriptions.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import typer
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from typer.core import TyperGroup

from mosu import i18n
from mosu.app import API_PREFIX, create_app
from mosu.cli import app as cli_app
from mosu.core import errors
from mosu.core.settings import DEMO_SECRET_KEY, Settings
from mosu.permissions import Requirement
from mosu.startup import load_registrations

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WHO = {"public": "everyone", "any signed-in user": "any signed-in user"}


def cell(text: str) -> str:
    """``text`` made safe for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def first_paragraph(text: str | None) -> str:
    return cell(inspect.cleandoc(text or "").split("\n\n", 1)[0])


# ---------------------------------------------------------------- API routes


def requirements_of(dependant: Dependant) -> list[Requirement]:
    """Every ``require(...)`` in a route's dependency tree, as the permission walker finds it."""
    found: list[Requirement] = []
    for dep in dependant.dependencies:
        requirement = getattr(dep.call, "mosu_requirement", None)
        if isinstance(requirement, Requirement):
            found.append(requirement)
        found.extend(requirements_of(dep))
    return found


@dataclass(frozen=True)
class ServedRoute:
    """A route as the app serves it: full path (router prefixes applied) and dependencies."""

    path: str
    methods: frozenset[str]
    dependant: Dependant
    endpoint: Callable[..., Any]


def served_routes(app: FastAPI) -> list[ServedRoute]:
    """Every FastAPI route of ``app``, included routers flattened."""
    found = []
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if isinstance(route, APIRoute):
            methods = frozenset(rc.methods or ())
            found.append(ServedRoute(str(rc.path), methods, rc.dependant, route.endpoint))
    return found


def who(route: ServedRoute) -> str:
    """Who may call ``route``: the strictest requirement it declares, in words."""
    found = requirements_of(route.dependant)
    if not found:
        return "not checked (a public file)"
    strictest = max(found, key=lambda r: (r.authenticated, bool(r.roles), -len(r.roles)))
    described = strictest.describe()
    return WHO.get(described, described)


def reference_app() -> FastAPI:
    """An app as ``mosu serve`` builds it; the database is never opened."""
    settings = Settings.from_env(
        {}, database_url="sqlite://", secret_key=DEMO_SECRET_KEY, demo=True
    )
    return create_app(settings)


def route_rows(routes: list[ServedRoute], summaries: dict[tuple[str, str], str]) -> list[str]:
    rows = []
    for route in sorted(routes, key=lambda r: (r.path, sorted(r.methods))):
        for method in (m for m in METHODS if m in route.methods):
            what = summaries.get((route.path, method)) or first_paragraph(route.endpoint.__doc__)
            rows.append(f"| `{method} {route.path}` | {who(route)} | {what} |")
    return rows


def api_page() -> str:
    app = reference_app()
    schema = app.openapi()
    summaries = {
        (path, method.upper()): first_paragraph(op.get("description")) or cell(op["summary"])
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }
    routes = served_routes(app)
    api = [r for r in routes if r.path.startswith(API_PREFIX + "/")]
    pages = [r for r in routes if not r.path.startswith(API_PREFIX)]
    head = "| route | who | what |\n|---|---|---|"
    return "\n".join(
        [
            "# API routes (接口参考)",
            "",
            "Generated from the code when the site is built: every route of the app, with the",
            "requirement it declares (everyone, any signed-in user, or the roles named) and the",
            "first paragraph of its documentation. Rules that depend on the record (a member's",
            "own organisation, the issuer of a challenge, the team of a submission) are checked",
            "after the route's requirement and are described on each domain's page; a record the",
            "caller may not see answers 404. The OpenAPI document is served at",
            f"`{API_PREFIX}/openapi.json`; see [Using the API](index.md) for tokens and errors.",
            "",
            f"## API (`{API_PREFIX}`)",
            "",
            head,
            *route_rows(api, summaries),
            "",
            "## Pages (网页)",
            "",
            head,
            *route_rows(pages, summaries),
            "",
        ]
    )


# ---------------------------------------------------------------- CLI


def walk(group: TyperGroup, prefix: str) -> Iterator[tuple[str, Any]]:
    """Every command under ``group`` with its full name (Typer ships its own click)."""
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        path = f"{prefix} {name}"
        if isinstance(command, TyperGroup):
            yield from walk(command, path)
        else:
            yield path, command


def describe_param(param: Any) -> str:
    if param.param_type_name == "argument":
        name = (param.metavar or param.name or "").upper()
        many = "…" if param.nargs != 1 else ""
        need = "required" if param.required else "optional"
        return (
            f"| `{name}{many}` | argument, {need} | {first_paragraph(getattr(param, 'help', ''))} |"
        )
    spelled = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
    default = param.default
    shown = "" if default in (None, (), False, "") or callable(default) else f"`{default}`"
    if param.envvar:
        shown += f" (`{param.envvar}`)" if isinstance(param.envvar, str) else ""
    return f"| {spelled} | {shown} | {first_paragraph(param.help)} |"


def cli_page() -> str:
    root = typer.main.get_command(cli_app)
    assert isinstance(root, TyperGroup)
    lines = [
        "# Commands (命令参考)",
        "",
        "Generated from the command-line app when the site is built: every `mosu` command with",
        "its arguments and options. `mosu COMMAND --help` prints the same.",
        "",
    ]
    for path, command in walk(root, "mosu"):
        lines += [f"## `{path}`", "", first_paragraph(command.help) or "", ""]
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines += ["| parameter | default | meaning |", "|---|---|---|"]
            lines += [describe_param(p) for p in params]
            lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- settings


def default_of(field: FieldInfo) -> str:
    if field.default is PydanticUndefined or field.default in ("", None):
        return "(none)"
    value = field.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def settings_page() -> str:
    lines = [
        "# Settings (配置参考)",
        "",
        "Generated from mosu's settings when the site is built. Settings come from environment",
        "variables with the `MOSU_` prefix and are validated at start; a value out of range",
        "stops the process with the reason. `MOSU_SECRET_KEY` has no usable default: see",
        "[Secrets](../deployment/secrets.md).",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        lines.append(
            f"| `MOSU_{name.upper()}` | {default_of(field)} | {cell(field.description or '')} |"
        )
    return "\n".join([*lines, ""])


def errors_page() -> str:
    """Every catalogued error (``mosu.core.errors.catalogue``), declared as the app loads."""
    load_registrations()  # every domain is imported, and with it its errors
    lines = [
        "# Errors (错误码)",
        "",
        "Generated from mosu's error catalogue when the site is built. An API error answers",
        '`{"error": {"code": "…", "message": "…", "details": …}}` with the HTTP status below; the',
        "message is in the language of the `lang` cookie, else of `Accept-Language` (`zh` or",
        "`en`), else Chinese. Pages show the same message in the reader's language. `{name}`",
        "marks a value filled in when the error is raised.",
        "",
        "| code | HTTP | 中文 | English |",
        "|---|---|---|---|",
    ]
    for error in errors.catalogue():
        english = i18n.gettext("en", error.message)
        lines.append(
            f"| `{error.code}` | {error.kind.status} | {cell(error.message)} | {cell(english)} |"
        )
    return "\n".join([*lines, ""])


PAGES: dict[str, Callable[[], str]] = {
    "reference/errors.md": errors_page,
    "reference/api.md": api_page,
    "reference/cli.md": cli_page,
    "reference/settings.md": settings_page,
}


def on_files(files: Any, config: Any) -> Any:
    """The mkdocs hook: add each reference page, made now, to the site's files."""
    import jieba  # the search plugin cuts Chinese with it; keep its start-up chatter quiet
    from mkdocs.structure.files import File

    jieba.setLogLevel(logging.WARNING)
    for uri, build in PAGES.items():
        files.append(File.generated(config, uri, content=build()))
    return files
