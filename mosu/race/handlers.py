"""Job handlers of the race: scoring a submission, and closing a stage at its deadline.

``challenge.submission`` runs the evaluation engine on the stage's whole test split for one
submission; every finished sample is committed to the submission's run in the platform's
database (:mod:`mosu.jobs.run_store`), so a worker that dies mid-run is replaced by one, on
any machine, that sends only the samples still missing.
``challenge.close_stage`` is queued for each stage's close time when the race starts; if
submissions made before the close are still running it looks again a little later.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu.challenges.models import (
    ChallengeState,
    Stage,
    StageState,
    Submission,
    SubmissionMode,
    SubmissionState,
)
from mosu.core import clock
from mosu.core.errors import MosuError
from mosu.core.money import FEN_PER_YUAN
from mosu.core.text import Bilingual, Text
from mosu.evals.errors import ModelSpecError
from mosu.evals.models.base import Price
from mosu.evals.observe import race_observer
from mosu.evals.perf import PerfResult
from mosu.evals.ray_executor import executor_for
from mosu.evals.results import RaceResult, error_reason
from mosu.evals.run import Progress, arun
from mosu.evals.service import service
from mosu.i18n import N_
from mosu.jobs import queue
from mosu.jobs.run_store import DatabaseRunStore
from mosu.jobs.worker import JobContext, handler
from mosu.race.baselines import BASELINE_JOB, submit_baselines
from mosu.race.board import refresh_public_board
from mosu.race.closing import close_stage, pending
from mosu.race.errors import (
    ENDPOINT_DELETED,
    NEEDS_ENGINE,
    PREDICTIONS_FILE_MISSING,
    SUBMISSION_GONE,
)
from mosu.race.image_delivery import delivered_model
from mosu.race.perf import keep_result
from mosu.race.perf import measure as perf_measure
from mosu.race.perf_spec import perf_stage
from mosu.race.scoring import (
    MODEL_NAME,
    StageData,
    outcomes_of,
    run_name,
    single_scores,
    stage_data,
    store_path,
)
from mosu.race.stages import CLOSE_JOB, PENDING_STATES, SUBMISSION_JOB, SYSTEM
from mosu.race.submissions import follow_job
from mosu.registry.models import ModelEndpoint
from mosu.supply.models import ModelService, ServiceMode
from mosu.supply.offers import record_compute_usage

CLOSE_RETRY_SECONDS = 10
log = logging.getLogger("mosu.challenges")
# streamed, so the time to the first token is measured (TTFT on the board)
ENDPOINT_OPTIONS = "concurrency=16&timeout=30&retries=4&stream=1"


def _engine(ctx: JobContext) -> Engine:
    if ctx.engine is None:
        raise NEEDS_ENGINE()
    return ctx.engine


def model_spec(session: Session, submission: Submission, ctx: JobContext) -> str:
    """The engine's model spec for a submission; endpoint keys are looked up by reference."""
    entry = submission.entry
    if entry.baseline is not None:
        return entry.baseline
    if submission.mode is SubmissionMode.predictions:
        if not submission.predictions_file:
            raise PREDICTIONS_FILE_MISSING()
        return f"predictions:{ctx.data_dir / submission.predictions_file}"
    endpoint = (
        session.get(ModelEndpoint, submission.endpoint_id) if submission.endpoint_id else None
    )
    if endpoint is None:
        raise ENDPOINT_DELETED()
    key = f"&key_ref=endpoint:{endpoint.id}" if endpoint.api_key_encrypted else ""
    return f"openai:{endpoint.base_url}#{endpoint.model_name}?{ENDPOINT_OPTIONS}{key}"


def endpoint_price(session: Session, submission: Submission) -> Price | None:
    """The token price of a submission's endpoint: that of the active API offer (模型服务)
    of the endpoint's registered model that states input and output token prices (the
    latest such offer); None for predictions, baselines and unpriced models."""
    if submission.endpoint_id is None or submission.entry.baseline is not None:
        return None
    endpoint = session.get(ModelEndpoint, submission.endpoint_id)
    if endpoint is None or endpoint.model_id is None:
        return None
    offer = session.scalars(
        select(ModelService)
        .where(
            ModelService.model_id == endpoint.model_id,
            ModelService.mode == ServiceMode.api,
            ModelService.active.is_(True),
            ModelService.input_price_fen.is_not(None),
            ModelService.output_price_fen.is_not(None),
        )
        .order_by(ModelService.updated_at.desc(), ModelService.id.desc())
    ).first()
    if offer is None or offer.input_price_fen is None or offer.output_price_fen is None:
        return None
    return Price(offer.input_price_fen / FEN_PER_YUAN, offer.output_price_fen / FEN_PER_YUAN)


