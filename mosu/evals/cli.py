"""``mosu eval``: race models on a task from the command line, and render reports."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mosu.core.errors import MosuError
from mosu.evals import aio
from mosu.evals.errors import NOTHING_TO_RESUME, UNKNOWN_EXECUTOR
from mosu.evals.executor import Executor
from mosu.evals.models.specs import parse_model_option
from mosu.evals.netpolicy import AddressPolicy
from mosu.evals.run import Progress as RaceProgress
from mosu.evals.run import ProgressCallback, arun
from mosu.evals.service import ms
from mosu.evals.settings import EvalSettings
from mosu.evals.tasks import Task, TaskSpec, load_task

if TYPE_CHECKING:  # the scoring (NumPy) is imported after the race, where it is used, and
    # Rich where the command draws: its progress bars (not with --quiet) and its tables
    from rich.console import Console
    from rich.table import Table

    from mosu.evals.results import ModelResult, RaceResult

app = typer.Typer(
    help="评测引擎 / evaluation engine: race models on a task.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@functools.cache
def console(stderr: bool = False) -> Console:
    """The command's Rich console (``stderr``: the errors, warnings and progress bars), made
    at first use: ``mosu eval run -q`` imports Rich after the race, not before its first
    request (23 ms)."""
    from rich.console import Console

    return Console(stderr=stderr)


def err() -> Console:
    """The console on standard error."""
    return console(stderr=True)


def _adjusted(spec: TaskSpec, limit: int | None, seed: int, epochs: int | None = None) -> TaskSpec:
    """The task with ``--limit`` (the evaluation split's data source draws a stratified
    sample of N) and ``--epochs`` applied, before any data is read."""
    update: dict[str, object] = {}
    if limit is not None:
        split = spec.eval_split
        splits = dict(spec.splits)
        splits[split] = splits[split].model_copy(update={"limit": limit, "limit_seed": seed})
        update["splits"] = splits
    if epochs is not None:
        update["epochs"] = epochs
    return spec.model_copy(update=update) if update else spec


def _spread(m: ModelResult) -> str:
    e = m.epochs
    if e is None:
        return ""
    return f"{e.mean * 100:.1f} ± {e.std * 100:.1f} [{e.minimum * 100:.1f}–{e.maximum * 100:.1f}]"


def leaderboard(result: RaceResult) -> Table:
    """The race's leaderboard as a Rich table."""
    from rich.table import Table

    repeats = f" × {result.epochs} epochs" if result.epochs > 1 else ""
    table = Table(
        title=f"{result.task} — {result.samples} samples{repeats}, primary metric {result.primary}"
    )
    table.add_column("rank", justify="right")
    table.add_column("model")
    metrics = list(result.models[0].metrics) if result.models else []
    for name in metrics:
        table.add_column(f"{name} [95% CI]", justify="right")
    spread = result.epochs > 1
    if spread:
        table.add_column(f"{result.primary} per epoch: mean ± std [min–max]", justify="right")
    for column in ("errors", "calls", "cached"):
        table.add_column(column, justify="right")
    for m in result.models:
        cells = [
            f"{v.value * 100:.1f} [{v.low * 100:.1f}, {v.high * 100:.1f}]"
            for v in m.metrics.values()
        ]
        if spread:
            cells.append(_spread(m))
        table.add_row(str(m.rank), m.name, *cells, str(m.errors), str(m.requests), str(m.cached))
    return table


def service_table(result: RaceResult) -> Table:
    """What each model's answers took: coverage, latency, first token, tokens, cost."""
    from rich.table import Table

    table = Table(title="service: coverage, speed (ms), tokens, cost (yuan)")
    for column in (
        "model", "coverage", "answered-only", "p50", "p95", "TTFT p50", "ms/token",
        "tokens/answer", "truncated", "cost", "per 1k",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "model" else "right")
    for m in [*result.models, *result.incomplete]:
        f = m.service
        if f is None:
            continue
        table.add_row(
            m.name + (" (incomplete)" if m.incomplete else ""),
            f"{f.coverage:.1%}",
            "" if m.answered_score is None else f"{m.answered_score * 100:.1f}",
            ms(f.latency_p50),
            ms(f.latency_p95),
            ms(f.ttft_p50),
            "" if f.tpot_p50 is None else f"{f.tpot_p50 * 1000:.1f}",
            "" if f.tokens_per_answer is None else f"{f.tokens_per_answer:.1f}",
            str(f.truncated),
            "" if f.cost is None else f"{f.cost:.4f}",
            "" if f.cost_per_1k is None else f"{f.cost_per_1k:.4f}",
        )
    return table


