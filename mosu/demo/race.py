"""Running the demo's race: fake endpoints, in-process workers, a progress bar per submission.

The entries' endpoints are the project's fake OpenAI-compatible server on loopback,
answering from the hotline corpus's answer key with a set accuracy per model; one server
also fails a share of calls (429 with Retry-After, 500, dropped connections), so the race
shows retries. Submissions run as real ``challenge.submission`` jobs, claimed by workers in
this process; each bar follows its job's recorded progress and state, as a challenge page
polls them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.challenges.models import Submission, SubmissionState
from mosu.core.credentials import CredentialBox
from mosu.core.settings import Settings
from mosu.demo.loader import HOTLINE
from mosu.evals import FakeConfig, serve_in_thread
from mosu.evals.netpolicy import AddressPolicy
from mosu.jobs.models import Job, JobState
from mosu.jobs.worker import Worker, WorkerPool, default_worker_id
from mosu.permissions import Actor
from mosu.registry.endpoints import create_endpoint, endpoint_secrets
from mosu.registry.models import Model
from mosu.registry.schemas import EndpointIn

FLAKY_FAULTS = {"rate_limit": 0.06, "server_error": 0.06, "timeout": 0.03}
WORKERS = 3
OTHER_ACCURACY = 0.7
"""How often the fake servers answer right for a model name the demo does not know (an
endpoint a visitor registers)."""
RACE_TIMEOUT_SECONDS = 300.0
DONE = (JobState.succeeded, JobState.failed, JobState.cancelled)


def answer_key() -> dict[str, str]:
    """The demo corpus's department of every message, by id: what the fake models "know"."""
    rows = [json.loads(line) for line in HOTLINE.read_text(encoding="utf-8").splitlines() if line]
    return {row["编号"]: row["受理部门"] for row in rows}


@contextmanager
def fake_endpoints(
    labels: list[str], accuracy: dict[str, float], ports: tuple[int, int] = (0, 0)
) -> Iterator[tuple[str, str]]:
    """Two fake servers on loopback answering from the hotline answer key with each model's
    ``accuracy`` (any other model name: :data:`OTHER_ACCURACY`): a steady one, and a flaky
    one that fails a share of calls. ``ports``: where to listen (0, or a port already taken:
    any free one). Yields their base URLs."""
    answers = answer_key()

    def config(faults: dict[str, float]) -> FakeConfig:
        return FakeConfig(
            latency=0.02,
            accuracy=OTHER_ACCURACY,
            answers=answers,
            id_pattern=r"工单编号：(\S+)",
            choices=labels,
            accuracy_by_model=accuracy,
            faults=faults,
            retry_after=0.2,
            hang=1.0,
        )

    def serve(stack: ExitStack, faults: dict[str, float], port: int) -> str:
        try:
            url, _ = stack.enter_context(serve_in_thread(config(faults), port=port))
        except OSError:  # the recorded port is taken now: any free one
            url, _ = stack.enter_context(serve_in_thread(config(faults)))
        return url

    with ExitStack() as stack:
        yield serve(stack, {}, ports[0]), serve(stack, FLAKY_FAULTS, ports[1])


def model_ids(session: Session, organisation_ids: list[int], names: list[str]) -> list[int]:
    """The ids of the models ``names`` (in that order) of the organisations ``organisation_ids``;
    :class:`LookupError` for a name the demo community lacks."""
    found = dict(
        session.execute(
            select(Model.name, Model.id).where(
                Model.organisation_id.in_(organisation_ids), Model.name.in_(names)
            )
        ).all()
    )
    missing = sorted(set(names) - set(found))
    if missing:
        raise LookupError(f"the demo community has no models {missing}")
    return [found[n] for n in names]


def demo_endpoint(
    session: Session,
    actor: Actor,
    model_id: int,
    spec: dict[str, str],
    url: str,
    *,
    box: CredentialBox,
    policy: AddressPolicy,
) -> int:
    """A demo team's endpoint for its model at ``url`` (``spec``: the story's ``name`` and
    ``model_name``), with a fictional key stored encrypted; its id."""
    assert actor.organisation_id is not None
    return create_endpoint(
        session,
        actor=actor,
        data=EndpointIn(
            organisation_id=actor.organisation_id,
            model_id=model_id,
            name=spec["name"],
            base_url=url,
            model_name=spec["model_name"],
            api_key=SecretStr(f"sk-demo-{spec['model_name']}"),
        ),
        box=box,
        policy=policy,
    ).id


