"""SQLite's one writer, queued inside the process (SQLite 写锁排队).

SQLite in WAL mode lets readers go on beside a writer but admits one write transaction at a
time. A connection that finds the write lock taken sleeps and retries (``busy_timeout``),
with growing sleeps and no order, so that under many concurrent writers some give up with
``database is locked``. Within one process this module makes writers take turns instead:
every connection of a file shares one lock, taken before the statement that opens a write
transaction (the ``INSERT``, ``UPDATE``, ``DELETE`` or ``REPLACE`` before which Python's
``sqlite3`` issues ``BEGIN``; or an explicit ``BEGIN IMMEDIATE``) and released once the
transaction ends. A waiting writer blocks on the lock and wakes as soon as it is free;
readers never touch it. Other processes (``mosu worker``) still meet the busy timeout.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterable
from typing import Any, Self

WAIT_SECONDS = 30.0
"""How long a writer waits for its turn before ``database is locked`` (then a 503)."""
_OPENS_WRITE = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|BEGIN\s+(IMMEDIATE|EXCLUSIVE))\b", re.I
)
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def writer_lock(database: str) -> threading.Lock:
    """The process's one lock for writers to the SQLite file ``database``."""
    if database != ":memory:" and not database.startswith("file:"):
        database = os.path.realpath(database)
    with _locks_guard:
        return _locks.setdefault(database, threading.Lock())


class WriterQueuedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection whose write transactions take turns with the process's other
    connections to the same file (pass as ``factory`` to :func:`sqlite3.connect`)."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._writer_lock = writer_lock(str(database))
        self._writing = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or WriterQueuedCursor)

    def wait_turn(self, statement: str) -> None:
        """Take the writer lock before ``statement`` if it opens a write transaction."""
        if self._writing or self.in_transaction or not _OPENS_WRITE.match(statement):
            return
        if not self._writer_lock.acquire(timeout=WAIT_SECONDS):
            raise sqlite3.OperationalError("database is locked")
        self._writing = True

    def end_turn(self) -> None:
        """Release the writer lock unless a transaction is still open."""
        if self._writing and not self.in_transaction:
            self._writing = False
            self._writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._writing:
                self._writing = False
                self._writer_lock.release()


class WriterQueuedCursor(sqlite3.Cursor):
    """A cursor that waits for its connection's turn before a statement that writes."""

    connection: WriterQueuedConnection

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        self.connection.wait_turn(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection.end_turn()  # a statement that failed to begin holds nothing

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> Self:
        self.connection.wait_turn(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection.end_turn()
