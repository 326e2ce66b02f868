"""Size-limited request bodies for every upload route (one place decides the 413)."""

from __future__ import annotations

from fastapi import Request
from starlette.types import Message

from mosu.errors import MosuError

DRAIN_FACTOR = 4
"""A body up to this many times the limit is read to its end before the 413 is sent, so
that ordinary clients see the answer; a larger one is cut off."""


class TooLarge(MosuError):
    status = 413
    code = "too_large"


async def _drain(request: Request, seen: int, cap: int) -> None:
    """Read and discard the rest of the body, up to ``cap`` bytes in all."""
    more = True
    while more and seen <= cap:
        message = await request.receive()
        seen += len(message.get("body", b""))
        more = message.get("more_body", False)


async def limited(request: Request, *, max_mb: int) -> Request:
    """``request`` with a body that raises :class:`TooLarge` once past ``max_mb`` MiB.

    A ``Content-Length`` over the limit is refused before any of the body is parsed; a
    chunked body is counted as it arrives.
    """
    limit = max_mb * 1024 * 1024
    too_large = TooLarge(f"文件超过 {max_mb} MB 上限 / upload over {max_mb} MB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        if int(declared) <= DRAIN_FACTOR * limit:
            await _drain(request, 0, DRAIN_FACTOR * limit)
        raise too_large
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            if message.get("more_body", False):
                await _drain(request, received, DRAIN_FACTOR * limit)
            raise too_large
        return message

    return Request(request.scope, receive)
