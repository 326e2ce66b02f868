"""How a stage is scored: its task over a data set version, the public/private split of the
hidden test rows, and leaderboards with intervals and rank groups.

A stage pins a task definition (prompt, parser, scorers) and a data set version; the
version's rows become the task's splits (``train``/``dev`` for few-shot examples and
baselines, ``test`` scored). The test rows are cut once, by a seeded hash of their ids,
into a *public* part (scored on the live leaderboard during the stage) and a *private*
part (the final ranking, revealed when the stage closes). Every submission's per-sample
outputs live in its own run store; a board re-scores the counted submissions of all
entries together, so the intervals are paired and rank groups come from the engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import Stage, Submission
from mosu.core.errors import Invalid
from mosu.corpus.models import DatasetRow, DatasetVersion
from mosu.evals.errors import EvalError
from mosu.evals.results import RaceResult, score_race
from mosu.evals.store import Outcome, RunStore
from mosu.evals.tasks import Task, parse_task
from mosu.race.perf_spec import engine_definition

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
        raise Invalid(f"任务定义不应包含 {', '.join(extra)}：数据来自所选数据集版本")
    schema = version.schema
    names = (
        str(schema.get("id_field") or "id"),
        str(schema.get("label_field") or "label"),
        str(schema.get("category_field") or "category"),
    )
    inputs = list(schema.get("input_fields") or [])
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
        }
    if "test" not in splits:
        raise Invalid("数据集版本没有测试集（test）行 / the data set version has no test rows")
    data: dict[str, Any] = {"name": name, **definition, "splits": splits, "eval_split": "test"}
    if "train" in splits:
        data["train_split"] = "train"
    parser = data.get("parser", "identity")
    parser_name = parser if isinstance(parser, str) else dict(parser).get("name")
    if "labels" not in data and parser_name == "label" and version.label_set:
        data["labels"] = list(version.label_set)
    try:
        return parse_task(data, where="阶段任务 / stage task")
    except EvalError as exc:
        raise Invalid(str(exc)) from None


def load_rows(session: Session, version_id: int) -> dict[str, list[Row]]:
    """A version's rows by split, in file order."""
    rows: dict[str, list[Row]] = {}
    for row in session.scalars(
        select(DatasetRow).where(DatasetRow.version_id == version_id).order_by(DatasetRow.index)
    ):
        rows.setdefault(row.split, []).append(
            Row(row.row_id, dict(row.fields), row.label, row.category)
        )
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
        raise Invalid("阶段的数据集版本不存在 / the stage's data set version is gone")
    rows = load_rows(session, version.id)
    info = VersionInfo(dict(version.schema), list(version.label_set))
    task = build_task(stage.task, info, rows, name=f"stage-{stage.id or 'new'}")
    ids = [s.id for s in task.samples()]
    public = {i for i in ids if is_public(stage.split_seed, i, stage.public_fraction)}
    private = set(ids) - public
    if not public or not private:
        raise Invalid(
            "测试集太小，无法分成公开与隐藏两部分 / the test split is too small to cut into "
            "a public and a private part"
        )
    return StageData(task, public, private, dict(stage.task), info, rows)


def store_path(data_dir: Path, submission: Submission) -> Path:
    """Where a submission's per-sample outputs are kept (never served to anyone)."""
    return (
        data_dir / "races" / f"stage-{submission.stage_id}" / f"submission-{submission.id}.sqlite"
    )


MODEL_NAME = "entry"


def outcomes_of(data_dir: Path, submission: Submission) -> dict[str, Outcome]:
    path = store_path(data_dir, submission)
    if not path.exists():
        return {}
    store = RunStore(path)
    try:
        return store.finished(MODEL_NAME)
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


@dataclass(frozen=True)
class BoardRow:
    """One entry's counted submission on a board: its rank group, score and 95% interval,
    and the breakdowns (metrics, errors, categories, confusion) only full readers see."""

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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BoardRow:
        return cls(**data)


@dataclass(frozen=True)
class Board:
    """A stage's leaderboard on one part, kept on the stage as JSON (:meth:`to_json`).

    An empty board has no ``replicates``, ``method`` nor ``comparisons``; ``part`` and
    ``computed_at`` are set once it is computed for a stage."""

    rows: list[BoardRow]
    primary: str
    samples: int
    replicates: int | None = None
    method: str | None = None
    comparisons: list[dict[str, Any]] | None = None
    part: Part | None = None
    computed_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rows": [r.to_json() for r in self.rows],
            "primary": self.primary,
            "samples": self.samples,
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
        )


def board(
    task: Task, contenders: Sequence[Contender], *, seed: int = 0, replicates: int = REPLICATES
) -> Board:
    """Score contenders together on ``task`` (one part): rows with intervals and rank groups.

    Rows are ordered by rank group, then score, then the earlier submission (ties go to
    whoever submitted first).
    """
    if not contenders:
        return Board(rows=[], primary=task.primary, samples=len(task.samples()))
    keys = {f"e{c.entry_id}": c for c in contenders}
    result: RaceResult = score_race(
        task,
        {key: c.outcomes for key, c in keys.items()},
        {key: f"submission {c.submission_id}" for key, c in keys.items()},
        replicates=replicates,
        seed=seed,
    )
    rows: list[BoardRow] = []
    for model in result.models:
        c = keys[model.name]
        primary = model.metrics[result.primary]
        rows.append(
            BoardRow(
                entry_id=c.entry_id,
                entry=c.entry_name,
                submission_id=c.submission_id,
                submitted_at=c.submitted_at,
                rank=model.rank,
                score=primary.value,
                low=primary.low,
                high=primary.high,
                metrics={k: v.model_dump() for k, v in model.metrics.items()},
                errors=model.errors,
                error_reasons=model.error_reasons,
                unparsed=model.unparsed,
                by_category={k: v.model_dump() for k, v in model.by_category.items()},
                confusion=model.confusion.model_dump() if model.confusion else None,
            )
        )
    rows.sort(key=lambda r: (r.rank, -r.score, r.submitted_at, r.submission_id))
    comparisons = [c.model_dump() for c in result.comparisons]
    for comp in comparisons:
        comp["a"], comp["b"] = keys[comp["a"]].entry_id, keys[comp["b"]].entry_id
    return Board(
        rows=[replace(row, position=position) for position, row in enumerate(rows, 1)],
        primary=result.primary,
        samples=result.samples,
        replicates=result.replicates,
        method=result.method,
        comparisons=comparisons,
    )


def not_worse_than_best(board_: Board) -> set[int]:
    """Entries whose paired difference from the best is not significant (the best included)."""
    if not board_.rows:
        return set()
    best = board_.rows[0].entry_id
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
    "single_scores",
    "stage_data",
    "store_path",
]
