"""Anonymous voting sessions (匿名投票会话): the public votes in arenas without signing in.

The browser keeps ``<token>.<signature>`` in a cookie: a random token, signed with the
server's secret key; the server stores only the token's SHA-256 digest
(:class:`~mosu.arena.models.ArenaGuest`). A cookie that is not signed by this server, or
whose session is unknown, is no session at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.arena.errors import TOO_MANY_GUESTS
from mosu.arena.models import ArenaGuest
from mosu.core import clock

COOKIE = "mosu_arena_guest"
COOKIE_DAYS = 365
SESSIONS_PER_ADDRESS_HOUR = 20
"""New anonymous sessions one client address may start in an hour: clearing the cookie to
shed the votes-per-minute limit and the abuse flags soon stops working."""
_TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signature(secret_key: str, token: str) -> str:
    return hmac.new(
        secret_key.encode(), b"mosu-arena-guest:" + token.encode(), hashlib.sha256
    ).hexdigest()


def start_guest(
    session: Session,
    *,
    secret_key: str,
    address: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[ArenaGuest, str]:
    """A new anonymous session and the cookie value that names it; at most
    :data:`SESSIONS_PER_ADDRESS_HOUR` an hour from one client ``address`` (429 beyond)."""
    now = now or clock.now()
    where = _signature(secret_key, f"address:{address or 'unknown'}")
    hour_ago = now - dt.timedelta(hours=1)
    started = session.scalar(
        select(func.count())
        .select_from(ArenaGuest)
        .where(ArenaGuest.address_digest == where, ArenaGuest.created_at > hour_ago)
    )
    if (started or 0) >= SESSIONS_PER_ADDRESS_HOUR:
        first = session.scalar(
            select(func.min(ArenaGuest.created_at)).where(
                ArenaGuest.address_digest == where, ArenaGuest.created_at > hour_ago
            )
        )
        wait = (first or now) + dt.timedelta(hours=1) - now
        raise TOO_MANY_GUESTS(retry_after=max(1, math.ceil(wait.total_seconds())))
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    guest = ArenaGuest(token_digest=_digest(token), address_digest=where, created_at=now)
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
