"""``mosu data``: the corpus catalogue from the command line (import, list)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core.db import make_engine, make_sessionmaker
from mosu.core.errors import MosuError
from mosu.core.limits import ReadLimits
from mosu.core.settings import Settings
from mosu.corpus import catalogue, imports
from mosu.corpus.models import Dataset
from mosu.corpus.readers import Part, split_word
from mosu.corpus.schemas import (
    DatasetIn,
    ImportOptions,
    ImportReport,
    Normalisation,
    Roles,
)
from mosu.permissions import Actor

data_app = typer.Typer(help="语料目录 / the corpus catalogue.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
SHOWN_PROBLEMS = 40


def _part(source: str) -> Part:
    """``path`` or ``split=path`` (``train=``, ``dev=``, ``test=``)."""
    head, sep, tail = source.partition("=")
    split = split_word(head) if sep else None
    path = Path(tail if split else source).expanduser()
    if not path.exists():
        raise typer.BadParameter(f"不存在 / not found: {path}")
    return Part(path.name, path=path, split=split)


def print_report(report: ImportReport) -> None:
    """The import report as Rich tables."""
    if report.encodings:
        console.print(
            "编码 / encodings: " + ", ".join(f"{f}: {e}" for f, e in report.encodings.items())
        )
    roles = report.roles
    console.print(
        f"字段 / roles: id={roles.id_field} inputs={roles.input_fields} label={roles.label_field} "
        f"category={roles.category_field} split={roles.split_field}"
    )
    if report.file_problem:
        err.print(f"[red]{report.file_problem}[/red]")
    if report.problems:
        table = Table(
            "行 row", "位置 where", "编号 id", "类型 kind", "原因 reason", title="问题 / problems"
        )
        for p in report.problems[:SHOWN_PROBLEMS]:
            table.add_row(str(p.row), p.where, p.row_id or "", p.kind, p.reason)
        console.print(table)
        if len(report.problems) > SHOWN_PROBLEMS:
            console.print(f"… {len(report.problems) - SHOWN_PROBLEMS} more")
    for note in report.notes:
        console.print(f"[yellow]{note}[/yellow]")
    counts = ", ".join(f"{k} {n}" for k, n in report.counts.items()) or "none"
    console.print(
        f"{report.total_rows} 行 rows, {report.flagged_rows} 有问题 flagged ({counts}), "
        f"{report.dropped_rows} 已丢弃 dropped, {report.written_rows} 已写入 written, "
        f"{report.seconds:.2f} s"
    )


def _import(
    settings: Settings,
    actor: Actor,
    name: str,
    card: Callable[[], DatasetIn],
    parts: list[Part],
    options: ImportOptions,
) -> None:
    """Import ``parts`` as a version of the data set ``name`` (registered from ``card()``
    if it does not exist)."""
    factory = make_sessionmaker(make_engine(settings.database_url))
    with factory() as session:
        try:
            dataset = _find_or_register(session, actor, name, card)
            with console.status("读取与校验 / reading and checking…"):
                result = imports.import_version(
                    session,
                    actor=actor,
                    dataset=dataset,
                    parts=parts,
                    options=options,
                    limits=ReadLimits.from_settings(settings),
                )
        except MosuError as exc:
            err.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from exc
        print_report(result.report)
        if result.version is None:
            session.rollback()
            err.print("[red]未写入任何数据 / nothing was written[/red]")
            raise typer.Exit(1)
        session.commit()
        report = result.report
        verb = "新版本 new version" if report.created else "已有版本 existing version"
        console.print(f"{name}: {verb} v{report.version}, sha256 {report.content_hash}")


def _find_or_register(
    session: Session, actor: Actor, name: str, card: Callable[[], DatasetIn]
) -> Dataset:
    """The data set named ``name``, registered from ``card()`` if it does not exist."""
    dataset = session.scalar(select(Dataset).where(Dataset.name == name))
    if dataset is None:
        dataset = catalogue.create_dataset(session, actor=actor, data=card())
    return dataset


@data_app.command("import")
def import_cmd(
    name: Annotated[str, typer.Argument(help="数据集名称（不存在则登记）/ data set name")],
    sources: Annotated[
        list[str],
        typer.Argument(help="文件或文件夹，可写成 test=路径 / files or folders, e.g. test=path"),
    ],
    org: Annotated[str | None, typer.Option(help="提供方组织（名称、信用代码或编号）")] = None,
    licence: Annotated[str, typer.Option(help="许可，例如 CC BY-NC-SA 4.0")] = "unknown",
    source: Annotated[str, typer.Option(help="来源")] = "",
    description: Annotated[str, typer.Option(help="简介")] = "",
    fmt: Annotated[str, typer.Option("--format", help="auto|csv|jsonl|xlsx|cmmlu|clue")] = "auto",
    sheet: Annotated[str | None, typer.Option(help="xlsx 工作表 / sheet")] = None,
    id_field: Annotated[str | None, typer.Option(help="编号字段 / id field")] = None,
    input_field: Annotated[
        list[str] | None, typer.Option(help="输入字段，可重复 / input field, repeatable")
    ] = None,
    label_field: Annotated[str | None, typer.Option(help="标签字段 / label field")] = None,
    category_field: Annotated[str | None, typer.Option()] = None,
    split_field: Annotated[str | None, typer.Option()] = None,
    label_set: Annotated[str | None, typer.Option(help="声明的标签，逗号分隔")] = None,
    max_length: Annotated[int, typer.Option(help="每行文本长度上限")] = 20_000,
    seed: Annotated[int, typer.Option(help="平台划分的随机种子")] = 20240601,
    strip: Annotated[bool, typer.Option(help="去除首尾空白 / strip padding")] = False,
    half_width: Annotated[bool, typer.Option(help="全角转半角 / full-width to half-width")] = False,
    flagged: Annotated[
        str, typer.Option(help="refuse | drop | keep：有问题的行如何处理")
    ] = "refuse",
) -> None:
    """导入语料的一个新版本；有问题则什么都不写 / import a corpus version; nothing on error."""
    from mosu.cli_common import CLI_ACTOR, find_org, load_settings

    settings = load_settings()
    organisation_id = find_org(org, settings) if org else None
    parts = [_part(s) for s in sources]
    try:
        options = ImportOptions(
            format=fmt,
            sheet=sheet,
            roles=Roles(
                id_field=id_field,
                input_fields=input_field or [],
                label_field=label_field,
                category_field=category_field,
                split_field=split_field,
            ),
            label_set=[x.strip() for x in (label_set or "").split(",") if x.strip()],
            max_length=max_length,
            seed=seed,
            normalise=Normalisation(strip=strip, half_width=half_width),
            flagged=flagged,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    card = partial(
        DatasetIn,
        name=name,
        organisation_id=organisation_id,
        licence=licence,
        source=source,
        description=description,
    )
    _import(settings, CLI_ACTOR, name, card, parts, options)


@data_app.command("list")
def list_cmd() -> None:
    """列出语料与其最新版本 / list corpora and their newest versions."""
    from mosu.cli_common import load_settings

    settings = load_settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    table = Table("id", "名称 name", "许可 licence", "版本 version", "行 rows", "划分 splits")
    with factory() as session:
        for d in catalogue.list_datasets(session):
            v = catalogue.latest(d)
            splits = ", ".join(
                f"{s} {n}" for s, n in (v.stats.get("rows", {}) if v else {}).items()
            )
            table.add_row(
                str(d.id),
                d.name,
                d.licence,
                f"v{v.number}" if v else "—",
                str(v.row_count if v else 0),
                splits,
            )
    console.print(table)


__all__ = ["data_app"]
