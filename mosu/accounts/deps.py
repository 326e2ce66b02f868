"""Who is asking: the FastAPI dependencies that resolve a request's user (a bearer token or
the session cookie) to an :class:`~mosu.permissions.Actor` and enforce a route's
requirement; every route declares one (``PublicActor``, ``SignedInActor``, ``OperatorActor``
or ``require(...)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from mosu.accounts.errors import CROSS_SITE, INVALID_TOKEN
from mosu.accounts.service import actor_for, user_for_api_token, visiting_actor
from mosu.core.gate import SAFE_METHODS
from mosu.deps import SESSION_COOKIE, SessionDep
from mosu.permissions import (
    ANYONE,
    OPERATOR,
    PUBLIC,
    SIGNED_IN,
    Actor,
    Requirement,
)

DEFAULT_PORTS = {"http": 80, "https": 443}


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


def resolve_actor(request: Request, session: Session) -> Actor | None:
    """The user behind a bearer token or a session cookie, as an actor, or ``None`` for the
    public."""
    if "mosu_actor" in request.state._state:
        cached: Actor | None = request.state.mosu_actor
        return cached
    actor: Actor | None = None
    token = _bearer(request)
    if token is not None:
        user = user_for_api_token(session, token)
        if user is None:
            raise INVALID_TOKEN()
        actor = actor_for(user)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            visitor = visiting_actor(session, cookie)
            if visitor is not None:
                actor, request.state.mosu_unread = visitor
            if (
                actor is not None
                and request.method not in SAFE_METHODS
                and not _same_origin(request)
            ):
                raise CROSS_SITE()
    request.state.mosu_actor = actor
    return actor


def require(requirement: Requirement) -> Callable[[Request, Session], Actor]:
    """A dependency that resolves the actor and enforces ``requirement``."""

    def dependency(request: Request, session: SessionDep) -> Actor:
        actor = resolve_actor(request, session) or PUBLIC
        requirement.check(actor)
        return actor

    dependency.mosu_requirement = requirement  # type: ignore[attr-defined]
    return dependency


PublicActor = Annotated[Actor, Depends(require(ANYONE))]
SignedInActor = Annotated[Actor, Depends(require(SIGNED_IN))]
OperatorActor = Annotated[Actor, Depends(require(OPERATOR))]
