"""Flash messages (操作提示): a message after every action, shown once on the next page.

A page route that acts (a POST answered by a 303 redirect) says what happened with
:func:`flash`; :class:`FlashMiddleware` writes it to a short-lived signed cookie on the
redirect, and :func:`take` reads it back on the next full page (in the reader's language)
and asks that page's answer to drop the cookie, so it shows once. A POST that redirects
without a message of its own gets :data:`DONE`, so no action passes in silence.

The cookie is signed with the site's secret key: a message comes from this site only. The
text is a catalogued Chinese string, shown with :func:`mosu.i18n.render` (``{name}`` fields
filled from its parameters).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mosu import i18n
from mosu.core.settings import Settings
from mosu.core.text import Text
from mosu.i18n import N_
from mosu.public_cache import FLASH_COOKIE

COOKIE_SECONDS = 120
STATE_KEY = "mosu_flash"
DONE = N_("操作已完成")
Level = Literal["success", "error", "info"]
QUIET_PATHS = ("/login", "/logout", "/lang/", "/api/")
"""POSTs whose redirect needs no generic message (signing in and out, the API)."""


@dataclass(frozen=True)
class Flash:
    """A message as the reader sees it, with its level (``success``, ``error``, ``info``)."""

    text: str
    level: str


def flash(request: Request, message: str, *, level: Level = "success", **params: object) -> None:
    """Show ``message`` on the page this POST redirects to (the last call wins)."""
    request.state._state[STATE_KEY] = {
        "m": message,
        "l": level,
        "p": {k: str(v) for k, v in params.items()},
    }


def _signature(settings: Settings, payload: bytes) -> str:
    return hmac.new(
        settings.secret_key.encode(), b"mosu-flash:" + payload, hashlib.sha256
    ).hexdigest()


def encode(settings: Settings, value: dict[str, object]) -> str:
    """The cookie's value: the message as URL-safe base64 JSON, a dot and its signature."""
    payload = base64.urlsafe_b64encode(json.dumps(value, ensure_ascii=False).encode()).rstrip(b"=")
    return f"{payload.decode()}.{_signature(settings, payload)}"


def decode(settings: Settings, cookie: str) -> dict[str, object] | None:
    """The message in a cookie, or ``None`` when it is missing, malformed or not ours."""
    payload, _, signature = cookie.partition(".")
    if not payload or not hmac.compare_digest(_signature(settings, payload.encode()), signature):
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("m"), str) else None


def _text(value: dict[str, object], lang: i18n.Language) -> str:
    message = str(value["m"])
    raw = value.get("p")
    params = {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}
    return i18n.render(Text(message, params), lang)


def take(request: Request, settings: Settings, lang: i18n.Language) -> Flash | None:
    """The message waiting for this page, in ``lang`` (``None`` when there is none)."""
    cookie = request.cookies.get(FLASH_COOKIE)
    if not cookie:
        return None
    value = decode(settings, cookie)
    if value is None:
        return None
    level = str(value.get("l", "success"))
    return Flash(_text(value, lang), level if level in ("success", "error", "info") else "info")


def forget(response: Response, settings: Settings) -> None:
    """Drop the cookie with the page that showed its message."""
    response.delete_cookie(
        FLASH_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )


class FlashMiddleware:
    """ASGI middleware: the message a page route left (or :data:`DONE` for a silent POST)
    goes with its redirect as the signed cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def with_flash(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (302, 303):
                value = scope.get("state", {}).get(STATE_KEY)
                if value is None and not path.startswith(QUIET_PATHS):
                    value = {"m": DONE, "l": "success", "p": {}}
                if value is not None:
                    settings: Settings = scope["app"].state.settings
                    headers = MutableHeaders(scope=message)
                    secure = "; Secure" if settings.cookie_secure else ""
                    headers.append(
                        "set-cookie",
                        f"{FLASH_COOKIE}={encode(settings, value)}; Max-Age={COOKIE_SECONDS}; "
                        f"Path=/; HttpOnly; SameSite=lax{secure}",
                    )
            await send(message)

        await self.app(scope, receive, with_flash)


__all__ = ["DONE", "FLASH_COOKIE", "Flash", "FlashMiddleware", "flash", "forget", "take"]
