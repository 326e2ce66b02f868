"""Anonymous voting sessions (匿名投票会话): the public votes in arenas without signing in.

The browser keeps ``<token>.<signature>`` in a cookie: a random token, signed with the
server's secret key; the server stores only the token's SHA-256 digest
(:class:`~mosu.arena.models.ArenaGuest`). A cookie that is not signed by this server, or
whose session is unknown, is no session at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.arena.models import ArenaGuest

COOKIE = "mosu_arena_guest"
COOKIE_DAYS = 365
_TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signature(secret_key: str, token: str) -> str:
    return hmac.new(
        secret_key.encode(), b"mosu-arena-guest:" + token.encode(), hashlib.sha256
    ).hexdigest()


def start_guest(session: Session, *, secret_key: str) -> tuple[ArenaGuest, str]:
    """A new anonymous session and the cookie value that names it."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    guest = ArenaGuest(token_digest=_digest(token))
    session.add(guest)
    session.flush()
    return guest, f"{token}.{_signature(secret_key, token)}"


def guest_for(session: Session, *, secret_key: str, cookie: str | None) -> ArenaGuest | None:
    """The anonymous session a cookie names, if it is signed by this server and known."""
    if not cookie or cookie.count(".") != 1:
        return None
    token, signature = cookie.split(".")
    if not token or not hmac.compare_digest(signature, _signature(secret_key, token)):
        return None
    return session.scalar(select(ArenaGuest).where(ArenaGuest.token_digest == _digest(token)))
