"""Run a race: the one entry point the CLI, the platform's job queue and scripts all use."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mosu.evals import aio
from mosu.evals.errors import EvalError
from mosu.evals.executor import Executor, LocalExecutor, Shard, WorkItem
from mosu.evals.loaders import Sample
from mosu.evals.models.base import Model, Price
from mosu.evals.models.specs import SecretLookup, build_model
from mosu.evals.netpolicy import LOCAL, AddressPolicy
from mosu.evals.pending import Prompts, Requests
from mosu.evals.prompts import Message, Template, content_text, with_images
from mosu.evals.settings import EvalSettings
from mosu.evals.store import (
    Outcome,
    RunStore,
    Store,
    cache_key,
    epoch_id,
    prompt_hash,
    serialise,
)
from mosu.evals.tasks import Task

if TYPE_CHECKING:  # the scoring (NumPy) is imported once the answers are in: see _scored
    from mosu.evals.results import RaceResult

SHARD_SIZE = 1000
FLUSH_SECONDS = 0.02
REASONING_MAX_TOKENS = 256
"""Below this ``max_tokens`` a race warns: a reasoning model thinking first is cut off
before it answers (see "Reasoning models" in the README)."""
log = logging.getLogger("mosu.evals")


@dataclass
class Progress:
    """Counters of one model in a running race, passed to the progress callback."""

    model: str
    total: int
    done: int = 0
    errors: int = 0
    cached: int = 0
    requests: int = 0


ProgressCallback = Callable[[Progress], None]


_LATER_FIELDS = ("top_p", "seed", "stop", "extra_body")
"""Generation fields added after runs were first stored (left out of the fingerprint at
their defaults)."""


def _fingerprint(task: Task) -> str:
    """The task definition and sample ids a run's store is bound to. ``epochs`` is left
    out (a finished run can be given more), and so are later generation fields left at their
    defaults and splits' unset ``image_fields``, so a run stored before they existed resumes."""
    ids = "\n".join(s.id for s in task.samples())
    generation = task.spec.generation
    unset = {
        name: True
        for name in _LATER_FIELDS
        if getattr(generation, name) == type(generation).model_fields[name].default
    }
    text_only = {
        n: {"image_fields": True} for n, d in task.spec.splits.items() if not d.image_fields
    }
    exclude: dict[str, Any] = {"epochs": True, "generation": unset, "splits": text_only}
    payload = task.spec.model_dump_json(exclude=exclude) + "\n" + ids
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _thinking_off(params: Mapping[str, Any]) -> bool:
    """Whether the request body turns a reasoning model's thinking off (Qwen3's
    ``enable_thinking``, at the top or in ``chat_template_kwargs``; ``thinking.type``)."""
    kwargs = params.get("chat_template_kwargs")
    thinking = params.get("thinking")
    return (
        params.get("enable_thinking") is False
        or (isinstance(kwargs, dict) and kwargs.get("enable_thinking") is False)
        or (isinstance(thinking, dict) and thinking.get("type") == "disabled")
    )


def short_max_tokens(models: Mapping[str, Model]) -> list[str]:
    """A warning per prepared endpoint whose ``max_tokens`` leaves a thinking model no room
    (below :data:`REASONING_MAX_TOKENS`, thinking not turned off in the body), also logged
    (at info: the race's result carries them, and the CLI prints them)."""
    warnings = []
    for name, model in models.items():
        params = getattr(model, "params", None)
        if not isinstance(params, dict) or _thinking_off(params):
            continue
        limit = params.get("max_tokens")
        if isinstance(limit, int) and limit < REASONING_MAX_TOKENS:
            warnings.append(
                f"{name}: max_tokens is {limit}: a reasoning model that thinks first is cut "
                f"off before it answers; give it 2048-8192 (spec option max_tokens) or turn "
                f"thinking off with generation.extra_body"
            )
            log.info("%s", warnings[-1])
    return warnings


def _epoch_ids(task: Task) -> None:
    """Refuse repeats whose stored ids would be the ids of other samples (``a`` and ``a#1``)."""
    ids = {s.id for s in task.samples()}
    for s in task.samples():
        for epoch in range(1, task.spec.epochs):
            if epoch_id(s.id, epoch) in ids:
                raise EvalError(
                    f"task {task.name}: epoch {epoch} of sample {s.id!r} would be stored as "
                    f"{epoch_id(s.id, epoch)!r}, another sample's id; rename the ids"
                )


@dataclass
class _Job:
    model: Model
    items: Sequence[WorkItem]
    total: int
    prompts: Prompts | None = None  # rendered as sent (answers); judges' are built before


