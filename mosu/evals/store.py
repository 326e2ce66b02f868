"""The durable run store: one SQLite file (WAL) per run, one row per finished sample.

Rows are written in short batches (every 20 ms) by a writer thread and committed at once; a
committed row survives ``kill -9``. Resuming reads the finished rows and sends only the
rest. The response cache (key: sha256 of endpoint, model, parameters and full prompt)
lives in the same file, or in a shared cache file attached beside it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mosu.evals.errors import EvalError
from mosu.evals.prompts import Message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    model TEXT NOT NULL, sample_id TEXT NOT NULL, output TEXT, error TEXT,
    attempts INTEGER NOT NULL, cached INTEGER NOT NULL, latency REAL NOT NULL,
    PRIMARY KEY (model, sample_id)
) WITHOUT ROWID;
"""
_CACHE = "CREATE TABLE IF NOT EXISTS {db}.cache (key TEXT PRIMARY KEY, output TEXT NOT NULL) WITHOUT ROWID"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one sample ended for one model: its raw output, or the error that stopped it."""

    model: str
    sample_id: str
    output: str | None
    error: str | None
    attempts: int
    cached: bool = False
    latency: float = 0.0
    cache_key: str | None = None


def cache_key(identity: str, messages: Sequence[Message], epoch: int = 0) -> str:
    """The response-cache key of a request: endpoint, model, parameters and full prompt;
    each repeat (epoch) after the first has keys of its own, so that it is asked again."""
    payload = identity + "\x00" + json.dumps(messages, ensure_ascii=False, sort_keys=True)
    if epoch:
        payload += f"\x00epoch {epoch}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def epoch_id(sample_id: str, epoch: int) -> str:
    """The id under which a sample's answer in ``epoch`` (0, 1, …) is stored: the sample's
    own id for the first, ``ID#2`` for the third; so a one-epoch run is the first epoch of
    a longer one."""
    return f"{sample_id}#{epoch}" if epoch else sample_id


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class RunStore:
    """A run's SQLite file; ``cache_path`` puts the response cache in a shared file."""

    def __init__(self, path: Path, *, cache_path: Path | None = None) -> None:
        self.path = path
        self._conn = _connect(path)
        self._conn.executescript(_SCHEMA)
        self._cache = "main.cache"
        if cache_path is not None and cache_path.resolve() != path.resolve():
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            self._conn.execute("ATTACH DATABASE ? AS shared", (str(cache_path),))
            self._conn.execute("PRAGMA shared.journal_mode=WAL")
            self._cache = "shared.cache"
        self._conn.execute(_CACHE.format(db=self._cache.split(".")[0]))

    def bind(self, key: str, value: str, *, what: str) -> None:
        """Record ``key = value`` on first use; refuse a different value later (a resumed run
        must be the same task and the same models)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta VALUES (?, ?)", (key, value))
        elif row[0] != value:
            raise EvalError(
                f"{self.path} holds a run with a different {what}; use a new output folder"
            )

    def finished(self, model: str) -> dict[str, Outcome]:
        """The model's finished samples (answered or erred) by sample id."""
        rows = self._conn.execute(
            "SELECT sample_id, output, error, attempts, cached, latency FROM results WHERE model = ?",
            (model,),
        )
        return {r[0]: Outcome(model, r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows}

    def models(self) -> list[str]:
        return [
            r[0] for r in self._conn.execute("SELECT DISTINCT model FROM results ORDER BY model")
        ]

    def cached(self, keys: Iterable[str]) -> dict[str, str]:
        """Cached outputs for ``keys``."""
        found: dict[str, str] = {}
        batch = list(keys)
        for start in range(0, len(batch), 500):
            chunk = batch[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key, output FROM {self._cache} WHERE key IN ({marks})", chunk
            )
            found.update(rows)
        return found

    def write(self, outcomes: Sequence[Outcome]) -> None:
        """Commit outcomes (and successful responses to the cache) in one transaction."""
        if not outcomes:
            return
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (o.model, o.sample_id, o.output, o.error, o.attempts, int(o.cached), o.latency)
                    for o in outcomes
                ],
            )
            conn.executemany(
                f"INSERT OR IGNORE INTO {self._cache} VALUES (?, ?)",
                [
                    (o.cache_key, o.output)
                    for o in outcomes
                    if o.cache_key and o.output is not None and not o.cached
                ],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
