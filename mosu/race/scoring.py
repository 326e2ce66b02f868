"""How a stage is scored: its task over a data set version, the public/private split of the
hidden test rows, and leaderboards with intervals and rank groups.

A stage pins a task definition (prompt, parser, scorers) and a data set version; the
version's rows become the task's splits (``train``/``dev`` for few-shot examples and
baselines, ``test`` scored). The test rows are cut once, by a seeded hash of their ids,
into a *public* part (scored on the live leaderboard during the stage) and a *private*
part (the final ranking, revealed when the stage closes). Every submission's per-sample
outputs live in its own run in the platform's database (:mod:`mosu.jobs.run_store`; a
submission raced before that, in its run store file); a board re-scores the counted
submissions of all entries together, so the intervals are paired and rank groups come from
the engine.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from mosu.challenges.models import Stage, Submission
from mosu.core.text import Bilingual, Text
from mosu.corpus.image_store import image_data
from mosu.corpus.models import DatasetRow, DatasetVersion
from mosu.evals.errors import EvalError
from mosu.evals.loaders import Sample
from mosu.evals.models.base import Price
from mosu.evals.results import METHOD, ModelResult, RaceResult, error_reason, score_race
from mosu.evals.service import Service, pareto, service
from mosu.evals.store import Outcome, RunStore
from mosu.evals.tasks import Task, parse_task
from mosu.i18n import N_
from mosu.jobs.run_store import read_outcomes
from mosu.race.errors import (
    INVALID_TASK,
    NO_TEST_ROWS,
    TASK_HAS_DATA_FIELDS,
    TEST_SPLIT_TOO_SMALL,
    VERSION_GONE,
)
from mosu.race.perf_spec import engine_definition
from mosu.race.rules import ScoringRule, composite, unmet

Part = Literal["public", "private"]
TASK_FIELDS_FROM_DATA = ("splits", "eval_split", "train_split")
REPLICATES = 1000


def is_public(seed: int, sample_id: str, fraction: float) -> bool:
    """Whether a test row belongs to the public part: a seeded hash of its id, fixed forever."""
    digest = hashlib.sha256(f"{seed}:{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


@dataclass(frozen=True)
class Row:
    """A data set row detached from the database (stage data outlives its session)."""

    row_id: str
    fields: dict[str, Any]
    label: str | None
    category: str | None


@dataclass(frozen=True)
class VersionInfo:
    schema: dict[str, Any]
    label_set: list[str]


def _records(rows: Sequence[Row], names: tuple[str, str, str]) -> list[dict[str, Any]]:
    id_name, label_name, category_name = names
    out = []
    for row in rows:
        record: dict[str, Any] = {**row.fields, id_name: row.row_id, label_name: row.label or ""}
        if row.category is not None:
            record[category_name] = row.category
        out.append(record)
    return out


def build_task(
    definition: Mapping[str, Any],
    version: VersionInfo,
    rows_by_split: Mapping[str, Sequence[Row]],
    *,
    test_ids: set[str] | None = None,
    name: str = "stage",
) -> Task:
    """The engine task of a stage: its definition over the version's rows.

    ``test_ids`` keeps only those test rows (one part of the split). Raises
    :class:`~mosu.core.errors.Invalid` with the engine's message when the definition does not fit
    the data (unknown field in the template, unknown scorer …).
    """
    definition = engine_definition(definition)  # a perf stage's section is not the engine's
    extra = sorted(set(definition) & set(TASK_FIELDS_FROM_DATA))
    if extra:
        raise TASK_HAS_DATA_FIELDS(fields=", ".join(extra))
    schema = version.schema
    names = (
        str(schema.get("id_field") or "id"),
        str(schema.get("label_field") or "label"),
        str(schema.get("category_field") or "category"),
    )
    images = list(schema.get("image_fields") or [])
    inputs = [*(schema.get("input_fields") or []), *images]
    if inputs and names[0] not in inputs:
        inputs.insert(0, names[0])  # templates may show the row's id (as a 工单编号)
    has_category = any(r.category is not None for rows in rows_by_split.values() for r in rows)
    splits: dict[str, Any] = {}
    for split, rows in rows_by_split.items():
        chosen = [r for r in rows if split != "test" or test_ids is None or r.row_id in test_ids]
        if not chosen:
            continue
        splits[split] = {
            "format": "inline",
            "rows": _records(chosen, names),
            "id_field": names[0],
            "label_field": names[1],
            "input_fields": inputs or None,
            "category_field": names[2] if has_category else None,
            "image_fields": images or None,
        }
    if "test" not in splits:
        raise NO_TEST_ROWS()
    data: dict[str, Any] = {"name": name, **definition, "splits": splits, "eval_split": "test"}
    if "train" in splits:
        data["train_split"] = "train"
    parser = data.get("parser", "identity")
    parser_name = parser if isinstance(parser, str) else dict(parser).get("name")
    if "labels" not in data and parser_name == "label" and version.label_set:
        data["labels"] = list(version.label_set)
    try:
        return parse_task(data, where="task")
    except EvalError as exc:
        raise INVALID_TASK(problem=exc.text) from None


def load_rows(session: Session, version_id: int) -> dict[str, list[Row]]:
    """A version's rows by split, in file order; an image corpus's image fields hold the
    images' stored bytes (the engine checks them again and sends them as base64, never as a
    URL)."""
    version = session.get(DatasetVersion, version_id)
    images = list((version.schema if version else {}).get("image_fields") or [])
    found = list(
        session.scalars(
            select(DatasetRow).where(DatasetRow.version_id == version_id).order_by(DatasetRow.index)
        )
    )
    data = image_data(session, (r.fields[n] for r in found for n in images if r.fields.get(n)))
    rows: dict[str, list[Row]] = {}
    for row in found:
        fields = dict(row.fields)
        for name in images:
            if isinstance(fields.get(name), str) and fields[name] in data:
                fields[name] = data[fields[name]]
        rows.setdefault(row.split, []).append(Row(row.row_id, fields, row.label, row.category))
    return rows


@dataclass
class StageData:
    """A stage's task over its whole test split, and the ids of the public and private parts."""

    task: Task
    public: set[str]
    private: set[str]
    definition: dict[str, Any]
    version: VersionInfo
    rows: dict[str, list[Row]]

    def part_task(self, part: Part) -> Task:
        ids = self.public if part == "public" else self.private
        return build_task(self.definition, self.version, self.rows, test_ids=ids)


