"""``mosu supply``: voucher programmes, the spending report and the ledger check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mosu.core.db import make_engine, make_sessionmaker
from mosu.supply import ledger, programmes, report
from mosu.supply.schemas import SpendRow

supply_app = typer.Typer(help="要素供给与补贴券 / supply and vouchers.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
KIND = {"compute": "算力券", "model": "模型券", "corpus": "语料券"}
TIER = {"core": "北斗七星", "cluster": "群星", "other": "其他"}


def _money(value: object) -> str:
    return f"{value:,.2f}"


def _spend_table(title: str, rows: list[SpendRow], names: dict[str, str] | None = None) -> Table:
    table = Table(title, "已批准 committed", "已兑付 paid", "申请 applications", title=title)
    for r in rows:
        table.add_row(
            (names or {}).get(r.key, r.key),
            _money(r.committed),
            _money(r.paid),
            str(r.applications),
        )
    return table


@supply_app.command("report")
def report_cmd(
    year: Annotated[
        int | None, typer.Option(help="只看该年记账的 / only lines booked in YEAR")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option(help="同时导出 xlsx / also write the workbook", dir_okay=False)
    ] = None,
) -> None:
    """补贴支出报表（按项目、券种、梯队、月份）/ spending by programme, kind, tier and month."""
    from mosu.cli_common import CLI_ACTOR, load_settings

    settings = load_settings()
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        figures = report.build_report(session, actor=CLI_ACTOR, year=year)
        data = report.report_xlsx(session, actor=CLI_ACTOR, year=year) if xlsx else b""
    engine.dispose()
    table = Table(
        "项目 programme",
        "券种 kind",
        "预算 budget",
        "已批准 committed",
        "已兑付 paid",
        "剩余 remaining",
        title="按项目 / by programme",
    )
    for p in figures.programmes:
        table.add_row(
            p.name,
            KIND[p.kind.value],
            _money(p.budget),
            _money(p.committed),
            _money(p.paid),
            _money(p.remaining),
        )
    console.print(table)
    console.print(_spend_table("按券种 / by kind", figures.by_kind, KIND))
    console.print(_spend_table("按梯队 / by tier", figures.by_tier, TIER))
    console.print(_spend_table("按月份 / by month", figures.by_month))
    console.print(
        f"合计 / total: 已批准 committed {_money(figures.total_committed)} 元, "
        f"已兑付 paid {_money(figures.total_paid)} 元"
    )
    if xlsx is not None:
        xlsx.write_bytes(data)
        console.print(f"wrote {xlsx} ({len(data):,} bytes)")


@supply_app.command("check")
def check_cmd() -> None:
    """核对台账与各项目合计 / check that the ledger adds up to every programme's totals."""
    from mosu.cli_common import load_settings

    engine = make_engine(load_settings().database_url)
    with make_sessionmaker(engine)() as session:
        problems = ledger.ledger_problems(session)
        count = len(programmes.list_programmes(session))
    engine.dispose()
    for problem in problems:
        err.print(f"[red]{problem}[/red]")
    if problems:
        raise typer.Exit(1)
    console.print(f"台账无误 / the ledger adds up ({count} 个项目 programmes)")
