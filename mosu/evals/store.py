"""The durable run store: one SQLite file (WAL) per run, one row per finished sample.

Rows are written in short batches (every 20 ms) by a writer thread and committed at once; a
committed row survives ``kill -9``. Resuming reads the finished rows and sends only the
rest. A row keeps the raw answer, the latency of the attempt that gave it, the seconds to
its first token (streamed answers), the tokens the endpoint's ``usage`` counted, its finish
reason and the hash of the rendered prompt, which :meth:`RunStore.prompt` turns back into
the messages sent. The response cache (key: sha256 of endpoint, model, parameters and full
prompt) lives in the same file, or in a shared cache file attached beside it; it keeps the
same figures, so a reused answer is reported as it was measured.

:class:`Store` is the interface a race writes through: :class:`RunStore` is the local file
(the CLI's), and the platform keeps the same rows in its database, where a worker on
another machine resumes the race (``mosu.jobs.run_store``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mosu.evals.errors import EvalError
from mosu.evals.prompts import Message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    model TEXT NOT NULL, sample_id TEXT NOT NULL, output TEXT, error TEXT,
    attempts INTEGER NOT NULL, cached INTEGER NOT NULL, latency REAL NOT NULL,
    PRIMARY KEY (model, sample_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS prompts (hash TEXT PRIMARY KEY, messages TEXT NOT NULL) WITHOUT ROWID;
"""
_CACHE = "CREATE TABLE IF NOT EXISTS {db}.cache (key TEXT PRIMARY KEY, output TEXT NOT NULL) WITHOUT ROWID"
# columns added after the first stores were written: (table, column, type)
_FIGURES = (
    ("ttft", "REAL"),
    ("prompt_tokens", "INTEGER"),
    ("completion_tokens", "INTEGER"),
    ("finish_reason", "TEXT"),
)
_ADDED = (
    *(("results", name, kind) for name, kind in _FIGURES),
    ("results", "prompt_hash", "TEXT"),
    ("results", "method", "TEXT"),
    ("cache", "method", "TEXT"),
    ("cache", "latency", "REAL"),
    *(("cache", name, kind) for name, kind in _FIGURES),
)
_RESULT_COLUMNS = (
    "model, sample_id, output, error, attempts, cached, latency, ttft, prompt_tokens, "
    "completion_tokens, finish_reason, prompt_hash, method"
)
_CACHE_COLUMNS = "output, latency, ttft, prompt_tokens, completion_tokens, finish_reason, method"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one sample ended for one model: its raw output, or the error that stopped it,
    with what the endpoint said of the answer (``None`` where it said nothing)."""

    model: str
    sample_id: str
    output: str | None
    error: str | None
    attempts: int
    cached: bool = False
    latency: float = 0.0
    cache_key: str | None = None
    ttft: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    prompt_hash: str | None = None
    method: str | None = None  # logprobs or generate, for a choice read by logprobs

    @property
    def truncated(self) -> bool:
        """Cut at ``max_tokens``: the answer may have stopped before it was given."""
        return self.finish_reason == "length"


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """A cached response with the figures measured when it was made."""

    output: str
    latency: float | None
    ttft: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    method: str | None

    def outcome(self, model: str, sample_id: str, prompt_hash: str | None) -> Outcome:
        return Outcome(
            model, sample_id, self.output, None, 0, True, self.latency or 0.0, None, self.ttft,
            self.prompt_tokens, self.completion_tokens, self.finish_reason, prompt_hash,
            self.method,
        )  # fmt: skip


def _outcome(r: Sequence[Any]) -> Outcome:
    """An outcome from a row of :data:`_RESULT_COLUMNS`."""
    return Outcome(
        r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], None,
        ttft=r[7], prompt_tokens=r[8], completion_tokens=r[9], finish_reason=r[10],
        prompt_hash=r[11], method=r[12],
    )  # fmt: skip


def serialise(messages: Sequence[Message]) -> str:
    """A rendered prompt as the store keeps it and its hashes read it: JSON, keys sorted.
    A race serialises each prompt once, for every model's cache key and for its hash.

    An image sent as a data URL is kept as ``sha256:<hex of its bytes>``: the hash still
    covers every byte of the image, and a store (or the platform's database) does not hold
    a third more than the images themselves for every prompt."""
    if any(not isinstance(m.get("content"), str) for m in messages):
        messages = [_compact(m) for m in messages]
    return json.dumps(messages, ensure_ascii=False, sort_keys=True)


def _compact(message: Message) -> Message:
    content = message.get("content")
    if isinstance(content, str) or not isinstance(content, list):
        return message
    parts = []
    for part in content:
        url = part.get("image_url", {}).get("url", "") if isinstance(part, dict) else ""
        if isinstance(url, str) and url.startswith("data:") and "," in url:
            data = base64.b64decode(url.split(",", 1)[1])
            url = f"sha256:{hashlib.sha256(data).hexdigest()}"
            part = {**part, "image_url": {**part["image_url"], "url": url}}
        parts.append(part)
    return {**message, "content": parts}


def prompt_hash(prompt: str) -> str:
    """The hash a stored outcome names its rendered prompt by (of :func:`serialise`'s text)."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def cache_key(identity: str, prompt: str, epoch: int = 0) -> str:
    """The response-cache key of a request: endpoint, model, parameters and full prompt
    (:func:`serialise`'s text); each repeat (epoch) after the first has keys of its own, so
    that it is asked again."""
    payload = identity + "\x00" + prompt
    if epoch:
        payload += f"\x00epoch {epoch}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def epoch_id(sample_id: str, epoch: int) -> str:
    """The id under which a sample's answer in ``epoch`` (0, 1, …) is stored: the sample's
    own id for the first, ``ID#2`` for the third; so a one-epoch run is the first epoch of
    a longer one."""
    return f"{sample_id}#{epoch}" if epoch else sample_id


class Store(Protocol):
    """Where a race keeps its finished samples, rendered prompts and response cache, and
    what it is bound to; :meth:`write` commits a batch at once (a committed outcome is
    never asked again)."""

    def bind(self, key: str, value: str, *, what: str) -> None: ...
    def finished(self, model: str) -> dict[str, Outcome]: ...
    def remember_prompts(self, prompts: Iterable[tuple[str, str]]) -> None: ...
    def prompt(self, hash_: str) -> list[Message] | None: ...
    def models(self) -> list[str]: ...
    def has_cached(self) -> bool: ...
    def cached(self, keys: Iterable[str]) -> dict[str, CachedAnswer]: ...
    def write(self, outcomes: Sequence[Outcome]) -> None: ...
    def close(self) -> None: ...


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
        self._add_columns()

    def _add_columns(self) -> None:
        """Bring a store written by an earlier version up to the current columns."""
        for table, column, kind in _ADDED:
            name = self._cache if table == "cache" else f"main.{table}"
            schema, _, bare = name.partition(".")
            have = {r[1] for r in self._conn.execute(f"PRAGMA {schema}.table_info({bare})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {name} ADD COLUMN {column} {kind}")

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
            f"SELECT {_RESULT_COLUMNS} FROM results WHERE model = ?", (model,)
        )
        return {r[1]: _outcome(r) for r in rows}

    def remember_prompts(self, prompts: Iterable[tuple[str, str]]) -> None:
        """Keep each rendered prompt (hash, :func:`serialise`'s text) once, by its hash."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.executemany(
                "INSERT OR IGNORE INTO prompts VALUES (?, ?)",
                prompts,
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def prompt(self, hash_: str) -> list[Message] | None:
        """The rendered prompt a stored outcome names, if this store kept it."""
        row = self._conn.execute("SELECT messages FROM prompts WHERE hash = ?", (hash_,)).fetchone()
        return json.loads(row[0]) if row else None

    def prompts(self) -> list[tuple[str, str]]:
        """Every rendered prompt the store kept: (hash, :func:`serialise`'s text)."""
        return [(r[0], r[1]) for r in self._conn.execute("SELECT hash, messages FROM prompts")]

    def models(self) -> list[str]:
        return [
            r[0] for r in self._conn.execute("SELECT DISTINCT model FROM results ORDER BY model")
        ]

    def has_cached(self) -> bool:
        """Whether the response cache holds any answer (if not, no key need be computed)."""
        return self._conn.execute(f"SELECT 1 FROM {self._cache} LIMIT 1").fetchone() is not None

    def cached(self, keys: Iterable[str]) -> dict[str, CachedAnswer]:
        """Cached answers for ``keys``."""
        found: dict[str, CachedAnswer] = {}
        batch = list(keys)
        for start in range(0, len(batch), 500):
            chunk = batch[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key, {_CACHE_COLUMNS} FROM {self._cache} WHERE key IN ({marks})", chunk
            )
            found.update((r[0], CachedAnswer(*r[1:])) for r in rows)
        return found

    def write(self, outcomes: Sequence[Outcome]) -> None:
        """Commit outcomes (and successful responses to the cache) in one transaction."""
        if not outcomes:
            return
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.executemany(
                f"INSERT OR REPLACE INTO results ({_RESULT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (o.model, o.sample_id, o.output, o.error, o.attempts, int(o.cached),
                     o.latency, o.ttft, o.prompt_tokens, o.completion_tokens, o.finish_reason,
                     o.prompt_hash, o.method)
                    for o in outcomes
                ],
            )  # fmt: skip
            conn.executemany(
                f"INSERT OR IGNORE INTO {self._cache} (key, {_CACHE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (o.cache_key, o.output, o.latency, o.ttft, o.prompt_tokens,
                     o.completion_tokens, o.finish_reason, o.method)
                    for o in outcomes
                    if o.cache_key and o.output is not None and not o.cached
                ],
            )  # fmt: skip
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
