"""CPU per static-file answer: mosu's in-memory assets against Starlette's ``StaticFiles``
(a script, not a test).

Drives each ASGI app directly (no socket, no server: what is measured is the app's own work)
with ``--requests`` GETs of ``mosu.css`` and of the plotly bundle, plain and gzipped, and
prints the CPU time (``time.process_time``, which a loaded machine does not inflate the way
it does wall-clock time) per request and the ratio to ``StaticFiles``, the way mosu served
``/static/`` before (a thread-pool hop, a ``stat`` and a file read per request, no
compression). The floor is an app that answers the same bytes from a variable: two ASGI
messages and nothing else.

    python bench/static_files.py
    python bench/static_files.py --requests 20000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.table import Table
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mosu.web.assets import STATIC_DIR, StaticAssets, assets

console = Console(width=120)
FILES = ("mosu.css", "vendor/plotly-cartesian.min.js")


def floor_app(body: bytes) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def scope_for(path: str, gzip: bool) -> Scope:
    headers = [(b"host", b"bench"), (b"accept-encoding", b"gzip" if gzip else b"identity")]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "/static",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
    }


async def cpu_per_request(app: ASGIApp, scope: Scope, requests: int) -> tuple[float, int]:
    """Microseconds of CPU per request, and the bytes of the last body."""
    sent = 0

    async def receive() -> Message:
        await asyncio.Event().wait()  # no disconnect: a response listening for one waits
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal sent
        if message["type"] == "http.response.body":
            sent += len(message.get("body", b""))

    call: Callable[[], Awaitable[None]] = lambda: app(dict(scope), receive, send)  # noqa: E731
    for _ in range(50):  # warm-up: the gzip made once, the file cache filled
        await call()
    start = time.process_time()
    for _ in range(requests):
        sent = 0
        await call()
    return (time.process_time() - start) / requests * 1e6, sent


async def run(requests: int) -> None:
    ours = StaticAssets(assets())
    theirs = StaticFiles(directory=STATIC_DIR)
    table = Table(title=f"CPU per static answer, {requests:,} requests each (µs)")
    for column in ("file", "encoding", "floor", "mosu", "StaticFiles", "StaticFiles / mosu"):
        table.add_column(column, justify="right")
    for name in FILES:
        asset = assets().by_name[name]
        for gzip in (False, True):
            path = f"/static/{asset.fingerprinted}"
            floor, _ = await cpu_per_request(floor_app(asset.body), scope_for(path, gzip), requests)
            mosu, size = await cpu_per_request(ours, scope_for(path, gzip), requests)
            plain = scope_for(f"/static/{name}", gzip)
            starlette, their_size = await cpu_per_request(theirs, plain, max(requests // 10, 100))
            table.add_row(
                name,
                f"{'gzip' if gzip else 'identity'} ({size:,} B vs {their_size:,} B)",
                f"{floor:.1f}",
                f"{mosu:.1f}",
                f"{starlette:.1f}",
                f"{starlette / mosu:.1f}×",
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(run(parser.parse_args().requests))


if __name__ == "__main__":
    main()
