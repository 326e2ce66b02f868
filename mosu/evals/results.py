"""What a race produces: the leaderboard with intervals and ranks, and per-sample records.

:func:`score_race` is pure given the task and the stored outputs, so re-scoring a finished
run (a new parser, more bootstrap replicates) sends no request.
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
from pydantic import BaseModel, PrivateAttr

from mosu.evals import stats
from mosu.evals.loaders import Sample
from mosu.evals.models.base import Price
from mosu.evals.service import Service, service
from mosu.evals.store import Outcome, epoch_id
from mosu.evals.tasks import Task


class MetricValue(BaseModel):
    value: float
    low: float
    high: float


class CategoryScore(BaseModel):
    n: int
    value: float


class Confusion(BaseModel):
    """Rows: gold labels; columns: predicted labels, then ``(none)`` for no valid answer."""

    labels: list[str]
    matrix: list[list[int]]


class EpochSummary(BaseModel):
    """The primary metric of each repeat (epoch) of a model's answers, and their spread:
    mean, sample standard deviation (n - 1) and range. The ranked value and its interval
    are those of each sample's mean over the epochs (the sample stays the resampling unit)."""

    metric: str
    values: list[float]
    mean: float
    std: float
    minimum: float
    maximum: float


class ModelResult(BaseModel):
    name: str
    spec: str
    rank: int
    metrics: dict[str, MetricValue]
    samples: int
    errors: int
    error_reasons: dict[str, int]
    unparsed: int
    requests: int
    cached: int
    by_category: dict[str, CategoryScore]
    confusion: Confusion | None = None
    service: Service | None = None
    answered_score: float | None = None  # the primary metric over answered samples only
    incomplete: str = ""  # why an unranked model (rank 0) is not placed: low coverage
    epochs: EpochSummary | None = None


class FailedModel(BaseModel):
    """A model that failed entirely (its breaker stopped it, or every sample failed): listed
    with the reason and its error counts, never ranked or scored."""

    name: str
    spec: str
    reason: str
    samples: int
    errors: int
    error_reasons: dict[str, int]
    requests: int


class Comparison(BaseModel):
    a: str
    b: str
    metric: str
    difference: float
    low: float
    high: float
    p_value: float
    significant: bool


class RaceResult(BaseModel):
    """The outcome of racing models on one task (赛马结果)."""

    task: str
    description: str
    primary: str
    samples: int
    replicates: int
    seed: int
    method: str
    models: list[ModelResult]
    comparisons: list[Comparison]
    failed: list[FailedModel] = []
    incomplete: list[ModelResult] = []
    min_coverage: float = 0.0
    epochs: int = 1
    warnings: list[str] = []
    _outcomes: dict[str, Mapping[str, Outcome]] = PrivateAttr(default_factory=dict)

    @property
    def outcomes(self) -> Mapping[str, Mapping[str, Outcome]]:
        """Each model's outcomes by record id, as the race was scored from them: kept in
        memory for :func:`write_samples`, not written to ``results.json`` (empty when the
        result was read back from one)."""
        return self._outcomes

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")


METHOD = (
    "Percentile bootstrap over samples (shared resamples for all models, seeded); a paired "
    "difference is significant when its 95% interval excludes 0; rank = 1 + number of models "
    "significantly better on the primary metric. Errors and unparsable answers count as wrong "
    "(the answered-only score leaves them out); a model that answered less than the minimum "
    "coverage is listed as incomplete, not ranked."
)
EPOCHS_METHOD = (
    " Each sample was asked {epochs} times (epochs): a sample's statistics are the mean over "
    "its epochs, so the value, interval and ranks are those of the per-sample mean (the "
    "sample stays the resampling unit; corpus metrics pool every epoch's answers); the "
    "spread across epochs is the primary metric computed on each epoch alone."
)


def error_reason(error: str) -> str:
    """The kind of an error message (``HTTP 429``, ``timeout`` …), for counting by reason."""
    return error.split(":", 1)[0] if error.startswith("HTTP") else error.split(" (", 1)[0]


@dataclass
class _Scores:
    """Every model's metrics, the primary metric's ranks, pairwise comparisons and
    per-sample scores."""

    metrics: dict[str, dict[str, MetricValue]]
    ranks: dict[str, int]
    comparisons: list[Comparison]
    per_sample: dict[str, np.ndarray]
    answered: dict[str, float]
    by_epoch: dict[str, list[float]]


Answers = dict[str, list[list[str | None]]]
"""Per model, per epoch, one parsed answer (or verdict) per sample."""


