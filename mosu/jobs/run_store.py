"""The platform's run store (共享运行存储): a race's finished samples in the platform's database.

The CLI keeps a run in a SQLite file (:class:`mosu.evals.store.RunStore`) on the disk of the
machine that runs it. On the platform a race is a job that a worker on another machine, with
another ``MOSU_DATA_DIR``, may claim again when the first one dies; so its rows live in the
platform's database (PostgreSQL in a deployment, SQLite embedded), in the ``run_*`` tables,
under the run's name. :class:`DatabaseRunStore` keeps the interface of the file store
(:class:`mosu.evals.store.Store`): the engine's writer thread commits each batch of outcomes
(every 20 ms) in one transaction, and a committed outcome is never asked again by any worker.
It keeps no response cache (see :meth:`DatabaseRunStore.cached`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu.evals.errors import EvalError
from mosu.evals.prompts import Message
from mosu.evals.store import CachedAnswer, Outcome, RunStore
from mosu.jobs.models import RunMeta, RunPrompt, RunResult

RESULTS: Table = RunResult.__table__  # type: ignore[assignment]
PROMPTS: Table = RunPrompt.__table__  # type: ignore[assignment]
META: Table = RunMeta.__table__  # type: ignore[assignment]
_OUTCOME = (
    "model", "sample_id", "output", "error", "attempts", "cached", "latency", "ttft",
    "prompt_tokens", "completion_tokens", "finish_reason", "prompt_hash", "method",
)  # fmt: skip
_CHUNK = 500  # keys in one ``IN (…)`` list
NAME_LENGTH = 200


def _upsert(
    dialect: str, table: Table, columns: Sequence[str], keys: Sequence[str], *, replace: bool
) -> str:
    """Driver-level ``INSERT`` of ``columns`` (positional parameters) that replaces, or
    keeps, a row already under ``keys``: the same text on SQLite and PostgreSQL but for the
    parameter marks. A batch is written with the driver's ``executemany``, at a few µs per
    row (the ORM's statements cost 50-130 µs a row, on the writer thread beside the race)."""
    mark = "?" if dialect == "sqlite" else "%s"
    kept = [c for c in columns if c not in keys]
    action = (
        "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in kept)
        if replace
        else "DO NOTHING"
    )
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))}) ON CONFLICT ({', '.join(keys)}) {action}"
    )


def read_outcomes(db: Session | Connection, run: str, model: str) -> dict[str, Outcome]:
    """The run's finished samples of ``model``, by sample id (through a session or a
    connection: a page reads them in its own transaction)."""
    columns = [RESULTS.c[name] for name in _OUTCOME]
    rows = db.execute(select(*columns).where(RESULTS.c.run == run, RESULTS.c.model == model)).all()
    return {r.sample_id: Outcome(**r._asdict()) for r in rows}


