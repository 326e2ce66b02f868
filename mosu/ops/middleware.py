"""Every request's id, log line and metrics (ASGI middleware, the application's outermost).

A request gets an id (the caller's ``X-Request-ID`` when it is a plain token, else a new
one): it is returned in the ``X-Request-ID`` header, put on every log line written for the
request and shown on error pages, so a user can quote it and an operator find its lines.
Each request is counted under its route's template (``/api/v1/orgs/{organisation_id}``,
never the raw URL), method and status class, with its latency."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mosu.core.logs import REQUEST_ID
from mosu.core.metrics import metrics, route_template
from mosu.public_cache import ROUTE

HEADER = "x-request-id"
_GIVEN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
UNMATCHED = "<unmatched>"
log = logging.getLogger("mosu.http")


def request_id(scope: Scope) -> str:
    """The request's id: the caller's, if it looks like one, else a new random one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER.encode():
            given = str(value.decode("latin-1"))
            if _GIVEN.match(given):
                return given
    return secrets.token_hex(8)


def route_of(scope: Scope) -> str:
    """The template of the route that answered (or the cache's record of it)."""
    template = route_template(scope)
    if template:
        return template
    if scope.get(ROUTE):
        return str(scope[ROUTE])
    return "/static" if str(scope.get("path", "")).startswith("/static/") else UNMATCHED


class RequestObserver:
    """Request ids, access lines (``access_log``) and the request metrics."""

    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log
        found = metrics()
        self.requests = found.requests
        self.seconds = found.request_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        REQUEST_ID.set(rid)  # each request runs in a task of its own: no reset needed
        scope.setdefault("state", {})["request_id"] = rid
        status = 500
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != HEADER.encode()]
                message = {**message, "headers": [*headers, (HEADER.encode(), rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        except Exception:
            status = 500
            log.exception("%s %s failed", scope["method"], scope["path"])
            raise
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route, method = route_of(scope), scope["method"]
        self.requests.labels(route, method, f"{status // 100}xx").inc()
        self.seconds.labels(route, method).observe(seconds)
        if status >= 500:
            log.warning("%s %s answered %s in %.1f ms", method, route, status, seconds * 1000)
        elif self.access_log:
            log.info("%s %s %s %.1f ms", method, scope["path"], status, seconds * 1000)