_STOPS = (
    (
        re.compile(r"stopped: HTTP (?P<status>\d+) from the endpoint"),
        N_("接入点返回 HTTP {status}，评测已停止"),
    ),
    (
        re.compile(r"stopped: endpoint unreachable \((?P<attempts>\d+) attempts in a row\)"),
        N_("接入点不可达（连续 {attempts} 次无应答），评测已停止"),
    ),
    (re.compile(r"stopped: endpoint address not allowed"), N_("接入点地址不被允许，评测已停止")),
    (re.compile(r"every sample failed"), N_("所有样本都失败了")),
)


def failure_text(reason: str, counts: dict[str, int]) -> Text:
    """Why a submission failed, as its team reads it (in the reader's language), with its
    errors by reason; the engine's reasons carry no network detail (addresses, ports, socket
    errors), so neither does this. A reason the platform does not know is kept as it is."""
    why: Text = Bilingual(reason)
    for pattern, template in _STOPS:
        found = pattern.fullmatch(reason)
        if found is not None:
            why = Text(template, {k: int(v) for k, v in found.groupdict().items()})
            break
    errors = ", ".join(f"{k} × {v}" for k, v in sorted(counts.items()))
    return Text(N_("{why}：{errors}"), {"why": why, "errors": errors})


def _record_compute(session: Session, submission: Submission, seconds: float) -> None:
    """Charge the run's time to the stage's compute pool, when it draws from one."""
    pool_id = submission.stage.compute_pool_id
    if pool_id is None:
        return
    try:
        record_compute_usage(
            session,
            pool_id=pool_id,
            card_hours=Decimal(max(1, math.ceil(seconds))) / 3600,
            reference_kind="race_submission",
            reference_id=submission.id,
            actor=SYSTEM,
            note=f"stage {submission.stage_id}",
        )
    except MosuError as exc:  # the run stands; the pool's record says what went wrong
        log.warning("submission %s: compute not recorded: %s", submission.id, exc)


@handler(SUBMISSION_JOB)
async def run_submission(ctx: JobContext) -> dict[str, Any]:
    """Run one submission on the stage's test split and record its public/private scores."""
    engine = _engine(ctx)
    submission_id = int(ctx.payload["submission_id"])
    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise SUBMISSION_GONE(submission_id=submission_id)
        if submission.state is SubmissionState.cancelled:
            return {"cancelled": True}
        data = stage_data(session, submission.stage)
        spec = model_spec(session, submission, ctx)
        price = endpoint_price(session, submission)
        store = DatabaseRunStore(engine, run_name(submission))
        store.adopt(store_path(ctx.data_dir, submission))  # begun before the upgrade
        submission.state = SubmissionState.running
        session.commit()

    perf = perf_stage(data.definition)
    started = time.monotonic()
    if perf is not None:  # a perf stage measures the endpoint under load instead
        if not spec.startswith("openai:"):
            why = Text(N_("性能压测只测模型端点"))
            return _refused(engine, submission_id, why, ctx.data_dir)
        try:
            measured = await perf_measure(ctx, submission_id, data, spec, perf)
        except ModelSpecError as exc:
            return _refused(engine, submission_id, Bilingual(exc.message), ctx.data_dir)
        return _finish(engine, ctx, submission_id, started, measured=measured)

    def progress(counter: Progress) -> None:
        ctx.progress(counter.done, counter.total)

    try:
        model = delivered_model(
            spec,
            data.definition,
            settings=ctx.settings,
            secrets=ctx.secrets,
            policy=ctx.address_policy,
        )
        result = await arun(
            data.task,
            {MODEL_NAME: model},
            store=store,
            progress=progress,
            secrets=ctx.secrets,
            replicates=20,
            seed=submission_id,
            executor=executor_for(ctx.ray_address, seed=submission_id, loop=ctx.eval_loop),
            network=ctx.address_policy,
            observe=race_observer(),
        )
    except ModelSpecError as exc:  # e.g. its URL is refused now (settings or address changed)
        return _refused(engine, submission_id, Bilingual(exc.message), ctx.data_dir)
    return _finish(engine, ctx, submission_id, started, raced=(data, price, result))


