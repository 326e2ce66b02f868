"""A micro-cache of the public's pages (公开页面微缓存): the way a site micro-caches public
pages behind nginx, inside each web process.

Under load, most requests to the ecosystem's lists, the public challenge pages and the
public leaderboards come from anonymous visitors who all see the same thing. A route marks
its answer as the same for every anonymous visitor with the ``PUBLIC_CACHE`` dependency;
the ``PublicCache`` middleware (outermost in the application) then keeps that answer for
``MOSU_PUBLIC_CACHE_SECONDS`` and serves it to the next anonymous visitors asking for the
same thing, without reaching FastAPI, the database or Jinja.

What is safe, and why:

* Only GETs that carry no credentials take part: a request with an ``Authorization``
  header or a ``mosu_session`` cookie always goes to the application, and its answer is
  never stored. So no signed-in role ever sees a cached body, and the stored body is what
  every anonymous visitor would be shown anyway.
* Only answers of marked routes, with status 200, that set no cookie are stored.
* The key is the method, host, scheme, path and query, the visitor's language (the ``lang``
  cookie, as pages choose it, and the first of ``Accept-Language`` mosu has, as the API
  does), the HTMX headers that make a page answer with a fragment, and
  whether the client accepts gzip: compression (:mod:`mosu.web.compression`) runs inside the
  cache, so a page is compressed once per entry, not once per request.
* One render per key at a time ("single flight"): concurrent anonymous requests for a key
  that is not stored wait for the first one's answer instead of each rendering it.
* A signed-in write (any method but GET, HEAD or OPTIONS) through this process that is not
  refused (4xx) clears the cache when it ends, and an answer rendered meanwhile is not kept,
  so a change made here shows at once; changes made by other processes show within the
  TTL. Anonymous or refused writes change nothing the public sees, and leave the cache be.

Stored answers carry an ``ETag``; an ``If-None-Match`` that names it gets a 304.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache
from fastapi import Depends, Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mosu import i18n
from mosu.core.gate import SAFE_METHODS
from mosu.core.metrics import metrics, route_template
from mosu.deps import accepted_language, carries_credentials

MARK = "mosu.public_cache"
"""The scope key a marked route sets (through ``PUBLIC_CACHE``) for the middleware."""
MAX_BYTES = 64 * 1024 * 1024
"""What one process keeps at most (bodies, and about 1 KiB per key); the least recently used
answers go first."""
MAX_BODY_BYTES = 4 * 1024 * 1024
ROUTE = "mosu.route"
"""The scope key under which an answer served from the cache names its route's template."""
STATUS_HEADER = "x-mosu-cache"
"""``hit`` or ``miss`` on every answer the cache served or stored."""


async def public_cache(request: Request) -> None:
    """Declare that this route answers every anonymous visitor alike (given the path, the
    query, the language and the HTMX headers), so the public's answer may be micro-cached.
    Signed-in visitors are never served from the cache whatever a route declares. (Async:
    FastAPI runs a plain function dependency on a worker thread, a hop this need not pay.)"""
    request.scope[MARK] = True


PUBLIC_CACHE = Depends(public_cache)


@dataclass(frozen=True)
class Stored:
    """An answer kept for the public: its headers (with ``ETag``) and body."""

    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes
    route: str = ""
    """The route's template, for the request metrics of the answers served from here."""


PASS = None
"""Stored for a key whose answer may not be cached: its next requests go straight through."""
Key = tuple[bytes, ...]


def _size(stored: Stored | None) -> int:
    return 1024 + (len(stored.body) if stored is not None else 0)


def new_store(seconds: float, timer: Callable[[], float]) -> TTLCache[Key, Stored | None]:
    """Answers kept for ``seconds`` by ``timer``, at most ``MAX_BYTES`` of them."""
    return TTLCache(maxsize=MAX_BYTES, ttl=seconds or 1.0, timer=timer, getsizeof=_size)


FLASH_COOKIE = "mosu_flash"
"""A page read with a flash message waiting (:mod:`mosu.web.flash`) is rendered for its reader."""


def _anonymous(headers: Headers) -> str | None:
    """The visitor's language when the request carries no credentials (nor a flash message
    to show), else ``None``."""
    if carries_credentials(headers):
        return None
    cookies = cookie_parser(headers.get("cookie", ""))
    if FLASH_COOKIE in cookies:
        return None
    return cookies.get(i18n.LANG_COOKIE) or ""