def _keep(items: Sequence[WorkItem], wanted: Callable[[str], bool]) -> Sequence[WorkItem]:
    """The items whose stored id is ``wanted`` (lazy requests stay unrendered)."""
    if isinstance(items, Requests):
        return items.keep(wanted)
    return [i for i in items if wanted(i.sample_id)]


def _plan(
    run_store: Store,
    jobs: Mapping[str, _Job],
    progress: ProgressCallback | None,
    retry_errors: bool,
) -> tuple[list[Shard], dict[str, Progress]]:
    """The shards still to send and each model's counters; cached answers are reused (and
    written to the store) without a request."""
    shards: list[Shard] = []
    counters: dict[str, Progress] = {}
    reused: list[Outcome] = []
    for name, job in jobs.items():
        finished = run_store.finished(name)
        todo = _keep(
            job.items,
            lambda sid, done=finished: (  # type: ignore[misc]
                sid not in done or (retry_errors and done[sid].error is not None)
            ),
        )
        kept = [o for o in finished.values() if not (retry_errors and o.error is not None)]
        counter = Progress(
            name, total=job.total, done=len(kept), errors=sum(o.error is not None for o in kept)
        )
        counters[name] = counter
        # cache keys need the prompts: rendered up front only when a cache could answer
        if job.model.identity and (job.prompts is None or run_store.has_cached()):
            todo = list(todo)
            hits = run_store.cached(i.cache_key for i in todo if i.cache_key)
        else:
            hits = {}
        if hits:
            reused += [
                hits[i.cache_key].outcome(name, i.sample_id, i.prompt_hash)
                for i in todo
                if i.cache_key in hits
            ]
            counter.cached = sum(1 for i in todo if i.cache_key in hits)
            counter.done += counter.cached
            todo = [i for i in todo if i.cache_key not in hits]
        shards += [Shard(name, todo[i : i + SHARD_SIZE]) for i in range(0, len(todo), SHARD_SIZE)]
        if progress:
            progress(counter)
    run_store.write(reused)
    return shards, counters


async def _execute(
    run_store: Store,
    jobs: Mapping[str, _Job],
    executor: Executor,
    progress: ProgressCallback | None,
    retry_errors: bool,
    observe: Callable[[Outcome], None] | None,
) -> dict[str, str]:
    """Send what is not finished or cached yet; commit every outcome as it arrives (and show
    it to ``observe``). Returns the models the breaker stopped, with the reason."""
    shards, counters = _plan(run_store, jobs, progress, retry_errors)
    if not shards:
        return {}
    buffer: list[Outcome] = []
    renderers = list({id(j.prompts): j.prompts for j in jobs.values() if j.prompts}.values())

    def texts() -> list[tuple[str, str]]:
        return [pair for r in renderers for pair in r.take()]

    def sink(outcome: Outcome) -> None:
        buffer.append(outcome)
        if observe:
            observe(outcome)
        counter = counters[outcome.model]
        counter.done += 1
        counter.requests += outcome.attempts
        if outcome.error is not None:
            counter.errors += 1
        if progress:
            progress(counter)

    # Commits run in one thread of their own: a WAL checkpoint's fsync can take tens of
    # milliseconds, which on the event loop would hold back every response in flight.
    thread = ThreadPoolExecutor(1, thread_name_prefix="mosu-store")

    async def flusher() -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            fresh = texts()
            if buffer or fresh:
                batch = buffer[:]
                del buffer[:]
                # shielded: cancelling the flusher must not cancel a batch not yet written
                # (the thread pool would drop it); shutdown below waits for it instead
                await asyncio.shield(loop.run_in_executor(thread, _commit, run_store, fresh, batch))

    writer = asyncio.create_task(flusher())
    # What lives through the race (task, samples, prompts, work items) leaves the cyclic
    # collector's view: a full collection over it paused the event loop for 30-70 ms.
    gc.freeze()
    try:
        return await executor.run(shards, {name: job.model for name, job in jobs.items()}, sink)
    finally:
        gc.unfreeze()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        thread.shutdown(wait=True)  # a batch being written is committed before the rest
        _commit(run_store, texts(), buffer)


def _commit(run_store: Store, prompts: list[tuple[str, str]], outcomes: list[Outcome]) -> None:
    """The prompts rendered since the last commit, then the outcomes that arrived."""
    if prompts:
        run_store.remember_prompts(prompts)
    run_store.write(outcomes)


def _items(
    model: Model,
    prompts: Mapping[str, list[Message]],
    rendered: Mapping[str, tuple[str, str]],
    epochs: int = 1,
) -> list[WorkItem]:
    """Every request for ``prompts``, ``epochs`` times each (epoch by epoch); ``rendered``
    holds each prompt's serialised text and hash (:func:`_remember`)."""
    identity = model.identity
    return [
        WorkItem(
            epoch_id(sid, epoch),
            msgs,
            cache_key(identity, rendered[sid][0], epoch) if identity else None,
            rendered[sid][1],
            source_id=sid if epoch else None,
        )
        for epoch in range(epochs)
        for sid, msgs in prompts.items()
    ]