def stage_data(session: Session, stage: Stage) -> StageData:
    """Load a stage's rows and build its task; the test split cut into public and private."""
    version = session.get(DatasetVersion, stage.dataset_version_id)
    if version is None:
        raise VERSION_GONE()
    rows = load_rows(session, version.id)
    info = VersionInfo(dict(version.schema), list(version.label_set))
    task = build_task(stage.task, info, rows, name=f"stage-{stage.id or 'new'}")
    ids = [s.id for s in task.samples()]
    public = {i for i in ids if is_public(stage.split_seed, i, stage.public_fraction)}
    private = set(ids) - public
    if not public or not private:
        raise TEST_SPLIT_TOO_SMALL()
    return StageData(task, public, private, dict(stage.task), info, rows)


def store_path(data_dir: Path, submission: Submission) -> Path:
    """Where a submission raced before the run store moved into the database kept its
    per-sample outputs (never served to anyone); its measurement under load is kept beside."""
    return (
        data_dir / "races" / f"stage-{submission.stage_id}" / f"submission-{submission.id}.sqlite"
    )


def run_name(submission: Submission) -> str:
    """The name of a submission's run in the platform's run store."""
    return f"submission-{submission.id}"


MODEL_NAME = "entry"


def outcomes_of(
    data_dir: Path, submission: Submission, model: str = MODEL_NAME
) -> dict[str, Outcome]:
    """A submission's finished samples of ``model`` (the entry's answers, or a judge's
    verdicts ``entry@judgeN``), read in the submission's session: from the database, or
    from the run store file of a submission raced before the store moved there."""
    session = object_session(submission)
    if session is not None:
        found = read_outcomes(session, run_name(submission), model)
        if found:
            return found
    path = store_path(data_dir, submission)
    if not path.exists():
        return {}
    store = RunStore(path)
    try:
        return store.finished(model)
    finally:
        store.close()


