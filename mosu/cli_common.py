"""What every command line of the platform shares: settings, the CLI's actor, errors.

The domain CLIs (``mosu arena``, ``mosu corpus``, ``mosu supply``) and the platform's own
commands import these from here, so no domain imports :mod:`mosu.platform_cli` (which
imports the whole application to serve it).
"""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import or_, select

from mosu import i18n
from mosu.core.db import make_engine, make_sessionmaker
from mosu.core.settings import Settings
from mosu.core.text import Text
from mosu.permissions import Actor, Role
from mosu.registry.models import Organisation

err = Console(stderr=True)
CLI_ACTOR = Actor(user_id=None, role=Role.operator, username="cli")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a clear message and exit code 2."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for e in exc.errors():
            err.print(f"[red]配置错误 / configuration error:[/red] {e['msg']}")
        raise typer.Exit(2) from exc


def both_languages(text: Text) -> str:
    """A catalogued message as the command lines write every message: Chinese / English."""
    zh, en = i18n.render(text, "zh"), i18n.render(text, "en")
    return zh if zh == en else f"{zh} / {en}"


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` in red on stderr; the exit to raise with ``code``."""
    err.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def find_org(session_org: str, settings: Settings) -> int:
    """The id of the organisation named by its id, Chinese name or credit code; else exit 1."""
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        stmt = select(Organisation.id).where(
            or_(Organisation.name_zh == session_org, Organisation.credit_code == session_org)
        )
        if session_org.isdigit():
            stmt = select(Organisation.id).where(Organisation.id == int(session_org))
        found = session.scalar(stmt)
    if found is None:
        raise fail(f"组织不存在 / no such organisation: {session_org}")
    return found