class PublicCache:
    """ASGI middleware: the micro-cache of marked routes' answers to anonymous GETs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        seconds: float,
        default_language: i18n.Language = "zh",
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.default_language = default_language
        self.entries = new_store(seconds, timer)
        self.in_flight: dict[Key, asyncio.Event] = {}
        self.writes = 0
        """Writes seen; an answer rendered while one went through is not kept."""
        self.renders = 0
        """How many answers of marked routes were rendered and stored (for tests)."""
        self.hits = metrics().public_cache.labels("hit")
        self.misses = metrics().public_cache.labels("miss")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        lang = _anonymous(headers)
        if scope["method"] not in SAFE_METHODS:
            await self._write(scope, receive, send, signed_in=lang is None)
            return
        if scope["method"] != "GET" or lang is None:
            await self.app(scope, receive, send)
            return
        key = self._key(scope, headers, lang)
        while True:
            try:
                stored = self.entries[key]
            except KeyError:
                pass
            else:
                if stored is PASS:
                    await self.app(scope, receive, send)
                else:
                    scope[ROUTE] = stored.route
                    await self._serve(stored, headers, send, hit=True)
                return
            waiting = self.in_flight.get(key)
            if waiting is None:
                break
            await waiting.wait()  # the first request's answer is stored (or PASS) by now
        self.in_flight[key] = done = asyncio.Event()
        try:
            await self._render(key, scope, receive, send, headers)
        finally:
            del self.in_flight[key]
            done.set()

    async def _write(self, scope: Scope, receive: Receive, send: Send, *, signed_in: bool) -> None:
        """Pass a write through; forget every answer once it has succeeded. Only signed-in
        writes can change what the public sees (every route that changes data requires a
        role), and one refused (4xx) changed nothing, so neither an anonymous nor a refused
        request can empty the cache: a stream of them costs no renders."""
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if signed_in and not 400 <= status < 500:
                self._forget()  # also what was rendered while the write went on

    def _forget(self) -> None:
        self.writes += 1
        self.entries.clear()

    def _key(self, scope: Scope, headers: Headers, lang: str) -> Key:
        return (
            scope["method"].encode(),
            scope["scheme"].encode(),
            headers.get("host", "").encode(),
            scope.get("raw_path") or scope["path"].encode(),
            scope["query_string"],
            i18n.normalise(lang, self.default_language).encode(),
            # the API answers in Accept-Language's language when there is no cookie
            (accepted_language(headers.get("accept-language", "")) or "").encode(),
            headers.get("hx-request", "").encode(),
            headers.get("hx-history-restore-request", "").encode(),
            # gzipped or not (mosu.web.compression runs inside: the body kept is the one sent)
            b"gzip" if "gzip" in headers.get("accept-encoding", "") else b"",
        )

    async def _render(
        self, key: Key, scope: Scope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        """Run the application; keep its answer when the route marked it and it may be kept,
        else pass the answer through unchanged and remember to pass this key through."""
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        writes = self.writes

        async def capture(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                kept = scope.get(MARK) is True and message["status"] == 200
                if kept and "set-cookie" not in Headers(raw=message.get("headers", [])):
                    start = message
                    return
                self.entries[key] = PASS
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size <= MAX_BODY_BYTES:
                    return  # held, and sent from the store once complete
                self.entries[key] = PASS  # too large to keep: send what was held, go on
                held = {"type": "http.response.body", "body": b"".join(chunks)}
                await send(start)
                await send({**held, "more_body": message.get("more_body", False)})
                start = None
                chunks.clear()
                return
            await send(message)

        await self.app(scope, receive, capture)
        if start is None:
            return
        body = b"".join(chunks)
        etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
        kept_headers = MutableHeaders(raw=list(start.get("headers", [])))
        kept_headers["etag"] = etag.decode()
        vary = [v.strip() for v in kept_headers.get("vary", "").split(",") if v.strip()]
        lower = {v.lower() for v in vary}
        vary += [v for v in ("Cookie", "Authorization") if v.lower() not in lower]
        kept_headers["vary"] = ", ".join(vary)
        route = route_template(scope) or ""
        stored = Stored(headers=kept_headers.raw, body=body, etag=etag, route=route)
        if writes == self.writes:  # else a write went through while this was rendered
            self.entries[key] = stored
            self.renders += 1
        await self._serve(stored, request_headers, send, hit=False)

    async def _serve(
        self, stored: Stored, request_headers: Headers, send: Send, *, hit: bool
    ) -> None:
        state = (STATUS_HEADER.encode(), b"hit" if hit else b"miss")
        (self.hits if hit else self.misses).inc()
        wanted = request_headers.get("if-none-match")
        if wanted is not None and (
            wanted.strip() == "*" or stored.etag.decode() in [t.strip() for t in wanted.split(",")]
        ):
            kept = [(k, v) for k, v in stored.headers if k in (b"etag", b"vary")]
            await send({"type": "http.response.start", "status": 304, "headers": [*kept, state]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [*stored.headers, state]}
        )
        await send({"type": "http.response.body", "body": stored.body})