def _spread(metric: str, values: list[float]) -> EpochSummary:
    return EpochSummary(
        metric=metric,
        values=values,
        mean=statistics.fmean(values),
        std=statistics.stdev(values) if len(values) > 1 else 0.0,
        minimum=min(values),
        maximum=max(values),
    )


def _verdicts(
    samples: Sequence[Sample],
    names: list[str],
    epochs: int,
    verdicts: Mapping[str, Mapping[str, Outcome]],
) -> Answers:
    """A judge scorer's inputs: its verdict on each model's answer in each epoch."""
    inputs: Answers = {}
    for name in names:
        rows = verdicts.get(name, {})
        inputs[name] = [
            [o.output if (o := rows.get(epoch_id(s.id, e))) is not None else None for s in samples]
            for e in range(epochs)
        ]
    return inputs


def _score(
    task: Task,
    names: list[str],
    predictions: Answers,
    judgements: Mapping[str, Mapping[str, Mapping[str, Outcome]]],
    replicates: int,
    seed: int,
    answered: Mapping[str, np.ndarray],
) -> _Scores:
    """Score, bootstrap, rank and compare the models ``names`` on every scorer; with
    epochs, each sample's statistics are its mean over the epochs."""
    samples = task.samples()
    epochs = task.spec.epochs
    labels = [s.label for s in samples]
    metric_values: dict[str, dict[str, MetricValue]] = {name: {} for name in names}
    ranks: dict[str, int] = {}
    comparisons: list[Comparison] = []
    per_sample: dict[str, np.ndarray] = {}
    answered_scores: dict[str, float] = {}
    by_epoch: dict[str, list[float]] = {}
    for scorer in task.scorers if names else ():
        if scorer.judge is not None:
            inputs = _verdicts(samples, names, epochs, judgements.get(scorer.name, {}))
        else:
            inputs = predictions
        per_epoch = [[scorer.stats(answers, labels) for answers in inputs[name]] for name in names]
        matrices = [m[0] if len(m) == 1 else np.mean(m, axis=0) for m in per_epoch]
        points = [float(scorer.aggregate(m.sum(axis=0), len(labels))) for m in matrices]
        reps = stats.bootstrap_replicates(
            matrices, scorer.aggregate, replicates=replicates, seed=seed
        )
        for i, name in enumerate(names):
            ci = stats.interval(points[i], reps[i])
            metric_values[name][scorer.name] = MetricValue(value=ci.value, low=ci.low, high=ci.high)
        if scorer.name == task.primary:
            by_epoch = {
                name: [float(scorer.aggregate(m.sum(axis=0), len(labels))) for m in epoch_stats]
                for name, epoch_stats in zip(names, per_epoch, strict=True)
            }
            for name, m in zip(names, matrices, strict=True):
                mask = answered[name]
                if mask.any():
                    answered_scores[name] = float(scorer.aggregate(m[mask].sum(axis=0), mask.sum()))
            ranks = stats.rank_groups(names, points, reps)
            if scorer.per_sample_column is not None:
                per_sample = {
                    name: m[:, scorer.per_sample_column]
                    for name, m in zip(names, matrices, strict=True)
                }
            for i, j in itertools.combinations(range(len(names)), 2):
                a, b = (i, j) if points[i] >= points[j] else (j, i)
                c = stats.compare(names[a], names[b], points[a] - points[b], reps[a] - reps[b])
                comparisons.append(
                    Comparison(a=c.a, b=c.b, metric=scorer.name, difference=c.difference.value, low=c.difference.low,
                               high=c.difference.high, p_value=c.p_value, significant=c.significant)
                )  # fmt: skip
    return _Scores(metric_values, ranks, comparisons, per_sample, answered_scores, by_epoch)