def _scored(
    ctx: JobContext,
    submission: Submission,
    data: StageData,
    price: Price | None,
    result: RaceResult,
) -> str | None:
    """Set a raced submission's counts, service figures and scores from its run store;
    returns the failure reason of a failed run."""
    outcomes = outcomes_of(ctx.data_dir, submission)
    ids = [s.id for s in data.task.samples()]
    errors = [e for i in ids if i in outcomes and (e := outcomes[i].error)]
    reasons = dict(Counter(error_reason(e) for e in errors))
    missing = sum(1 for i in ids if i not in outcomes)
    submission.samples = len(ids)
    submission.errors = len(errors) + missing
    submission.error_reasons = reasons | ({"not run": missing} if missing else {})
    figures = service(data.task.samples(), outcomes, price)
    submission.service = {
        "price": None if price is None else {"input": price.input, "output": price.output},
        "figures": figures.model_dump(),
    }
    if result.failed:
        return result.failed[0].reason
    scores = single_scores(data, outcomes)
    submission.public_score = scores["public"]
    submission.private_score = scores["private"]
    return None


def _finish(
    engine: Engine,
    ctx: JobContext,
    submission_id: int,
    started: float,
    *,
    raced: tuple[StageData, Price | None, RaceResult] | None = None,
    measured: PerfResult | None = None,
) -> dict[str, Any]:
    """Record how a submission's run ended (raced on the test, or measured under load):
    its figures, its scores or its failure, the compute it used; refresh the board."""
    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        submission.finished_at = clock.now()
        if raced is not None:
            failed = _scored(ctx, submission, *raced)
        else:
            assert measured is not None
            failed = keep_result(ctx.data_dir, submission, measured)
        if submission.state is SubmissionState.cancelled:
            session.commit()
            return {"cancelled": True}
        if failed is not None:  # a failed run shows its reason and no score
            submission.state = SubmissionState.failed
            submission.failure = failure_text(failed, submission.error_reasons)
            submission.public_score = submission.private_score = None
        else:
            submission.state = SubmissionState.succeeded
        _record_compute(session, submission, time.monotonic() - started)
        session.commit()
        refresh_public_board(session, submission.stage_id, ctx.data_dir)
        session.commit()
        return {
            "state": submission.state.value,
            "errors": submission.errors,
            "samples": submission.samples,
        }


def _refused(engine: Engine, submission_id: int, why: Text, data_dir: Path) -> dict[str, Any]:
    """A submission whose model cannot be called at all: failed, with the reason, no score."""
    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        submission.state = SubmissionState.failed
        submission.failure = Text(N_("接入点无法调用：{why}"), {"why": why})
        submission.finished_at = clock.now()
        session.commit()
        refresh_public_board(session, submission.stage_id, data_dir)
        session.commit()
        return {"state": submission.state.value, "failure": str(submission.failure)}


queue.on_change(SUBMISSION_JOB, follow_job)


@handler(CLOSE_JOB)
def close_stage_job(ctx: JobContext) -> dict[str, Any]:
    """Close a stage at its deadline, once the submissions made before it have finished."""
    engine = _engine(ctx)
    stage_id = int(ctx.payload["stage_id"])
    with Session(engine) as session:
        stage = session.get(Stage, stage_id)
        if stage is None or stage.state is StageState.closed:
            return {"skipped": "closed"}
        if stage.challenge.state is not ChallengeState.racing:
            return {"skipped": stage.challenge.state.value}
        now = clock.now()
        if now < stage.closes_at:
            job = queue.enqueue(session, kind=CLOSE_JOB, payload=dict(ctx.payload))
            job.available_at = stage.closes_at
            session.commit()
            return {"rescheduled": stage.closes_at.isoformat()}
        waiting = pending(session, stage)
        earlier_open = any(
            s.state is not StageState.closed
            for s in stage.challenge.stages
            if s.position < stage.position
        )
        if waiting or earlier_open:
            job = queue.enqueue(session, kind=CLOSE_JOB, payload=dict(ctx.payload))
            job.available_at = now + dt.timedelta(seconds=CLOSE_RETRY_SECONDS)
            session.commit()
            return {"waiting": waiting}
        close_stage(session, actor=SYSTEM, stage_id=stage_id, data_dir=ctx.data_dir, now=now)
        session.commit()
        return {"closed": stage_id}


@handler(BASELINE_JOB)
def submit_baselines_job(ctx: JobContext) -> dict[str, Any]:
    """A stage opened: submit the house baselines that have not run at it."""
    stage_id = int(ctx.payload["stage_id"])
    with Session(_engine(ctx)) as session:
        stage = session.get(Stage, stage_id)
        if stage is None:
            return {"stage": None}
        made = submit_baselines(session, stage)
        session.commit()
        return {"submitted": [s.id for s in made]}


__all__ = [
    "PENDING_STATES",
    "close_stage_job",
    "endpoint_price",
    "model_spec",
    "run_submission",
    "submit_baselines_job",
]