LIMIT_HELP = "evaluate N samples drawn by label in proportion (stratified, seeded by --seed)"
ALLOW_PRIVATE_HELP = (
    "endpoints may be on loopback or a private network (your own vLLM); "
    "link-local and cloud metadata addresses are refused either way"
)
MIN_COVERAGE_HELP = (
    "a model that answered less than this share of the samples is listed as incomplete, not ranked"
)


@app.command("run")
def run_cmd(
    task: Annotated[str, typer.Argument(help="task YAML file or built-in task name")],
    model: Annotated[list[str], typer.Option("--model", "-m", help="NAME=SPEC, repeatable")],
    data_dir: Annotated[
        Path | None, typer.Option(help="folder the task's data paths are relative to")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="run folder (default mosu-runs/TASK)")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue the run in --out (must exist)")
    ] = False,
    retry_errors: Annotated[
        bool, typer.Option(help="send samples that erred before again")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help=LIMIT_HELP)] = None,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="ask every sample N times (default: the task's epochs, 1)"),
    ] = None,
    replicates: Annotated[int, typer.Option(help="bootstrap replicates")] = 1000,
    seed: Annotated[
        int, typer.Option(help="seed of the bootstrap, the --limit sample and retry jitter")
    ] = 0,
    cache_dir: Annotated[
        Path | None, typer.Option(help="shared response cache folder (env MOSU_CACHE_DIR)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
    executor: Annotated[
        str | None,
        typer.Option(help="local or ray (default: ray when MOSU_RAY_ADDRESS is set, else local)"),
    ] = None,
    allow_private: Annotated[bool, typer.Option(help=ALLOW_PRIVATE_HELP)] = True,
    min_coverage: Annotated[float, typer.Option(min=0.0, max=1.0, help=MIN_COVERAGE_HELP)] = 0.0,
) -> None:
    """Race models on a task; print the leaderboard; write results.json and samples.jsonl.

    Exits 1 when a model failed entirely (stopped by its circuit breaker, or no sample
    answered) or answered less than --min-coverage, 2 on bad input."""
    try:
        loaded = load_task(
            task, data_dir=data_dir, adjust=lambda spec: _adjusted(spec, limit, seed, epochs)
        )
        folder = out or Path("mosu-runs") / loaded.name
        store = folder / "run.sqlite"
        if resume and not store.exists():
            raise NOTHING_TO_RESUME(store=str(store))
        settings = EvalSettings.from_env(os.environ)
        cache_root = cache_dir or settings.cache_dir
        specs = dict(parse_model_option(m) for m in model)
        chosen = choose_executor(executor, settings, seed)
        result = aio.run(
            race_with_progress(
                loaded,
                specs,
                store,
                cache_root,
                retry_errors,
                replicates,
                seed,
                quiet,
                chosen,
                AddressPolicy(allow_private=allow_private),
                min_coverage,
            ),
            settings.loop,
        )
        _write_outputs(loaded, list(specs), folder, result)
    except MosuError as exc:
        err().print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    _print_result(result, folder)
    if result.failed or result.incomplete:
        raise typer.Exit(1)


def _write_outputs(task: Task, names: list[str], folder: Path, result: RaceResult) -> None:
    """``results.json`` and ``samples.jsonl`` in the run folder."""
    from mosu.evals.results import write_samples

    result.write(folder / "results.json")
    write_samples(task, result.outcomes, folder / "samples.jsonl", names)


def _print_result(result: RaceResult, folder: Path) -> None:
    """The leaderboard, the service figures, warnings, failures and where the files are."""
    console().print(leaderboard(result))
    console().print(service_table(result))
    for warning in result.warnings:
        err().print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    for line in result.incomplete:
        err().print(f"[yellow]incomplete:[/yellow] {line.name}: {line.incomplete}", highlight=False)
    for failed in result.failed:
        reasons = ", ".join(f"{k} × {v}" for k, v in sorted(failed.error_reasons.items()))
        err().print(
            f"[red]failed:[/red] {failed.name}: {failed.reason} ({failed.requests} requests; "
            f"{reasons or 'no errors recorded'})",
            highlight=False,
        )
    console().print(f"results: {folder / 'results.json'}  samples: {folder / 'samples.jsonl'}")


async def race_with_progress(
    task: Task,
    specs: dict[str, str],
    store: Path,
    cache_root: Path | None,
    retry_errors: bool,
    replicates: int,
    seed: int,
    quiet: bool,
    executor: Executor | None = None,
    network: AddressPolicy | None = None,
    min_coverage: float = 0.0,
) -> RaceResult:
    """Run the race with a Rich progress bar per model (done, errors, requests per second);
    ``quiet``: without, and without importing Rich."""
    cache = cache_root / "cache.sqlite" if cache_root else None

    async def race(progress: ProgressCallback | None) -> RaceResult:
        return await arun(
            task,
            specs,
            store=store,
            progress=progress,
            retry_errors=retry_errors,
            cache_path=cache,
            replicates=replicates,
            seed=seed,
            executor=executor,
            network=network or AddressPolicy(allow_private=True),
            min_coverage=min_coverage,
        )

    if quiet:
        return await race(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("errors {task.fields[errors]}"),
        TextColumn("{task.fields[rps]:>6.0f} req/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err(), refresh_per_second=8) as bars:
        ids = {name: bars.add_task(name, total=None, errors=0, rps=0.0) for name in specs}
        started = time.perf_counter()
        last: dict[str, float] = {}

        def on_progress(p: RaceProgress) -> None:
            now = time.perf_counter()
            if p.done < p.total and now - last.get(p.model, 0.0) < 0.1:
                return
            last[p.model] = now
            if p.model not in ids:  # judge calls appear as MODEL@judgeN
                ids[p.model] = bars.add_task(p.model, total=None, errors=0, rps=0.0)
            rps = p.requests / max(now - started, 1e-6)
            bars.update(ids[p.model], total=p.total, completed=p.done, errors=p.errors, rps=rps)

        return await race(on_progress)


def choose_executor(name: str | None, settings: EvalSettings, seed: int) -> Executor | None:
    """``--executor``: ``local``, or ``ray`` (joining ``settings.ray_address`` when set, else
    a Ray started on this machine); without it, Ray exactly when an address is set."""
    if name not in (None, "local", "ray"):
        raise UNKNOWN_EXECUTOR(name=repr(name))
    if name == "local" or (name is None and not settings.ray_address):
        return None
    from mosu.evals.ray_executor import RayExecutor

    return RayExecutor(address=settings.ray_address, seed=seed, loop=settings.loop)


@app.command("report")
def report_cmd(
    results: Annotated[Path, typer.Argument(help="results.json written by 'mosu eval run'")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file (default: beside the results)")
    ] = None,
) -> None:
    """Render an HTML report (scores with intervals, ranks, categories, confusion matrices)."""
    from mosu.evals.report import render_report
    from mosu.evals.results import RaceResult

    if not results.exists():
        err().print(f"[red]error:[/red] no such file: {results}", highlight=False)
        raise typer.Exit(2)
    race = RaceResult.model_validate_json(results.read_text(encoding="utf-8"))
    target = out or results.with_name("report.html")
    target.write_text(render_report(race), encoding="utf-8")
    console().print(f"report: {target}")


from mosu.evals import perf_cli  # noqa: E402, F401  (registers ``mosu eval perf`` on app)

if __name__ == "__main__":  # run the imported module's app: the one perf_cli registered on
    from mosu.evals.cli import app as registered

    registered()
