"""``mosu doctor`` and ``mosu person``: a deployment's check-up, and one person's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mosu.cli_common import both_languages, fail, load_settings
from mosu.core.db import make_engine, make_sessionmaker, transaction
from mosu.core.errors import MosuError

doctor_app = typer.Typer(pretty_exceptions_enable=False)
person_app = typer.Typer(
    help="个人信息（个保法）/ one person's data under the PIPL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
STYLE = {"ok": "green", "skipped": "dim", "failed": "red"}


@doctor_app.command()
def doctor() -> None:
    """检查部署：配置、数据库、迁移、数据目录、SMTP、Ray、时钟、备份工具；有问题则非零退出
    / check a deployment and say how to fix what is wrong; exits non-zero on any failure."""
    from mosu.ops.doctor import run_checks

    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        checks = run_checks(settings, engine)
    finally:
        engine.dispose()
    table = Table("检查 check", "结果 state", "详情 detail", "如何修复 fix")
    for check in checks:
        style = STYLE[check.state]
        table.add_row(check.name, f"[{style}]{check.state}[/{style}]", check.detail, check.fix)
    console.print(table)
    broken = [c.name for c in checks if c.failed]
    if broken:
        raise fail(f"{len(broken)} 项未通过 / failed: {', '.join(broken)}")
    console.print("[green]一切正常 / all checks passed[/green]")


@person_app.command("export")
def person_export(
    user: Annotated[str, typer.Argument(help="用户名或编号 / username or id")],
    out: Annotated[Path, typer.Argument(help="写出的 JSON 文件 / the JSON file to write")],
) -> None:
    """导出一个人在 mosu 的全部数据（一个 JSON 文件）/ export everything mosu holds about
    one person, as one JSON file."""
    from mosu.ops.personal_data import export_person, find_user

    settings = load_settings()
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            document = export_person(session, find_user(session, user))
    except MosuError as exc:
        raise fail(both_languages(exc.text)) from exc
    finally:
        engine.dispose()
    out.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    rows = sum(len(v) for v in document["records"].values())
    console.print(f"wrote {out}: the account and {rows} record(s)")


@person_app.command("erase")
def person_erase(
    user: Annotated[str, typer.Argument(help="用户名或编号 / username or id")],
    yes: Annotated[bool, typer.Option("--yes", help="不再确认 / do not ask")] = False,
) -> None:
    """删除/匿名化一个人：账号改为假名并停用，审计保留事实，台账与赛果不变 / erase a person:
    the account becomes a deactivated pseudonym; audit facts, the ledger and results stay."""
    from mosu.ops.personal_data import erase_person, find_user

    settings = load_settings()
    if not yes and not typer.confirm(f"erase {user}? this cannot be undone"):
        raise fail("未执行 / nothing was changed")
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            name = erase_person(session, find_user(session, user), secret_key=settings.secret_key)
    except MosuError as exc:
        raise fail(both_languages(exc.text)) from exc
    finally:
        engine.dispose()
    console.print(f"erased {user}: now {name}, deactivated")