@dataclass(frozen=True)
class Contender:
    """One entry's counted submission on a board."""

    entry_id: int
    entry_name: str
    submission_id: int
    submitted_at: str
    outcomes: Mapping[str, Outcome]
    price: Price | None = None


@dataclass(frozen=True)
class BoardRow:
    """One entry's counted submission on a board: its rank group, score and 95% interval,
    its service figures (coverage, latency, TTFT, tokens, cost: everyone sees them) and the
    breakdowns (metrics, errors, categories, confusion) only full readers see.

    ``answered_score`` is the primary metric over answered samples only; ``composite`` the
    score of a weights rule (it orders the board; ``rank`` stays the quality rank group);
    ``reason`` says why an unranked row is not ranked (rank 0); ``pareto`` marks the
    quality-cost front among the ranked rows."""

    entry_id: int
    entry: str
    submission_id: int
    submitted_at: str
    rank: int
    score: float
    low: float
    high: float
    metrics: dict[str, Any]
    errors: int
    error_reasons: dict[str, int]
    unparsed: int
    by_category: dict[str, Any]
    confusion: dict[str, Any] | None
    position: int = 0
    service: dict[str, Any] | None = None
    answered_score: float | None = None
    composite: float | None = None
    reason: dict[str, Any] | str = ""
    """A catalogued text as JSON (a board computed before texts: a bilingual string)."""
    pareto: bool = False
    retries: int = 0  # calls sent again after a failure (429, 5xx, timeout) that later answered

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BoardRow:
        return cls(**data)

    def reason_text(self) -> Text | None:
        """Why the row is not ranked, shown in each reader's language; None when it is."""
        if isinstance(self.reason, dict):
            return Text.from_json(self.reason)
        return Bilingual(self.reason) if self.reason else None


@dataclass(frozen=True)
class Board:
    """A stage's leaderboard on one part, kept on the stage as JSON (:meth:`to_json`).

    An empty board has no ``replicates``, ``method`` nor ``comparisons``; ``part`` and
    ``computed_at`` are set once it is computed for a stage. ``unranked`` lists the entries
    not placed among the ranks: incomplete (coverage below ``min_coverage``) or missing a
    constraint of ``rule``, each with its reason."""

    rows: list[BoardRow]
    primary: str
    samples: int
    replicates: int | None = None
    method: str | None = None
    comparisons: list[dict[str, Any]] | None = None
    part: Part | None = None
    computed_at: str | None = None
    unranked: list[BoardRow] = field(default_factory=list)
    min_coverage: float = 0.0
    rule: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rows": [r.to_json() for r in self.rows],
            "primary": self.primary,
            "samples": self.samples,
            "unranked": [r.to_json() for r in self.unranked],
            "min_coverage": self.min_coverage,
            "rule": self.rule,
        }
        if self.comparisons is not None:
            out |= {
                "replicates": self.replicates,
                "method": self.method,
                "comparisons": self.comparisons,
            }
        if self.part is not None:
            out["part"] = self.part
        if self.computed_at is not None:
            out["computed_at"] = self.computed_at
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Board:
        return cls(
            rows=[BoardRow.from_json(r) for r in data["rows"]],
            primary=data["primary"],
            samples=data["samples"],
            replicates=data.get("replicates"),
            method=data.get("method"),
            comparisons=data.get("comparisons"),
            part=data.get("part"),
            computed_at=data.get("computed_at"),
            unranked=[BoardRow.from_json(r) for r in data.get("unranked", [])],
            min_coverage=data.get("min_coverage", 0.0),
            rule=data.get("rule"),
        )