def _state_text(submission: Submission, live: races.LiveState) -> str:
    if submission.state is SubmissionState.succeeded:
        return f"[green]完成 done[/green] · 错误 errors {submission.errors}"
    if submission.state is SubmissionState.failed:
        return "[red]失败 failed[/red]"
    if submission.state is SubmissionState.cancelled:
        return "已取消 cancelled"
    return "评测中 running" if live.state == "running" else "排队 queued"


def run_submissions(
    engine: Engine,
    settings: Settings,
    submissions: dict[int, str],
    *,
    console: Console | None = None,
    workers: int = WORKERS,
    timeout: float = RACE_TIMEOUT_SECONDS,
) -> None:
    """Run the queued submissions' jobs with ``workers`` workers in this process; show a
    progress bar per submission (``submissions``: id → label) fed by each job's progress."""
    secrets = endpoint_secrets(engine, CredentialBox(settings.secret_key))
    prefix = default_worker_id()
    pool = WorkerPool(
        [
            Worker(
                engine,
                kinds=[races.SUBMISSION_JOB],
                worker_id=f"{prefix}/{i}",
                lease_seconds=settings.job_lease_seconds,
                heartbeat_seconds=0.2,  # progress is written with each heartbeat
                poll_seconds=0.05,
                data_dir=settings.data_dir,
                secrets=secrets,
                address_policy=AddressPolicy(allow_private=settings.allow_private_endpoints),
            )
            for i in range(workers)
        ]
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=console is None) as bars:
        rows = {
            sid: bars.add_task(label, total=None, state="排队 queued")
            for sid, label in submissions.items()
        }
        with Session(engine) as session:
            jobs = {
                s.id: s.job_id
                for s in session.scalars(select(Submission).where(Submission.id.in_(rows)))
            }
        pool.start()
        try:
            deadline = time.monotonic() + timeout
            while True:
                finished = 0
                with Session(engine) as session:
                    for sid, row in rows.items():
                        job = session.get(Job, jobs[sid])  # first: a finished job has a
                        submission = session.get(Submission, sid)  # final submission
                        assert job is not None and submission is not None
                        live = races.live_state(session, submission)
                        done, total = live.done, live.total
                        if job.progress and job.state in DONE:
                            done, total = job.progress.get("done"), job.progress.get("total")
                        bars.update(
                            row,
                            completed=done or 0,
                            total=total,
                            state=_state_text(submission, live),
                        )
                        finished += job.state in DONE
                    session.rollback()  # only looked: the workers own these rows
                if finished == len(rows):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the demo race did not finish within {timeout:.0f} s")
                time.sleep(0.1)
        finally:
            pool.stop()


def _ms(seconds: Any) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.0f}"


def board_table(board: dict[str, Any], title: str) -> Table:
    """A stage's leaderboard as a Rich table: position, rank group, score with its interval,
    and what each entry's answers took (coverage, median latency, cost per 1,000 samples; the
    race page shows the rest)."""
    table = Table(title=title)
    for name, justify in (
        ("#", "right"),
        ("组 rank", "right"),
        ("参赛队 entry", "left"),
        (f"{board['primary']} [95% CI]", "right"),
        ("覆盖 cov.", "right"),
        ("p50 ms", "right"),
        ("¥/1k", "right"),
    ):
        table.add_column(name, justify=justify, min_width=10 if name.startswith("参赛") else None)  # type: ignore[arg-type]
    for r in board["rows"]:
        f = r.get("service") or {}
        cost = f.get("cost_per_1k")
        table.add_row(
            str(r["position"]),
            str(r["rank"]),
            r["entry"],
            f"{r['score'] * 100:.1f} [{r['low'] * 100:.1f}, {r['high'] * 100:.1f}]",
            "—" if f.get("coverage") is None else f"{f['coverage']:.0%}",
            _ms(f.get("latency_p50")),
            "—" if cost is None else f"{cost:.3f}",
        )
    return table


__all__ = [
    "FLAKY_FAULTS",
    "answer_key",
    "board_table",
    "demo_endpoint",
    "fake_endpoints",
    "run_submissions",
]
