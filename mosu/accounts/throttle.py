"""Sign-in throttling: per account and per client address, with a delay that doubles.

Each key (``account:<username>`` or ``address:<ip>``) counts its wrong passwords in the
database, so several web processes share one count. Past a free allowance every further
wrong password locks the key for ``base × 2^k`` seconds (capped); while a key is locked,
sign-ins under it are refused with 429 and ``Retry-After`` before any password is hashed.
A count is forgotten a day after its last wrong password, and an account's count is
cleared by a successful sign-in (an address's is not: one good account must not
launder the guesses sprayed from the same address at others).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mosu.accounts.errors import TOO_MANY_ATTEMPTS
from mosu.accounts.models import LoginThrottle
from mosu.core.errors import MosuError
from mosu.core.settings import Settings

FORGET_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Policy:
    """How many wrong passwords are free, and how the lock after them grows."""

    account_free: int = 5
    address_free: int = 20
    base_delay: float = 1.0
    max_delay: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            account_free=settings.login_free_failures,
            address_free=settings.login_free_failures_per_address,
            base_delay=settings.login_base_delay_seconds,
            max_delay=settings.login_max_delay_seconds,
        )

    def delay(self, failures: int, free: int) -> float:
        """Seconds to lock a key after its ``failures``-th wrong password (0: not locked)."""
        if failures <= free:
            return 0.0
        return float(min(self.max_delay, self.base_delay * 2.0 ** min(failures - free - 1, 60)))


@dataclass(frozen=True)
class Keys:
    """The throttle keys of one sign-in attempt."""

    account: str
    address: str

    @classmethod
    def of(cls, username: str, address: str | None) -> Keys:
        return cls(f"account:{username.strip().lower()[:100]}", f"address:{address or 'unknown'}")


def check(session: Session, keys: Keys, *, now: dt.datetime) -> None:
    """Raise the 429 (``accounts.too_many_attempts``) while either key is locked."""
    until = session.scalar(
        select(LoginThrottle.locked_until)
        .where(
            LoginThrottle.key.in_([keys.account, keys.address]),
            LoginThrottle.locked_until > now,
        )
        .order_by(LoginThrottle.locked_until.desc())
        .limit(1)
    )
    if until is not None:
        raise too_many(math.ceil((until - now).total_seconds()))


def too_many(retry_after: int) -> MosuError:
    return TOO_MANY_ATTEMPTS(retry_after=max(1, retry_after))


def record_failure(session: Session, keys: Keys, policy: Policy, *, now: dt.datetime) -> float:
    """Count a wrong password under both keys; the longest lock it started (0: none)."""
    account = _count(session, keys.account, now=now)
    address = _count(session, keys.address, now=now)
    longest = 0.0
    for key, delay in (
        (keys.account, policy.delay(account, policy.account_free)),
        (keys.address, policy.delay(address, policy.address_free)),
    ):
        if delay > 0:
            until = now + dt.timedelta(seconds=delay)
            session.execute(
                update(LoginThrottle)
                .where(
                    LoginThrottle.key == key,
                    (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < until),
                )
                .values(locked_until=until)
            )
            longest = max(longest, delay)
    return longest


def clear_account(session: Session, keys: Keys) -> None:
    """A successful sign-in forgets the account's wrong passwords."""
    row = session.get(LoginThrottle, keys.account)
    if row is not None:
        session.delete(row)


def _count(session: Session, key: str, *, now: dt.datetime) -> int:
    """Add one failure under ``key`` in a single statement (safe under concurrent processes)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stale = LoginThrottle.last_failure_at < now - FORGET_AFTER
    statement = (
        insert(LoginThrottle)
        .values(key=key, failures=1, last_failure_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.key],
            set_={
                "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
                "last_failure_at": now,
            },
        )
        .returning(LoginThrottle.failures)
    )
    return int(session.execute(statement).scalar_one())