class DatabaseRunStore:
    """The run ``run``'s store in the database behind ``engine`` (the caller's: closing the
    store leaves it open). Reads take a connection of their own each; writes, which come
    every 20 ms while a race runs, one after another (the engine's writer thread, then the
    last batch), keep one connection until :meth:`close` or a failure."""

    def __init__(self, engine: Engine, run: str) -> None:
        if not 0 < len(run) <= NAME_LENGTH:
            raise EvalError(f"a run's name has 1 to {NAME_LENGTH} characters: {run[:60]!r}…")
        self.engine = engine
        self.run = run
        dialect = engine.dialect.name
        self._results = _upsert(
            dialect, RESULTS, ("run", *_OUTCOME), ("run", "model", "sample_id"), replace=True
        )
        self._meta = _upsert(dialect, META, ("run", "key", "value"), ("run", "key"), replace=False)
        self._prompts = _upsert(
            dialect, PROMPTS, ("run", "hash", "messages"), ("run", "hash"), replace=False
        )
        self._writer: Connection | None = None
        self._lock = threading.Lock()

    def bind(self, key: str, value: str, *, what: str) -> None:
        """Record ``key = value`` on first use; refuse a different value later (a resumed run
        must be the same task and the same models)."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self._meta, (self.run, key, value))
            held = conn.execute(
                select(META.c.value).where(META.c.run == self.run, META.c.key == key)
            ).scalar_one()
        if held != value:
            raise EvalError(f"run {self.run} holds a run with a different {what}")

    def finished(self, model: str) -> dict[str, Outcome]:
        """The model's finished samples (answered or erred) by sample id."""
        with self.engine.connect() as conn:
            return read_outcomes(conn, self.run, model)

    def remember_prompts(self, prompts: Iterable[tuple[str, str]]) -> None:
        """Keep each rendered prompt (hash, serialised text) once, by its hash."""
        rows = [(self.run, h, text) for h, text in dict(prompts).items()]
        if rows:
            self._commit(self._prompts, rows)

    def prompt(self, hash_: str) -> list[Message] | None:
        """The rendered prompt a stored outcome names, if this run kept it."""
        with self.engine.connect() as conn:
            text = conn.execute(
                select(PROMPTS.c.messages).where(PROMPTS.c.run == self.run, PROMPTS.c.hash == hash_)
            ).scalar_one_or_none()
        return json.loads(text) if text is not None else None

    def models(self) -> list[str]:
        """The models the run holds outcomes of, by name."""
        with self.engine.connect() as conn:
            names = conn.execute(
                select(RESULTS.c.model)
                .where(RESULTS.c.run == self.run)
                .group_by(RESULTS.c.model)
                .order_by(RESULTS.c.model)
            ).scalars()
            return list(names)

    def has_cached(self) -> bool:
        """False: the platform keeps no response cache (see :meth:`cached`)."""
        return False

    def cached(self, keys: Iterable[str]) -> dict[str, CachedAnswer]:
        """None: the platform keeps no response cache. A run's answers are kept by sample
        already, and one run's requests are all different (a cache within a run pays only
        across its resumes, where the answers are found by sample first)."""
        return {}

    def write(self, outcomes: Sequence[Outcome]) -> None:
        """Commit outcomes in one transaction; an outcome written again replaces the
        earlier one (a retried error)."""
        if not outcomes:
            return
        run = self.run
        latest = {(o.model, o.sample_id): o for o in outcomes}
        results = [
            (run, o.model, o.sample_id, o.output, o.error, o.attempts, o.cached, o.latency,
             o.ttft, o.prompt_tokens, o.completion_tokens, o.finish_reason, o.prompt_hash,
             o.method)
            for o in latest.values()
        ]  # fmt: skip
        self._commit(self._results, results)

    def _commit(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run ``sql`` over ``rows`` in one transaction, on the kept connection; a failed
        one is given back, and the next write takes another."""
        with self._lock:
            if self._writer is None:
                self._writer = self.engine.connect()
            conn = self._writer
            try:
                with conn.begin():
                    conn.exec_driver_sql(sql, rows)
            except BaseException:
                self._writer = None
                conn.close()
                raise

    def adopt(self, path: Path) -> int:
        """Copy the outcomes and prompts of the run store file at ``path`` (a race begun
        before its store moved into the database, on this machine) into this run, when it
        holds none yet, so the race resumes from them; how many outcomes were copied."""
        if not path.exists() or self.count():
            return 0
        old = RunStore(path)
        try:
            outcomes = [o for model in old.models() for o in old.finished(model).values()]
            self.remember_prompts(old.prompts())
        finally:
            old.close()
        self.write(outcomes)
        return len(outcomes)

    def count(self) -> int:
        """How many outcomes the run holds (every model's)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(RESULTS).where(RESULTS.c.run == self.run)
                ).scalar_one()
            )

    def close(self) -> None:
        """Give the kept connection back to the engine's pool (the engine is the caller's)."""
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