def _row(c: Contender, model: ModelResult, primary: str, reason: Text | None = None) -> BoardRow:
    value = model.metrics[primary]
    return BoardRow(
        entry_id=c.entry_id,
        entry=c.entry_name,
        submission_id=c.submission_id,
        submitted_at=c.submitted_at,
        rank=0 if reason is not None else model.rank,
        score=value.value,
        low=value.low,
        high=value.high,
        metrics={k: v.model_dump() for k, v in model.metrics.items()},
        errors=model.errors,
        error_reasons=model.error_reasons,
        unparsed=model.unparsed,
        by_category={k: v.model_dump() for k, v in model.by_category.items()},
        confusion=model.confusion.model_dump() if model.confusion else None,
        service=model.service.model_dump() if model.service else None,
        answered_score=model.answered_score,
        reason=reason.to_json() if reason is not None else "",
        retries=_retries(model),
    )


def _retries(model: ModelResult) -> int:
    """Requests beyond one per sample sent (the failed calls that were retried)."""
    sent = model.samples - model.error_reasons.get("not run", 0) - model.cached
    return max(0, model.requests - sent)


def _why_incomplete(figures: Service, min_coverage: float, reasons: Mapping[str, int]) -> Text:
    errors = ", ".join(f"{k} × {v}" for k, v in sorted(reasons.items())) or "—"
    return Text(
        N_("覆盖率 {coverage} 低于最低要求 {minimum}（错误：{errors}）"),
        {"coverage": f"{figures.coverage:.1%}", "minimum": f"{min_coverage:.0%}", "errors": errors},
    )


def _held(
    samples: Sequence[Sample],
    keys: Mapping[str, Contender],
    figures: Mapping[str, Service],
    min_coverage: float,
    rule: ScoringRule | None,
) -> dict[str, Text]:
    """Why each contender that cannot be ranked is not: coverage below the minimum (with
    its errors by reason), or the scoring rule missed."""
    held: dict[str, Text] = {}
    for key, c in keys.items():
        if figures[key].coverage < min_coverage:
            reasons = Counter(
                error_reason(o.error)
                for s in samples
                if (o := c.outcomes.get(s.id)) is not None and o.output is None and o.error
            )
            missing = sum(1 for s in samples if s.id not in c.outcomes)
            if missing:
                reasons["not run"] = missing
            held[key] = _why_incomplete(figures[key], min_coverage, reasons)
        elif (why := unmet(rule, figures[key])) is not None:
            held[key] = why
    return held


def _ordered(
    rows: list[BoardRow], rule: ScoringRule | None, figures: Mapping[str, Service]
) -> list[BoardRow]:
    """Ranked rows in board order (by rank group, score, the earlier submission; under a
    weights rule by composite first), with positions and the quality-cost front marked."""
    rows = sorted(rows, key=lambda r: (r.rank, -r.score, r.submitted_at, r.submission_id))
    if rule is not None and rule.weights is not None and rows:
        scores = composite(
            rule.weights,
            {f"e{r.entry_id}": r.score for r in rows},
            {f"e{r.entry_id}": figures[f"e{r.entry_id}"] for r in rows},
        )
        rows = [replace(r, composite=scores[f"e{r.entry_id}"]) for r in rows]
        rows.sort(key=lambda r: (-(r.composite or 0.0), r.rank, -r.score, r.submitted_at))
    front = pareto(
        {
            f"e{r.entry_id}": (r.score, r.service["cost_per_1k"])
            for r in rows
            if r.service is not None and r.service.get("cost_per_1k") is not None
        }
    )
    return [
        replace(r, position=position, pareto=f"e{r.entry_id}" in front)
        for position, r in enumerate(rows, 1)
    ]


def _unscored(c: Contender, figures: Service, reason: Text) -> BoardRow:
    """A row for an entry with no answer on the part: its figures and reason, score 0."""
    return BoardRow(
        entry_id=c.entry_id, entry=c.entry_name, submission_id=c.submission_id,
        submitted_at=c.submitted_at, rank=0, score=0.0, low=0.0, high=0.0, metrics={},
        errors=figures.samples, error_reasons={}, unparsed=0, by_category={}, confusion=None,
        service=figures.model_dump(), reason=reason.to_json(),
    )  # fmt: skip


