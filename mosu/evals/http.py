"""A lean HTTP/1.1 client for JSON APIs: one keep-alive connection pool per endpoint.

The engine sends thousands of small identical-shaped POSTs; a general client (httpx) spends
about a millisecond of CPU on each, this one a small fraction of that. It speaks plain
HTTP/1.1 over TCP or TLS, with ``Content-Length`` or chunked responses, and nothing else
(no redirects, no compression, no HTTP/2): what an OpenAI-compatible endpoint needs.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit


class TransportError(Exception):
    """The connection failed, closed early or answered something that is not HTTP."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def _parse_chunked(buf: bytearray) -> tuple[bytes, int] | None:
    """A complete chunked body at the start of ``buf`` and its length, or ``None`` if partial."""
    pos, parts = 0, list[bytes]()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        start = eol + 2
        if size == 0:
            trailer = buf.find(b"\r\n", start)
            return (b"".join(parts), trailer + 2) if trailer >= 0 else None
        if len(buf) < start + size + 2:
            return None
        parts.append(bytes(buf[start : start + size]))
        pos = start + size + 2


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses a response as its bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[HttpResponse] | None = None
        self.closed = False
        self.keep = True
        self._head: tuple[int, dict[str, str]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if (
                self._head is not None
                and self._head[1].get("connection") == "close"
                and "content-length" not in self._head[1]
            ):
                waiter.set_result(HttpResponse(self._head[0], self._head[1], bytes(self.buffer)))
            else:
                waiter.set_exception(TransportError("connection closed before a full response"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            response = self._parse()
        except (ValueError, IndexError):
            waiter.set_exception(TransportError("response is not valid HTTP/1.1"))
            self.close()
            return
        if response is not None:
            self.waiter = None
            waiter.set_result(response)

    def _parse(self) -> HttpResponse | None:
        buf = self.buffer
        if self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return None
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            version, status, *_ = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            del buf[: end + 4]
            self.keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            if (
                "content-length" not in headers
                and headers.get("transfer-encoding", "").lower() != "chunked"
            ):
                headers["connection"] = "close"
                self.keep = False
            self._head = (int(status), headers)
        status_code, headers = self._head
        if "content-length" in headers:
            size = int(headers["content-length"])
            if len(buf) < size:
                return None
            body = bytes(buf[:size])
            del buf[:size]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parsed = _parse_chunked(buf)
            if parsed is None:
                return None
            body, used = parsed
            del buf[:used]
        else:
            return None
        self._head = None
        return HttpResponse(status_code, headers, body)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ConnectionPool:
    """Keep-alive connections to one origin, at most ``max_connections`` open at once."""

    def __init__(self, base_url: str, *, max_connections: int = 64) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.host_header = parts.netloc.rsplit("@", 1)[-1]
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(max_connections)
        self._ssl = ssl.create_default_context() if self.tls else None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Connection, self.host, self.port, ssl=self._ssl)
        except OSError as exc:
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
        return conn

    async def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> HttpResponse:
        """POST ``body`` to ``prefix + path``; raises :class:`TransportError` on a broken exchange."""
        head = [
            f"POST {self.prefix}{path} HTTP/1.1",
            f"Host: {self.host_header}",
            "Content-Type: application/json",
            "Accept-Encoding: identity",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        async with self._slots:
            conn = None
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    break
                conn = None
            if conn is None:
                conn = await self._connect()
            waiter: asyncio.Future[HttpResponse] = asyncio.get_running_loop().create_future()
            conn.waiter = waiter
            conn.buffer.clear()
            assert conn.transport is not None
            conn.transport.write(request)
            try:
                response = await waiter
            except BaseException:
                conn.close()
                raise
            if conn.keep and not conn.closed:
                self._idle.append(conn)
            else:
                conn.close()
            return response

    async def aclose(self) -> None:
        """Close idle connections."""
        while self._idle:
            self._idle.pop().close()