def _model_result(
    task: Task,
    name: str,
    specs: Mapping[str, str],
    rows: Mapping[str, Outcome],
    predicted: list[list[str | None]],
    scores: _Scores,
    categories: list[str],
    price: Price | None = None,
) -> ModelResult:
    """One ranked model's line of the result: metrics, errors, categories, confusion,
    spread across epochs; counts are over every epoch's answers."""
    samples = task.samples()
    labels = [s.label for s in samples]
    records = _records(samples, task.spec.epochs)
    errors = [rows[r].error or "" for r in records if r in rows and rows[r].error is not None]
    missing = sum(1 for r in records if r not in rows)
    by_category: dict[str, CategoryScore] = {}
    if categories and name in scores.per_sample:
        for cat in categories:
            mask = np.array([s.category == cat for s in samples])
            by_category[cat] = CategoryScore(
                n=int(mask.sum()), value=float(scores.per_sample[name][mask].mean())
            )
    confusion = None
    if task.spec.labels:
        index = {lab: i for i, lab in enumerate(task.spec.labels)}
        k = len(index)
        matrix = [[0] * (k + 1) for _ in range(k)]
        for answers in predicted:
            for pred, gold in zip(answers, labels, strict=True):
                matrix[index[gold]][index.get(pred, k) if pred is not None else k] += 1
        confusion = Confusion(labels=list(task.spec.labels), matrix=matrix)
    answered = [rows[r] for r in records if r in rows]
    unparsed = sum(
        1
        for e, answers in enumerate(predicted)
        for p, s in zip(answers, samples, strict=True)
        if p is None and (o := rows.get(epoch_id(s.id, e))) is not None and o.output is not None
    )
    spread = scores.by_epoch.get(name) if task.spec.epochs > 1 else None
    return ModelResult(
        name=name,
        spec=specs.get(name, name),
        rank=scores.ranks.get(name, 1),
        metrics=scores.metrics[name],
        samples=len(samples),
        errors=len(errors) + missing,
        error_reasons=dict(Counter(error_reason(e) for e in errors)) | ({"not run": missing} if missing else {}),
        unparsed=unparsed,
        requests=sum(o.attempts for o in answered if not o.cached),
        cached=sum(1 for o in answered if o.cached),
        by_category=by_category,
        confusion=confusion,
        service=service(_record_samples(samples, task.spec.epochs), rows, price),
        answered_score=scores.answered.get(name),
        epochs=_spread(task.primary, spread) if spread else None,
    )  # fmt: skip


def score_race(
    task: Task,
    outcomes: Mapping[str, Mapping[str, Outcome]],
    specs: Mapping[str, str],
    *,
    replicates: int = stats.DEFAULT_REPLICATES,
    seed: int = 0,
    judgements: Mapping[str, Mapping[str, Mapping[str, Outcome]]] | None = None,
    stopped: Mapping[str, str] | None = None,
    prices: Mapping[str, Price] | None = None,
    min_coverage: float = 0.0,
    warnings: Sequence[str] = (),
) -> RaceResult:
    """Parse, score, bootstrap and rank every model's outputs on the task's samples.

    ``judgements`` holds, per judge scorer and model, the judge's verdict on each sample.
    ``stopped`` names the models the executor's breaker stopped, with the reason; they, and
    models without a single answer, are listed in ``failed`` instead of being ranked.
    Models that answered less than ``min_coverage`` of the samples are scored apart and
    listed in ``incomplete`` (rank 0, with the reason), so they move no one's rank. ``prices``
    (yuan per million tokens, by model) give the service figures their cost.
    With the task's ``epochs`` above 1, ``outcomes`` hold every epoch's answer (ids from
    :func:`~mosu.evals.store.epoch_id`); a sample counts as answered when every epoch of it
    was. ``warnings`` are passed on to the result.
    """
    samples = task.samples()
    epochs = task.spec.epochs
    records = _records(samples, epochs)
    failed = [
        _failed(name, reason, records, outcomes[name], specs, epochs)
        for name in outcomes
        if (reason := _failure(name, records, outcomes[name], stopped or {})) is not None
    ]
    valid = [name for name in outcomes if name not in {f.name for f in failed}]
    answered = {name: _answered(samples, epochs, outcomes[name]) for name in valid}
    short = {
        name: f"coverage {answered[name].mean():.1%} is below the minimum {min_coverage:.0%}"
        for name in valid
        if samples and answered[name].mean() < min_coverage
    }
    names = [name for name in valid if name not in short]
    predictions: Answers = {name: _parsed(task, outcomes[name]) for name in valid}
    categories = sorted({s.category for s in samples if s.category is not None})
    prices = prices or {}

    def lines(group: list[str]) -> tuple[list[ModelResult], list[Comparison]]:
        scores = _score(task, group, predictions, judgements or {}, replicates, seed, answered)
        return [
            _model_result(
                task, name, specs, outcomes[name], predictions[name], scores, categories,
                prices.get(name),
            )
            for name in group
        ], scores.comparisons  # fmt: skip

    results, comparisons = lines(names)
    results.sort(key=lambda r: (r.rank, -r.metrics[task.primary].value, r.name))
    incomplete = [
        r.model_copy(update={"rank": 0, "incomplete": short[r.name]}) for r in lines(list(short))[0]
    ]
    incomplete.sort(key=lambda r: (-r.metrics[task.primary].value, r.name))
    result = RaceResult(
        task=task.name,
        description=task.spec.description,
        primary=task.primary,
        samples=len(samples),
        replicates=replicates,
        seed=seed,
        method=METHOD + (EPOCHS_METHOD.format(epochs=epochs) if epochs > 1 else ""),
        models=results,
        comparisons=comparisons,
        failed=failed,
        incomplete=incomplete,
        min_coverage=min_coverage,
        epochs=epochs,
        warnings=list(warnings),
    )
    result._outcomes = dict(outcomes)
    return result