def board(
    task: Task,
    contenders: Sequence[Contender],
    *,
    seed: int = 0,
    replicates: int = REPLICATES,
    min_coverage: float = 0.0,
    rule: ScoringRule | None = None,
) -> Board:
    """Score contenders together on ``task`` (one part): rows with intervals and rank groups,
    service figures, and the entries not ranked (incomplete or missing the rule) apart.

    Entries below ``min_coverage`` and those that miss a constraint of ``rule`` are scored
    on their own, so they move no one's rank group. Ranked rows are ordered by rank group,
    then score, then the earlier submission (ties go to whoever submitted first); under a
    weights rule by composite score first.
    """
    samples = task.samples()
    empty = Board(
        rows=[],
        primary=task.primary,
        samples=len(samples),
        min_coverage=min_coverage,
        rule=rule.model_dump(exclude_none=True) if rule is not None else None,
    )
    if not contenders:
        return empty
    keys = {f"e{c.entry_id}": c for c in contenders}
    figures = {key: service(samples, c.outcomes, c.price) for key, c in keys.items()}
    held = _held(samples, keys, figures, min_coverage, rule)

    def scored(group: list[str]) -> RaceResult:
        result = score_race(
            task,
            {key: keys[key].outcomes for key in group},
            {key: f"submission {keys[key].submission_id}" for key in group},
            replicates=replicates,
            seed=seed,
            prices={key: p for key in group if (p := keys[key].price) is not None},
        )
        for failed in result.failed:  # no answer at all on this part
            held.setdefault(
                failed.name, Text(N_("没有任何回答：{why}"), {"why": Bilingual(failed.reason)})
            )
        return result

    ranked = scored([k for k in keys if k not in held])
    rows = _ordered([_row(keys[m.name], m, ranked.primary) for m in ranked.models], rule, figures)
    unranked: list[BoardRow] = []
    if held:
        apart = scored(list(held)).models
        unranked = [_row(keys[m.name], m, ranked.primary, held[m.name]) for m in apart]
        done = {m.name for m in apart}
        unranked += [
            _unscored(keys[k], figures[k], why) for k, why in held.items() if k not in done
        ]
        unranked.sort(key=lambda r: (-r.score, r.submitted_at, r.submission_id))
    comparisons = [c.model_dump() for c in ranked.comparisons]
    for comp in comparisons:
        comp["a"], comp["b"] = keys[comp["a"]].entry_id, keys[comp["b"]].entry_id
    return replace(
        empty,
        rows=rows,
        primary=ranked.primary,
        replicates=replicates,
        method=METHOD,
        comparisons=comparisons,
        unranked=unranked,
    )


def not_worse_than_best(board_: Board) -> set[int]:
    """Entries whose paired difference from the best is not significant (the best included)."""
    if not board_.rows:
        return set()
    best = min(board_.rows, key=lambda r: (r.rank, -r.score, r.position)).entry_id
    keep = {best}
    for comp in board_.comparisons or []:
        if best in (comp["a"], comp["b"]) and not comp["significant"]:
            keep.add(comp["b"] if comp["a"] == best else comp["a"])
    return keep


def single_scores(data: StageData, outcomes: Mapping[str, Outcome]) -> dict[Part, float]:
    """One submission's primary score on the public and on the private part."""
    scores: dict[Part, float] = {}
    parts: tuple[Part, Part] = ("public", "private")
    for part in parts:
        task = data.part_task(part)
        result = score_race(task, {MODEL_NAME: outcomes}, {MODEL_NAME: ""}, replicates=20)
        scores[part] = result.models[0].metrics[result.primary].value
    return scores


__all__ = [
    "Board",
    "BoardRow",
    "Contender",
    "Part",
    "StageData",
    "board",
    "build_task",
    "is_public",
    "not_worse_than_best",
    "outcomes_of",
    "run_name",
    "single_scores",
    "stage_data",
    "store_path",
]
