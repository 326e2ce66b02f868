"""FastAPI dependencies shared by every route: the settings and the request's one database
session (who is asking: :mod:`mosu.accounts.deps`). Imports no domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from mosu import i18n
from mosu.core.gate import SAFE_METHODS, DatabaseGate
from mosu.core.settings import Settings

SESSION_COOKIE = "mosu_session"


async def get_settings(request: Request) -> Settings:
    """The application's settings (async: no worker thread for reading an attribute)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's one session, made once the request has its turn at the database (see
    :mod:`mosu.core.gate`; waited for on the event loop, holding no thread) and closed, its
    connection back in the pool and the turn given up, as soon as the route returns. The
    error page reads it too (``request.state.mosu_session``). Work is committed explicitly
    by the route, else rolled back. Making a session does no I/O, so it costs no thread hop;
    closing one that holds a connection to a server (its rollback is a round trip) does, on
    a thread of its own. A read's SQLite connection is closed in place: Python's ``sqlite3``
    opens a transaction only before a write, so its rollback does nothing and the session
    only gives the connection back to the pool."""
    gate: DatabaseGate = request.app.state.database_gate
    async with gate.turn(request.method):
        session: Session = request.app.state.sessionmaker()
        request.state.mosu_session = session
        try:
            yield session
        finally:
            if session.in_transaction() and not _closes_in_place(request):
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(session.close, limiter=CapacityLimiter(1))
            else:
                session.close()


def _closes_in_place(request: Request) -> bool:
    """Whether the request's session closes without I/O: a read (GET never writes) on SQLite."""
    engine: Engine = request.app.state.engine
    return request.method in SAFE_METHODS and engine.dialect.name == "sqlite"


def accepted_language(header: str) -> i18n.Language | None:
    """The first language of an ``Accept-Language`` header that mosu has, if any."""
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        for lang in i18n.LANGUAGES:
            if tag == lang or tag.startswith(f"{lang}-"):
                return lang
    return None


def api_language(request: Request) -> i18n.Language:
    """The language of an API answer's texts: the ``lang`` cookie, else the first language
    of ``Accept-Language`` mosu has, else the configured default."""
    cookie = request.cookies.get(i18n.LANG_COOKIE)
    if cookie in i18n.LANGUAGES:
        return i18n.normalise(cookie)
    accepted = accepted_language(request.headers.get("accept-language", ""))
    if accepted is not None:
        return accepted
    settings: Settings = request.app.state.settings
    return settings.default_language


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
LanguageDep = Annotated[i18n.Language, Depends(api_language)]
"""The language an API answer's decision texts (cut reasons, failures, rules) are shown in."""


def carries_credentials(headers: Headers) -> bool:
    """Whether a request presents a bearer token or a session cookie (not whether they are
    valid: that is for ``resolve_actor``). The middlewares that sit before any route (body
    limit, security headers, public cache) decide by this alone, without the database."""
    if "authorization" in headers:
        return True
    return bool(cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE))
