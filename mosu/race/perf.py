"""Service-performance stages (性能压测阶段): measuring an entry's endpoint, and the stage's board.

A perf stage (:mod:`mosu.race.perf_spec`) runs :func:`mosu.evals.perf.ameasure` for each
submission on the stage's test rows rendered with its template; the
:class:`~mosu.evals.perf.PerfResult` is kept under the data directory
(``races/stage-S/submission-N.perf.json``), and the submission's score is its
max concurrency within the SLO. A measurement the circuit breaker stopped (a wrong key or
URL, a dead endpoint) or that got no answer at all fails with the reason and is never
ranked. The board ranks entries by max concurrency within the SLO, then output tokens per
second at it, then the earlier submission; its ``perf`` section (each entry's figures per
step) is a service measurement, not a view of the hidden test rows, so every reader of the
board sees it, as the chart does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mosu.challenges.models import Stage, StageState, Submission
from mosu.evals.perf import PerfResult, StepResult, ameasure
from mosu.evals.perf_report import perf_figure
from mosu.jobs.worker import JobContext
from mosu.race.entries import entries_of
from mosu.race.perf_spec import PerfStage, perf_stage
from mosu.race.scoring import Board, BoardRow, Part, StageData, store_path

PRIMARY = "max_concurrency_within_slo"


def result_path(data_dir: Path, submission: Submission) -> Path:
    """Where a submission's measurement is kept (beside where its run store file was)."""
    return store_path(data_dir, submission).with_suffix(".perf.json")


def load_result(data_dir: Path, submission: Submission) -> PerfResult | None:
    path = result_path(data_dir, submission)
    if not path.exists():
        return None
    return PerfResult.model_validate_json(path.read_text(encoding="utf-8"))


def perf_spec_of(spec: str) -> str:
    """The model spec a perf stage measures: streamed, to time the first token."""
    return spec + ("&stream=1" if "?" in spec else "?stream=1")


async def measure(
    ctx: JobContext, submission_id: int, data: StageData, spec: str, perf: PerfStage
) -> PerfResult:
    """Measure a submission's endpoint under the stage's load steps, reporting progress."""
    prompts = [data.task.messages(s) for s in data.task.samples()]
    total = sum(max(perf.requests_per_step, 2 * c) for c in perf.steps)
    done = 0

    def on_step(step: StepResult) -> None:
        nonlocal done
        done += step.requests
        ctx.progress(done, total)

    return await ameasure(
        perf_spec_of(spec),
        prompts,
        steps=perf.steps,
        requests_per_step=perf.requests_per_step,
        slo_p95=perf.slo_p95,
        max_error_rate=perf.max_error_rate,
        max_tokens=perf.max_tokens,
        name=f"submission {submission_id}",
        network=ctx.address_policy,
        secrets=ctx.secrets,
        on_step=on_step,
    )


def keep_result(data_dir: Path, submission: Submission, result: PerfResult) -> str | None:
    """Keep the measurement under the data directory and set the submission's counts and score
    (its max concurrency within the SLO); returns the failure reason of a failed one."""
    path = result_path(data_dir, submission)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.model_dump_json(), encoding="utf-8")
    reasons: Counter[str] = Counter()
    for step in result.steps:
        reasons.update(step.error_reasons)
    submission.samples = sum(s.requests for s in result.steps)
    submission.errors = sum(s.errors for s in result.steps)
    submission.error_reasons = dict(reasons)
    if result.failed is None:
        score = float(result.max_concurrency_within_slo or 0)
        submission.public_score = submission.private_score = score
    return result.failed


@dataclass(frozen=True)
class PerfBoard(Board):
    """A perf stage's board: the ranked rows (score: max concurrency within the SLO) and,
    in ``perf``, the stage's SLO and steps and each ranked entry's figures per step."""

    perf: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return super().to_json() | {"perf": self.perf}


def _steps_json(result: PerfResult) -> list[dict[str, Any]]:
    return [s.model_dump(exclude={"records"}) for s in result.steps]


