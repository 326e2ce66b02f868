"""FastAPI dependencies shared by every route: settings, database session, the actor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from mosu.accounts.models import User
from mosu.accounts.service import actor_for, user_for_api_token, visitor_for_web_token
from mosu.core.errors import Forbidden, Unauthenticated
from mosu.core.gate import SAFE_METHODS, DatabaseGate
from mosu.core.settings import Settings
from mosu.permissions import (
    ANYONE,
    OPERATOR,
    PUBLIC,
    SIGNED_IN,
    Actor,
    Requirement,
)

SESSION_COOKIE = "mosu_session"
DEFAULT_PORTS = {"http": 80, "https": 443}


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's one session, made once the request has its turn at the database (see
    :mod:`mosu.core.gate`; waited for on the event loop, holding no thread) and closed, its
    connection back in the pool and the turn given up, as soon as the route returns. The
    error page reads it too (``request.state.mosu_session``). Work is committed explicitly
    by the route, else rolled back. Making a session does no I/O, so it costs no thread hop;
    closing one that holds a connection does, on a thread of its own."""
    gate: DatabaseGate = request.app.state.database_gate
    async with gate.turn(request.method):
        session: Session = request.app.state.sessionmaker()
        request.state.mosu_session = session
        try:
            yield session
        finally:
            if session.in_transaction():
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(session.close, limiter=CapacityLimiter(1))
            else:
                session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def carries_credentials(headers: Headers) -> bool:
    """Whether a request presents a bearer token or a session cookie (not whether they are
    valid: that is for ``resolve_user``). The middlewares that sit before any route (body
    limit, security headers, public cache) decide by this alone, without the database."""
    if "authorization" in headers:
        return True
    return bool(cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of ``url``, default ports filled in; ``None`` if it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _same_origin(request: Request) -> bool:
    """Whether a write comes from a page of this site: its ``Origin`` (else its ``Referer``)
    names the request's own scheme, host and port. A write with neither is refused.

    The request's own scheme and host are what uvicorn reports; behind a reverse proxy,
    ``--proxy-headers`` and ``--forwarded-allow-ips`` decide whether it trusts the proxy's
    ``X-Forwarded-Proto`` (the proxy must pass ``Host`` through)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return False
    own = origin_of(str(request.base_url))
    return own is not None and origin_of(claimed) == own


def resolve_user(request: Request, session: Session) -> User | None:
    """The user behind a bearer token or a session cookie, or ``None`` for the public."""
    if "mosu_user" in request.state._state:
        cached: User | None = request.state.mosu_user
        return cached
    user: User | None = None
    token = _bearer(request)
    if token is not None:
        user = user_for_api_token(session, token)
        if user is None:
            raise Unauthenticated("API 令牌无效或已撤销 / invalid or revoked API token")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            visitor = visitor_for_web_token(session, cookie)
            if visitor is not None:
                user, request.state.mosu_unread = visitor
            if (
                user is not None
                and request.method not in SAFE_METHODS
                and not _same_origin(request)
            ):
                raise Forbidden("跨站请求被拒绝 / cross-site request refused")
    request.state.mosu_user = user
    return user


def require(requirement: Requirement) -> Callable[[Request, Session], Actor]:
    """A dependency that resolves the actor and enforces ``requirement``."""

    def dependency(request: Request, session: SessionDep) -> Actor:
        user = resolve_user(request, session)
        actor = actor_for(user) if user is not None else PUBLIC
        requirement.check(actor)
        return actor

    dependency.mosu_requirement = requirement  # type: ignore[attr-defined]
    return dependency


PublicActor = Annotated[Actor, Depends(require(ANYONE))]
SignedInActor = Annotated[Actor, Depends(require(SIGNED_IN))]
OperatorActor = Annotated[Actor, Depends(require(OPERATOR))]
