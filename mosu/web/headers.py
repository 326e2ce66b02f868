"""Security headers (安全响应头) on every answer: what the browser may load and run, and
what it may keep.

* ``Content-Security-Policy``: scripts, styles, fonts, images and requests from this
  origin only; no inline script, no ``eval`` (htmx's eval-based features are off in
  ``base.html``); no framing (``frame-ancestors 'none'``), no ``<base>``, no plugins, and
  forms post only here. Styles allow ``'unsafe-inline'`` because plotly.js writes its
  chart styles as ``style`` attributes and a ``<style>`` rule set; inline styles cannot
  run code.
* ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY`` (for browsers that
  predate ``frame-ancestors``).
* ``Referrer-Policy: same-origin``: links to other sites do not carry the page's address.
* ``Cache-Control: no-store`` on answers to signed-in requests (a session cookie or an
  ``Authorization`` header) and on answers that set a cookie: what a role sees is never
  kept by a browser or a shared cache. Static assets are the same for everyone and keep
  their own caching. Anonymous answers are left to :mod:`mosu.public_cache`.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mosu.deps import carries_credentials

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    )
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
NO_STORE = "no-store"
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = carries_credentials(Headers(scope=scope)) and not scope["path"].startswith(
            STATIC_PREFIX
        )

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if private or "set-cookie" in headers:
                    headers["cache-control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, add_headers)


__all__ = ["CONTENT_SECURITY_POLICY", "SecurityHeaders"]