def _answer_jobs(
    task: Task, built: Mapping[str, Model], run_store: Store, retry_errors: bool
) -> dict[str, _Job]:
    """Every model's requests for the samples some model has not finished in some epoch
    (:func:`_plan` drops what each has finished); prompts are rendered as they are sent
    (:mod:`mosu.evals.pending`)."""
    samples, epochs = task.samples(), task.spec.epochs
    finished = {name: run_store.finished(name) for name in built}
    if retry_errors or not any(finished.values()):  # a new run: every sample is needed
        ids = [s.id for s in samples]
    else:
        ids = [
            s.id
            for s in samples
            if any(epoch_id(s.id, e) not in finished[n] for n in built for e in range(epochs))
        ]
    prompts = Prompts(task, samples, len(built) * epochs)
    return {
        name: _Job(
            model,
            Requests.build(ids, epochs, prompts, model.identity),
            len(samples) * epochs,
            prompts,
        )
        for name, model in built.items()
    }


def _remember(run_store: Store, prompts: Mapping[str, list[Message]]) -> dict[str, tuple[str, str]]:
    """Each prompt serialised once, with its hash, by sample id; the store keeps them."""
    rendered = {}
    for sid, msgs in prompts.items():
        text = serialise(msgs)
        rendered[sid] = (text, prompt_hash(text))
    run_store.remember_prompts((h, text) for text, h in rendered.values())
    return rendered


@dataclass
class _Judging:
    """How a race's judge calls are made: like its answers, and the judges are closed with
    its models (``opened``); a judge's breaker stops the model it grades (``stopped``)."""

    executor: Executor
    progress: ProgressCallback | None
    retry_errors: bool
    build: Callable[[str], Model]
    opened: list[Model]
    stopped: dict[str, str]
    observe: Callable[[Outcome], None] | None


async def _judge(
    task: Task,
    samples: list[Sample],
    built: Mapping[str, Model],
    outcomes: Mapping[str, dict[str, Outcome]],
    run_store: Store,
    how: _Judging,
) -> dict[str, dict[str, dict[str, Outcome]]]:
    """Each judge scorer's judge grades every answer; its verdicts by scorer and model."""
    judgements: dict[str, dict[str, dict[str, Outcome]]] = {}
    for index, scorer in enumerate(task.scorers):
        if scorer.judge is None:
            continue
        judge = how.build(scorer.judge.model)
        how.opened.append(judge)
        await judge.prepare(task)
        template = Template(scorer.judge.template, where=f"task {task.name}: judge template")
        user = {s.id: task.messages(s)[-1]["content"] for s in samples}
        jobs = {}
        for name in built:
            key = f"{name}@judge{index}"
            run_store.bind(f"model:{key}", judge.identity or scorer.judge.model, what="judge model")
            grading: dict[str, list[Message]] = {}
            for s in samples:
                for epoch in range(task.spec.epochs):
                    record = epoch_id(s.id, epoch)
                    answer = outcomes[name].get(record)
                    output = answer.output if answer is not None else None
                    text = task.answer_text(output) if output is not None else None
                    if text is None:
                        continue
                    values: dict[str, Any] = {
                        "question": content_text(user[s.id]),
                        "answer": text,
                        "reference": s.label,
                        "scale": scorer.judge.scale,
                    }
                    grading[record] = [
                        {
                            "role": "user",
                            "content": with_images(template.render(values), user[s.id]),
                        }
                    ]
            jobs[key] = _Job(
                judge, _items(judge, grading, _remember(run_store, grading)), len(grading)
            )
        for key, reason in (
            await _execute(
                run_store, jobs, how.executor, how.progress, how.retry_errors, how.observe
            )
        ).items():
            how.stopped.setdefault(key.rsplit("@judge", 1)[0], f"judge {reason}")
        judgements[scorer.name] = {
            name: run_store.finished(f"{name}@judge{index}") for name in built
        }
    return judgements


