"""The size of every request body, decided in one place before any route reads it.

:class:`BodyLimit` is ASGI middleware in front of the whole application: a request that
carries credentials (an ``Authorization`` header or a session cookie; the route still
checks them) may send ``MOSU_MAX_UPLOAD_MB``, any other :data:`ANONYMOUS_LIMIT`. A
``Content-Length`` over the limit is answered 413 before a byte of the body is read; a
chunked body is counted as it arrives and refused the moment it passes the limit, before
a JSON or multipart parser has kept or spooled more than the limit.
"""

from __future__ import annotations

import inspect

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mosu.core.errors import Error, MosuError
from mosu.deps import carries_credentials

MIB = 1024 * 1024
ANONYMOUS_LIMIT = 64 * 1024
"""Bytes of body a request without credentials may send (a login, a search form)."""
DRAIN_FACTOR = 4
"""A body up to this many times the limit is read to its end before the 413 is sent, so
that ordinary clients, which send the whole body before reading, see the answer; a larger
one is cut off (the connection closes)."""


class TooLarge(MosuError):
    status = 413
    code = "too_large"


TOO_LARGE = Error(
    "uploads.too_large", TooLarge, "请求体超过 {max_upload_mb} MiB 上限（MOSU_MAX_UPLOAD_MB）"
)
TOO_LARGE_ANONYMOUS = Error(
    "uploads.too_large_anonymous", TooLarge, "未登录的请求体最多 {kib} KiB，请先登录"
)


def too_large(signed_in: bool, max_upload_mb: int) -> MosuError:
    """The 413 naming the limit that applies."""
    if signed_in:
        return TOO_LARGE(max_upload_mb=max_upload_mb)
    return TOO_LARGE_ANONYMOUS(kib=ANONYMOUS_LIMIT // 1024)


async def _drain(receive: Receive, seen: int, cap: int) -> None:
    """Read and discard the rest of the body, up to ``cap`` bytes in all."""
    more = True
    while more and seen <= cap:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        more = message.get("more_body", False)


class BodyLimit:
    """ASGI middleware: the 413 for a body over the limit of its sender (see the module);
    ``MOSU_MAX_UPLOAD_MB`` is read from the application's settings at each request, and
    the 413 is answered by the application's own handler of :class:`MosuError` (JSON for
    the API, an error page for pages)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        signed_in = carries_credentials(headers)
        max_upload_mb: int = scope["app"].state.settings.max_upload_mb
        limit = max_upload_mb * MIB if signed_in else ANONYMOUS_LIMIT
        error = too_large(signed_in, max_upload_mb)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            if int(declared) <= DRAIN_FACTOR * limit:
                await _drain(receive, 0, DRAIN_FACTOR * limit)
            await self._answer(scope, receive, send, error)
            return

        received = 0
        over = started = False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                raise error
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    if message.get("more_body", False):
                        await _drain(receive, received, DRAIN_FACTOR * limit)
                    raise error
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # whatever the route made of the cut-off body; the 413 follows
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except TooLarge:
            if not over:
                raise
        if over and not started:
            await self._answer(scope, receive, send, error)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, error: MosuError) -> None:
        handler = scope["app"].exception_handlers.get(MosuError)
        if handler is None:
            body = {"error": {"code": error.code, "message": error.message}}
            response: Response = JSONResponse(body, status_code=413)
        else:
            answer = handler(Request(scope, receive), error)
            response = await answer if inspect.isawaitable(answer) else answer
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
