"""Turns at the database for requests (数据库排队): as many at once as the pool has
connections, so that no request waits for a connection while it holds a thread.

FastAPI runs sync dependencies and routes on AnyIO's worker threads, one hop each, and a
request's session keeps its connection from its first query until it closes. Were more
requests to use the database at once than the pool holds, threads would wait for
connections held by requests that wait for threads. The gate admits a request to the
database (when its session is made) only while a turn is free, and the request waits for a
turn on the event loop, holding neither a thread nor a connection. A quarter of the turns
(at least one) are for writes (every method but GET, HEAD and OPTIONS) and the rest for
reads, so that reads never queue behind writers waiting for SQLite's one write lock.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from mosu.core.metrics import metrics

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
THREAD_HEADROOM = 8
"""Worker threads beyond the database's turns, for sync work that needs no database
(static files, form parsing), so that a request with a turn always finds a thread."""


class DatabaseGate:
    """``connections`` turns at the database: ``writes`` for writes, the rest for reads."""

    def __init__(self, connections: int) -> None:
        if connections < 2:
            raise ValueError("the gate needs at least two connections (a read and a write)")
        self.connections = connections
        self.writes = max(1, connections // 4)
        self.reads = connections - self.writes
        self._reads = anyio.Semaphore(self.reads)
        self._writes = anyio.Semaphore(self.writes)

    @property
    def threads(self) -> int:
        """Worker threads that let every admitted request run at once."""
        return self.connections + THREAD_HEADROOM

    @asynccontextmanager
    async def turn(self, method: str) -> AsyncIterator[None]:
        """Wait for a free turn of the kind ``method`` needs; hold it until the block ends."""
        read = method in SAFE_METHODS
        semaphore = self._reads if read else self._writes
        if semaphore.value:  # a free turn: no wait to time
            async with semaphore:
                yield
            return
        started = time.perf_counter()
        async with semaphore:
            metrics().db_gate_wait_seconds.labels("read" if read else "write").observe(
                time.perf_counter() - started
            )
            yield
