"""``mosu arena``: rate votes collected elsewhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mosu.arena.elo import online_elo
from mosu.arena.ratings import IntervalMethod, Leaderboard, ModelRating, RatingScale, rate
from mosu.arena.reader import ReadVotes, VoteFilter, parse_vote_bytes, read_vote_file
from mosu.arena.votes import ArenaError

if TYPE_CHECKING:
    from rich.console import Console


def _console(*, stderr: bool = False, soft_wrap: bool = True) -> Console:
    """A Rich console, imported on first use (``--json`` output needs none)."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=soft_wrap)


app = typer.Typer(help="竞技场 / arena: ratings from pairwise battles.", no_args_is_help=True)


@app.callback()
def arena() -> None:
    """竞技场 / arena: Bradley-Terry ratings from pairwise battles."""


@app.command()
def rank(
    votes: Annotated[
        str, typer.Argument(help="Vote file: JSON lines or a JSON array ('-' reads stdin).")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print ratings and intervals as JSON.")
    ] = False,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap rounds (0: none).")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    interval: Annotated[
        str, typer.Option(help="Intervals: bootstrap, sandwich or none.")
    ] = "bootstrap",
    anchor: Annotated[str | None, typer.Option(help="Model fixed at --anchor-rating.")] = None,
    anchor_rating: Annotated[float, typer.Option(help="Rating of the anchor model.")] = 1000.0,
    ridge: Annotated[
        float, typer.Option(min=0.0, help="L2 penalty, for votes where a model never lost.")
    ] = 0.0,
    elo: Annotated[bool, typer.Option("--elo", help="Show online Elo (K=4) beside.")] = False,
    anonymous_only: Annotated[
        bool,
        typer.Option(
            "--anonymous-only/--all-battles",
            help="Rate only anonymous battles (records with anony=false left out), as lmarena.",
        ),
    ] = True,
    dedup: Annotated[
        bool,
        typer.Option(
            "--dedup/--no-dedup",
            help="Leave out records whose dedup_tag is not sampled (lmarena's de-duplication).",
        ),
    ] = True,
) -> None:
    """排行 / rank models by Bradley-Terry rating, by upper bound of the 95% interval."""
    if interval not in ("bootstrap", "sandwich", "none"):
        _error(f"unknown interval {interval!r}: use bootstrap, sandwich or none")
        raise typer.Exit(2)
    method: IntervalMethod = interval  # type: ignore[assignment]
    try:
        read = _load(votes, VoteFilter(anonymous_only=anonymous_only, dedup=dedup))
        battles = read.battles
        board = rate(
            battles,
            interval=method,
            rounds=bootstrap,
            seed=seed,
            scale=RatingScale(anchor=anchor, anchor_rating=anchor_rating),
            ridge=ridge,
        )
    except (ArenaError, OSError) as exc:
        from mosu.cli_common import both_languages

        _error(both_languages(exc.text) if isinstance(exc, ArenaError) else str(exc))
        raise typer.Exit(1) from exc
    if read.named or read.deduplicated:
        _console(stderr=True).print(
            f"left out: {read.named:,} named (non-anonymous) battles, "
            f"{read.deduplicated:,} de-duplicated ones",
            markup=False,
            highlight=False,
        )
    elo_by_model = (
        dict(zip(battles.models, online_elo(battles).tolist(), strict=True)) if elo else {}
    )
    if as_json:
        out = board.to_dict()
        if elo:
            for row in out["models"]:
                row["elo"] = elo_by_model[row["model"]]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    _print_table(board, len(battles), elo_by_model)


def _print_table(board: Leaderboard, battles: int, elo_by_model: dict[str, float]) -> None:
    """The leaderboard as a Rich table (and a line on groups that never met)."""
    from rich.table import Table

    elo = bool(elo_by_model)
    grouped = board.n_groups > 1
    table = Table(title=f"Bradley-Terry, {battles:,} battles, {board.interval} intervals")
    names = ("group",) if grouped else ()
    for name in (*names, "rank", "model", "rating", f"{board.level:.0%} CI", "battles"):
        table.add_column(name, justify="left" if name == "model" else "right")
    if elo:
        table.add_column("online Elo", justify="right")
    for row in board.rows():
        cells = [str(row.group + 1)] if grouped else []
        cells += [str(row.rank), row.model, f"{row.rating:.1f}", _interval(row), f"{row.battles:,}"]
        if elo:
            cells.append(f"{elo_by_model[row.model]:.1f}")
        table.add_row(*cells)
    _console(soft_wrap=False).print(table)
    if grouped:
        _console().print(
            f"{board.n_groups} groups of models never met, even through others: "
            "ratings are comparable, and ranked, only within a group.",
            markup=False,
        )


def _interval(row: ModelRating) -> str:
    if row.insufficient_data or row.lower is None or row.upper is None:
        return "insufficient data"
    return f"{row.lower - row.rating:+.1f} / {row.upper - row.rating:+.1f}"


@app.command()
def export(
    arena: Annotated[str, typer.Argument(help="Arena name or id.")],
    out: Annotated[Path, typer.Argument(help="Output file: .json (an array) or JSON lines.")],
    votes: Annotated[
        str, typer.Option(help="Which votes: human (with imported), judge or all.")
    ] = "all",
) -> None:
    """导出投票 / export an arena's votes in Chatbot Arena's format (voters anonymous)."""
    from mosu.arena import board, service
    from mosu.cli_common import both_languages, load_settings
    from mosu.core.db import make_engine, make_sessionmaker
    from mosu.core.errors import MosuError

    if votes not in board.SOURCES:
        _error(f"unknown --votes {votes!r}: use human, judge or all")
        raise typer.Exit(2)
    engine = make_engine(load_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            found = service.find_arena(session, arena)
            records = board.export_records(session, found, selection=votes)  # type: ignore[arg-type]
    except MosuError as exc:
        _error(both_languages(exc.text))
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if out.suffix == ".json":
        text = json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    out.write_text(text, encoding="utf-8")
    _console(soft_wrap=False).print(f"{len(records)} 票 votes → {out}")


def _error(message: str) -> None:
    """An error on stderr, in red on a terminal, as one unwrapped line (no markup read in it:
    model names and file paths may hold brackets)."""
    _console(stderr=True).print(message, style="red", markup=False, highlight=False)


def _load(votes: str, filters: VoteFilter) -> ReadVotes:
    if votes == "-":
        return parse_vote_bytes(sys.stdin.buffer.read(), source="<stdin>", filters=filters)
    return read_vote_file(votes, filters=filters)
