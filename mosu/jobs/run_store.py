"""The platform's run store (共享运行存储): a race's finished samples in the platform's database.

The CLI keeps a run in a SQLite file (:class:`mosu.evals.store.RunStore`) on the disk of the
machine that runs it. On the platform a race is a job that a worker on another machine, with
another ``MOSU_DATA_DIR``, may claim again when the first one dies; so its rows live in the
platform's database (PostgreSQL in a deployment, SQLite embedded), in the ``run_*`` tables,
under the run's name. :class:`DatabaseRunStore` keeps the interface of the file store
(:class:`mosu.evals.store.Store`): the engine's writer thread commits each batch of outcomes
(every 20 ms) in one transaction, and a committed outcome is never asked again by any worker.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu.evals.errors import EvalError
from mosu.evals.prompts import Message
from mosu.evals.store import CachedAnswer, Outcome
from mosu.jobs.models import RunCached, RunMeta, RunPrompt, RunResult

RESULTS: Table = RunResult.__table__  # type: ignore[assignment]
CACHE: Table = RunCached.__table__  # type: ignore[assignment]
PROMPTS: Table = RunPrompt.__table__  # type: ignore[assignment]
META: Table = RunMeta.__table__  # type: ignore[assignment]
_FIGURES = ("latency", "ttft", "prompt_tokens", "completion_tokens", "finish_reason", "method")
_OUTCOME = (
    "model", "sample_id", "output", "error", "attempts", "cached", "latency", "ttft",
    "prompt_tokens", "completion_tokens", "finish_reason", "prompt_hash", "method",
)  # fmt: skip
_CHUNK = 500  # keys in one ``IN (…)`` list
NAME_LENGTH = 200


def _insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` that can say what to do on a conflict, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def read_outcomes(db: Session | Connection, run: str, model: str) -> dict[str, Outcome]:
    """The run's finished samples of ``model``, by sample id (through a session or a
    connection: a page reads them in its own transaction)."""
    columns = [RESULTS.c[name] for name in _OUTCOME]
    rows = db.execute(select(*columns).where(RESULTS.c.run == run, RESULTS.c.model == model)).all()
    return {r.sample_id: Outcome(**r._asdict()) for r in rows}


def forget_run(db: Session | Connection, run: str) -> None:
    """Delete every row of ``run`` (its outcomes, prompts, cache and bindings)."""
    for table in (RESULTS, CACHE, PROMPTS, META):
        db.execute(delete(table).where(table.c.run == run))


class DatabaseRunStore:
    """The run ``run``'s store in the database behind ``engine`` (the caller's: closing the
    store leaves it open). Safe to use from the engine's writer thread and the event loop's
    thread at once: every call takes a connection of its own."""

    def __init__(self, engine: Engine, run: str) -> None:
        if not 0 < len(run) <= NAME_LENGTH:
            raise EvalError(f"a run's name has 1 to {NAME_LENGTH} characters: {run[:60]!r}…")
        self.engine = engine
        self.run = run

    def bind(self, key: str, value: str, *, what: str) -> None:
        """Record ``key = value`` on first use; refuse a different value later (a resumed run
        must be the same task and the same models)."""
        with self.engine.begin() as conn:
            conn.execute(
                _insert(conn, META)
                .values(run=self.run, key=key, value=value)
                .on_conflict_do_nothing(index_elements=["run", "key"])
            )
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
        rows = {h: text for h, text in prompts}
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(
                _insert(conn, PROMPTS).on_conflict_do_nothing(index_elements=["run", "hash"]),
                [{"run": self.run, "hash": h, "messages": text} for h, text in rows.items()],
            )

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

    def cached(self, keys: Iterable[str]) -> dict[str, CachedAnswer]:
        """Cached answers for ``keys``."""
        found: dict[str, CachedAnswer] = {}
        batch = list(keys)
        columns = [CACHE.c.output, *(CACHE.c[name] for name in _FIGURES)]
        with self.engine.connect() as conn:
            for start in range(0, len(batch), _CHUNK):
                rows = conn.execute(
                    select(CACHE.c.key, *columns).where(
                        CACHE.c.run == self.run, CACHE.c.key.in_(batch[start : start + _CHUNK])
                    )
                )
                found.update((r[0], CachedAnswer(*r[1:])) for r in rows)
        return found

    def write(self, outcomes: Sequence[Outcome]) -> None:
        """Commit outcomes (and successful responses to the cache) in one transaction; an
        outcome written again replaces the earlier one (a retried error)."""
        if not outcomes:
            return
        latest = {(o.model, o.sample_id): o for o in outcomes}
        results = [
            {"run": self.run, **{name: getattr(o, name) for name in _OUTCOME}}
            for o in latest.values()
        ]
        answers = [
            {"run": self.run, "key": o.cache_key, "output": o.output,
             **{name: getattr(o, name) for name in _FIGURES}}
            for o in outcomes
            if o.cache_key and o.output is not None and not o.cached
        ]  # fmt: skip
        with self.engine.begin() as conn:
            upsert = _insert(conn, RESULTS)
            replaced = {name: upsert.excluded[name] for name in _OUTCOME[2:]}
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["run", "model", "sample_id"], set_=replaced
                ),
                results,
            )
            if answers:
                conn.execute(
                    _insert(conn, CACHE).on_conflict_do_nothing(index_elements=["run", "key"]),
                    answers,
                )

    def count(self) -> int:
        """How many outcomes the run holds (every model's)."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(RESULTS).where(RESULTS.c.run == self.run)
                ).scalar_one()
            )

    def close(self) -> None:
        """Nothing to release: the engine is the caller's."""