def _answered(samples: Sequence[Sample], epochs: int, rows: Mapping[str, Outcome]) -> np.ndarray:
    """Per sample, whether the model answered it (in every epoch)."""

    def answered(record: str) -> bool:
        return (o := rows.get(record)) is not None and o.output is not None

    return np.array(
        [all(answered(epoch_id(s.id, e)) for e in range(epochs)) for s in samples], dtype=bool
    )


def _parsed(task: Task, rows: Mapping[str, Outcome]) -> list[list[str | None]]:
    """A model's parsed answers, per epoch, one per sample (``None``: none)."""
    return [
        [
            task.parser(o.output) if (o := rows.get(epoch_id(s.id, e))) and o.output is not None else None
            for s in task.samples()
        ]
        for e in range(task.spec.epochs)
    ]  # fmt: skip


def _records(samples: Sequence[Sample], epochs: int) -> list[str]:
    """The stored ids of every sample's answer in every epoch."""
    return [epoch_id(s.id, e) for e in range(epochs) for s in samples]


def _record_samples(samples: Sequence[Sample], epochs: int) -> Sequence[Sample]:
    """The samples once per epoch, each under its stored id (service figures count every
    request)."""
    if epochs == 1:
        return samples
    return [dataclasses.replace(s, id=epoch_id(s.id, e)) for e in range(epochs) for s in samples]


def _failure(
    name: str, records: Sequence[str], rows: Mapping[str, Outcome], stopped: Mapping[str, str]
) -> str | None:
    if name in stopped:
        return stopped[name]
    if records and not any(r in rows and rows[r].output is not None for r in records):
        return "every sample failed"
    return None


def _failed(
    name: str,
    reason: str,
    records: Sequence[str],
    rows: Mapping[str, Outcome],
    specs: Mapping[str, str],
    epochs: int,
) -> FailedModel:
    errors = [rows[r].error or "" for r in records if r in rows and rows[r].error]
    missing = sum(1 for r in records if r not in rows)
    reasons = dict(Counter(error_reason(e) for e in errors))
    return FailedModel(
        name=name,
        spec=specs.get(name, name),
        reason=reason,
        samples=len(records) // max(epochs, 1),
        errors=len(errors) + missing,
        error_reasons=reasons | ({"not run": missing} if missing else {}),
        requests=sum(rows[r].attempts for r in records if r in rows and not rows[r].cached),
    )


def write_samples(
    task: Task, outcomes: Mapping[str, Mapping[str, Outcome]], path: Path, models: Sequence[str]
) -> None:
    """Per-sample JSON lines: model, id, category, label, raw output, parsed prediction, error,
    and what the endpoint said of the answer (latency and time to first token in seconds,
    tokens, finish reason, how a choice was read) with the hash of the rendered prompt
    (``RunStore.prompt`` gives it back); with epochs, one line per sample and epoch, with its
    ``epoch`` (0, 1, …)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    epochs = task.spec.epochs
    with path.open("wb") as out:
        for name in models:
            rows = outcomes[name]
            for e, s in ((e, s) for s in task.samples() for e in range(epochs)):
                o = rows.get(epoch_id(s.id, e))
                output = o.output if o else None
                record: dict[str, object] = {
                    "model": name,
                    "id": s.id,
                    "category": s.category,
                    "label": s.label,
                    "output": output,
                    "prediction": task.parser(output) if output is not None else None,
                    "error": o.error if o else "not run",
                    "attempts": o.attempts if o else 0,
                    "latency": o.latency if o else None,
                    "ttft": o.ttft if o else None,
                    "prompt_tokens": o.prompt_tokens if o else None,
                    "completion_tokens": o.completion_tokens if o else None,
                    "finish_reason": o.finish_reason if o else None,
                    "method": o.method if o else None,
                    "prompt_hash": o.prompt_hash if o else None,
                }
                if epochs > 1:
                    record["epoch"] = e
                out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