def perf_board(
    session: Session, stage: Stage, chosen: Mapping[int, Submission], data_dir: Path
) -> PerfBoard:
    """Rank the counted submissions' measurements: max concurrency within the SLO, then
    output tokens per second there, then the earlier submission."""
    perf = perf_stage(stage.task)
    assert perf is not None
    names = {e.id: e.name for e in entries_of(session, stage.challenge_id)}
    measured = [
        (entry_id, submission, result)
        for entry_id, submission in chosen.items()
        if (result := load_result(data_dir, submission)) is not None and result.failed is None
    ]
    measured.sort(
        key=lambda m: (
            -(m[2].max_concurrency_within_slo or 0),
            -(m[2].tokens_per_s_within_slo or 0.0),
            m[1].created_at,
            m[1].id,
        )
    )
    rows, entries = [], []
    for position, (entry_id, submission, result) in enumerate(measured, 1):
        best = result.max_concurrency_within_slo
        reasons: Counter[str] = Counter()
        for step in result.steps:
            reasons.update(step.error_reasons)
        score = float(best or 0)
        rows.append(
            BoardRow(
                entry_id=entry_id,
                entry=names.get(entry_id, ""),
                submission_id=submission.id,
                submitted_at=submission.created_at.isoformat(),
                rank=position,
                score=score,
                low=score,
                high=score,
                metrics={PRIMARY: best, "output_tokens_per_s": result.tokens_per_s_within_slo},
                errors=sum(s.errors for s in result.steps),
                error_reasons=dict(reasons),
                unparsed=0,
                by_category={},
                confusion=None,
                position=position,
            )
        )
        entries.append(
            {
                "entry_id": entry_id,
                "entry": names.get(entry_id, ""),
                "submission_id": submission.id,
                "position": position,
                PRIMARY: best,
                "tokens_per_s_within_slo": result.tokens_per_s_within_slo,
                "ended_early": result.ended_early,
                "steps": _steps_json(result),
            }
        )
    return PerfBoard(
        rows=rows,
        primary=PRIMARY,
        samples=perf.requests_per_step,
        method=(
            f"性能压测 / perf: steps {', '.join(map(str, perf.steps))}; p95 latency ≤ "
            f"{perf.slo_p95:g} s, errors ≤ {perf.max_error_rate:.0%}; ranked by max "
            "concurrency within the SLO, then output tokens/s there, then the earlier submission"
        ),
        comparisons=[],
        perf={**perf.model_dump(), "entries": entries},
    )


def perf_section(stage: Stage, part: Part) -> dict[str, Any] | None:
    """The ``perf`` section of a perf stage's stored board on ``part``, or ``None``."""
    data = stage.leaderboard_public if part == "public" else stage.leaderboard_final
    section = (data or {}).get("perf")
    return section if isinstance(section, dict) else None


def perf_view(stage: Stage) -> dict[str, Any] | None:
    """What the race page shows of a perf stage: the SLO, the steps, per entry its max
    concurrency within the SLO, tokens/s there and p95 latency and TTFT per step, and the
    chart (all plain JSON); ``None`` for a quality stage. The final board once the stage is
    closed."""
    perf = perf_stage(stage.task)
    if perf is None:
        return None
    section = perf_section(stage, "private" if stage.state is StageState.closed else "public")
    entries = (section or {}).get("entries", [])
    series: dict[str, list[StepResult]] = {}
    rows = []
    for entry in entries:
        series[f"{entry['position']}. {entry['entry']}"] = [
            StepResult.model_validate(s) for s in entry["steps"]
        ]
        by_step = {s["concurrency"]: s for s in entry["steps"]}
        rows.append({**entry, "cells": [by_step.get(c) for c in perf.steps]})
    return {
        "spec": perf.model_dump(),
        "rows": rows,
        "figure": perf_figure(series, perf.slo_p95) if series else None,
    }