async def arun(
    task: Task,
    models: Mapping[str, str | Model],
    *,
    store: Path | Store,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
    retry_errors: bool = False,
    cache_path: Path | None = None,
    replicates: int | None = None,
    seed: int = 0,
    environ: Mapping[str, str] | None = None,
    secrets: SecretLookup | None = None,
    network: AddressPolicy = LOCAL,
    prices: Mapping[str, Price] | None = None,
    min_coverage: float = 0.0,
    observe: Callable[[Outcome], None] | None = None,
) -> RaceResult:
    """Race ``models`` (name → spec string or model object) on ``task``.

    ``store``: a run store file, or an open store (the platform's database). Samples finished
    in it are not sent again (resume), cached responses are reused without a request; every
    outcome is committed within ``FLUSH_SECONDS``, by a writer thread. Judges then grade.
    ``network`` says which addresses endpoints given as specs may resolve to (default:
    private networks allowed, as on a laptop; the platform passes its own). A model the
    executor's breaker stopped, or whose every sample failed, is listed as failed and not
    ranked; one that answered less than ``min_coverage`` of the samples is listed as
    incomplete. ``prices`` (by model name) cost the tokens; a model built from a spec with
    ``price_in``/``price_out`` brings its own. A task with ``epochs`` asks every sample that
    many times (each repeat stored, cached and resumed on its own). ``observe`` sees each
    outcome as it arrives (the platform's metrics: :func:`mosu.evals.observe.race_observer`).
    Returns the scored race, with ``replicates`` bootstrap replicates (default
    :data:`mosu.evals.stats.DEFAULT_REPLICATES`).
    """

    def build(spec: str) -> Model:
        return build_model(spec, environ=environ, secrets=secrets, policy=network)

    built = {name: build(m) if isinstance(m, str) else m for name, m in models.items()}
    specs = {name: m if isinstance(m, str) else type(m).__name__ for name, m in models.items()}
    executor = executor or LocalExecutor(seed=seed)
    run_store = RunStore(store, cache_path=cache_path) if isinstance(store, Path) else store
    opened: list[Model] = []
    try:
        run_store.bind("task", _fingerprint(task), what="task definition or data")
        for name, model in built.items():
            run_store.bind(
                f"model:{name}", model.identity or specs[name], what=f"model behind {name!r}"
            )
        if task.spec.epochs > 1:
            _epoch_ids(task)
        for model in built.values():
            opened.append(model)
            await model.prepare(task)
        warnings = short_max_tokens(built)
        samples = task.samples()
        jobs = _answer_jobs(task, built, run_store, retry_errors)
        stopped = await _execute(run_store, jobs, executor, progress, retry_errors, observe)
        outcomes = {name: run_store.finished(name) for name in built}
        judging = _Judging(executor, progress, retry_errors, build, opened, stopped, observe)
        judgements = await _judge(task, samples, built, outcomes, run_store, judging)
        return _scored(
            task,
            outcomes,
            specs,
            built,
            replicates=replicates,
            seed=seed,
            judgements=judgements,
            stopped=stopped,
            prices=prices,
            min_coverage=min_coverage,
            warnings=warnings,
        )
    finally:
        for model in opened:
            await model.aclose()
        run_store.close()


def _scored(
    task: Task,
    outcomes: Mapping[str, Mapping[str, Outcome]],
    specs: Mapping[str, str],
    built: Mapping[str, Model],
    *,
    replicates: int | None,
    seed: int,
    judgements: Mapping[str, Mapping[str, Mapping[str, Outcome]]],
    stopped: Mapping[str, str],
    prices: Mapping[str, Price] | None,
    min_coverage: float,
    warnings: Sequence[str],
) -> RaceResult:
    """The race scored; a model built from a spec with a price brings its own. The scoring
    (NumPy) is imported now, not with this module: it stays out of the start-up before the
    first request."""
    from mosu.evals import stats
    from mosu.evals.results import score_race

    own = {n: p for n, m in built.items() if isinstance(p := getattr(m, "price", None), Price)}
    return score_race(
        task,
        outcomes,
        specs,
        replicates=stats.DEFAULT_REPLICATES if replicates is None else replicates,
        seed=seed,
        judgements=judgements,
        stopped=stopped,
        prices=own | dict(prices or {}),
        min_coverage=min_coverage,
        warnings=warnings,
    )


def run(
    task: Task,
    models: Mapping[str, str | Model],
    *,
    store: Path | Store,
    settings: EvalSettings | None = None,
    **options: Any,
) -> RaceResult:
    """Synchronous :func:`arun` (for scripts and notebooks outside an event loop), on the
    event loop ``settings`` choose; their ``cache_dir`` and ``ray_address`` give the
    response cache and the executor when ``options`` name none."""
    settings = settings or EvalSettings()
    if "cache_path" not in options and settings.cache_dir is not None:
        options["cache_path"] = settings.cache_dir / "cache.sqlite"
    if "executor" not in options and settings.ray_address:
        from mosu.evals.ray_executor import RayExecutor

        options["executor"] = RayExecutor(
            address=settings.ray_address, seed=int(options.get("seed", 0)), loop=settings.loop
        )
    return aio.run(arun(task, models, store=store, **options), settings.loop)
