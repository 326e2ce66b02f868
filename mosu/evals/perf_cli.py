"""``mosu eval perf``: measure an endpoint at rising concurrency (see :mod:`mosu.evals.perf`)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mosu.core.errors import MosuError
from mosu.evals.cli import app, console, err
from mosu.evals.errors import (
    BAD_PROMPT_LINE,
    NO_SUCH_PROMPTS_FILE,
    PROMPTS_OR_TASK,
    STEPS_MUST_RISE,
    STEPS_NOT_NUMBERS,
)
from mosu.evals.models.specs import parse_model_option
from mosu.evals.netpolicy import AddressPolicy
from mosu.evals.prompts import Message
from mosu.evals.service import ms
from mosu.evals.settings import EvalSettings
from mosu.evals.tasks import load_task

if TYPE_CHECKING:
    from rich.table import Table

    from mosu.evals.perf import PerfResult, StepResult


def read_prompts(path: Path) -> list[str | list[Message]]:
    """A prompts file: JSON lines of ``{"prompt": TEXT}`` or ``{"messages": [...]}`` (a
    ``.jsonl`` file), else one prompt per non-empty line."""
    if not path.exists():
        raise NO_SUCH_PROMPTS_FILE(path=str(path))
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix != ".jsonl":
        return list(lines)
    prompts: list[str | list[Message]] = []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
            prompts.append(row["messages"] if "messages" in row else str(row["prompt"]))
        except (ValueError, KeyError, TypeError):
            raise BAD_PROMPT_LINE(path=str(path), line=number) from None
    return prompts


def parse_steps(text: str) -> list[int]:
    """``1,4,16,64`` as rising whole numbers."""
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise STEPS_NOT_NUMBERS(steps=repr(text)) from None
    if not steps or any(s < 1 for s in steps) or steps != sorted(set(steps)):
        raise STEPS_MUST_RISE(steps=repr(text))
    return steps


def perf_table(result: PerfResult) -> Table:
    """One row per concurrency step (times in ms)."""
    from rich.table import Table

    table = Table(title=f"{result.model} — SLO p95 ≤ {result.slo_p95:g} s")
    for column in (
        "concurrency", "requests", "errors", "req/s", "tokens/s", "TTFT p50", "TTFT p95",
        "TPOT", "p50", "p90", "p95", "p99", "tokens/answer", "SLO",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    for s in result.steps:
        table.add_row(*step_cells(s))
    return table


def step_cells(s: StepResult) -> list[str]:
    return [
        str(s.concurrency),
        str(s.requests),
        f"{s.error_rate:.1%}",
        f"{s.requests_per_s:.1f}",
        f"{s.output_tokens_per_s:.0f}",
        ms(s.ttft_p50),
        ms(s.ttft_p95),
        "" if s.tpot_mean is None else f"{s.tpot_mean * 1000:.2f}",
        ms(s.latency_p50),
        ms(s.latency_p90),
        ms(s.latency_p95),
        ms(s.latency_p99),
        "" if s.output_tokens_mean is None else f"{s.output_tokens_mean:.1f}",
        "✓" if s.within_slo else "✗",
    ]


def _task_prompts(task: str, data_dir: Path | None) -> tuple[list[str | list[Message]], int | None]:
    loaded = load_task(task, data_dir=data_dir)
    prompts: list[str | list[Message]] = [loaded.messages(s) for s in loaded.samples()]
    return prompts, loaded.spec.generation.max_tokens


@app.command("perf")
def perf_cmd(
    model: Annotated[str, typer.Argument(help="NAME=SPEC or SPEC of the endpoint to measure")],
    prompts: Annotated[
        Path | None, typer.Option(help="prompts: .jsonl of {prompt} or {messages}, or text lines")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="take the prompts from a task (file or built-in name)")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="folder the task's data paths are relative to")
    ] = None,
    steps: Annotated[str, typer.Option(help="concurrency steps, rising")] = "1,4,16,64",
    requests: Annotated[
        int, typer.Option(min=1, help="requests per step (at least 2 per worker are sent)")
    ] = 64,
    slo: Annotated[float, typer.Option(help="p95 latency objective, seconds")] = 3.0,
    max_error_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="a step with more errors misses the SLO")
    ] = 0.01,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="max_tokens sent (default: the task's)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="folder for perf.json and perf.html (default mosu-runs/perf-NAME)"),
    ] = None,
    allow_private: Annotated[
        bool, typer.Option(help="endpoints may be on loopback or a private network")
    ] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no line per step")] = False,
) -> None:
    """Measure an endpoint at rising concurrency; print each step and the largest concurrency
    whose p95 latency is within --slo; write perf.json and perf.html.

    Exits 1 when the measurement failed (its circuit breaker stopped it, or no request was
    answered), 2 on bad input."""
    from mosu.evals import aio
    from mosu.evals.perf import ameasure

    try:
        name, spec = parse_model_option(model)
        if (prompts is None) == (task is None):
            raise PROMPTS_OR_TASK()
        chosen, task_tokens = (
            _task_prompts(task, data_dir) if task else (read_prompts(prompts or Path()), None)
        )
        settings = EvalSettings.from_env(os.environ)

        def on_step(step: StepResult) -> None:
            if not quiet:
                err().print(
                    f"concurrency {step.concurrency}: {step.requests} requests, "
                    f"{step.requests_per_s:.1f} req/s, p95 {ms(step.latency_p95)} ms",
                    highlight=False,
                )

        result = aio.run(
            ameasure(
                spec,
                chosen,
                steps=parse_steps(steps),
                requests_per_step=requests,
                slo_p95=slo,
                max_error_rate=max_error_rate,
                max_tokens=max_tokens or task_tokens,
                name=name,
                network=AddressPolicy(allow_private=allow_private),
                on_step=on_step,
            ),
            settings.loop,
        )
    except (MosuError, ValueError) as exc:
        err().print(f"[red]error:[/red] {getattr(exc, 'message', exc)}", highlight=False)
        raise typer.Exit(2) from None
    folder = out or Path("mosu-runs") / ("perf-" + re.sub(r"[^\w.-]+", "_", name)[:60])
    _report(result, folder)
    if result.failed:
        err().print(f"[red]failed:[/red] {result.failed}", highlight=False)
        raise typer.Exit(1)


def _report(result: PerfResult, folder: Path) -> None:
    """Write perf.json and perf.html; print the steps and the max concurrency within SLO."""
    from mosu.evals.perf_report import render_perf_report

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "perf.json").write_text(result.model_dump_json(indent=1), encoding="utf-8")
    (folder / "perf.html").write_text(render_perf_report(result), encoding="utf-8")
    console().print(perf_table(result))
    best = result.max_concurrency_within_slo
    console().print(
        f"max concurrency within SLO (p95 ≤ {result.slo_p95:g} s, errors ≤ "
        f"{result.max_error_rate:.0%}): "
        + ("none" if best is None else f"{best} ({result.tokens_per_s_within_slo:.0f} tokens/s)")
    )
    if result.ended_early:
        console().print(f"ended early: {result.ended_early}", highlight=False)
    console().print(f"results: {folder / 'perf.json'}  report: {folder / 'perf.html'}")
