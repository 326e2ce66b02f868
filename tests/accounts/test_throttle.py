"""Sign-in throttling in the database: counts per key, a doubling lock, forgetting."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from mosu.accounts import throttle
from mosu.accounts.models import LoginThrottle
from mosu.accounts.throttle import Keys, Policy
from mosu.core.errors import TooManyRequests

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_the_delay_doubles_after_the_free_failures_and_is_capped() -> None:
    policy = Policy(account_free=3, base_delay=2.0, max_delay=60.0)
    delays = [policy.delay(n, policy.account_free) for n in range(1, 10)]
    assert delays == [0.0, 0.0, 0.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    assert policy.delay(10_000, 3) == 60.0


def test_keys_name_the_account_case_insensitively() -> None:
    assert Keys.of(" Operator ", "10.0.0.1") == Keys("account:operator", "address:10.0.0.1")
    assert Keys.of("x", None).address == "address:unknown"


def test_failures_lock_the_account_then_the_lock_lifts(db: Session) -> None:
    policy = Policy(account_free=2, address_free=100, base_delay=10.0)
    keys = Keys.of("supplier_a", "10.0.0.1")
    for _ in range(2):
        assert throttle.record_failure(db, keys, policy, now=T0) == 0.0
        throttle.check(db, keys, now=T0)  # not locked yet
    assert throttle.record_failure(db, keys, policy, now=T0) == 10.0
    db.commit()
    with pytest.raises(TooManyRequests) as locked:
        throttle.check(db, keys, now=T0 + dt.timedelta(seconds=3))
    assert locked.value.retry_after == 7 and locked.value.status == 429
    # another address is locked out of this account too
    with pytest.raises(TooManyRequests):
        throttle.check(db, Keys.of("supplier_a", "10.9.9.9"), now=T0)
    throttle.check(db, keys, now=T0 + dt.timedelta(seconds=10))  # lifted
    assert throttle.record_failure(db, keys, policy, now=T0 + dt.timedelta(seconds=11)) == 20.0
    row = db.get(LoginThrottle, "account:supplier_a")
    assert row is not None and row.failures == 4


def test_an_address_spraying_many_accounts_is_locked(db: Session) -> None:
    policy = Policy(account_free=5, address_free=3, base_delay=30.0)
    for n in range(3):
        throttle.record_failure(db, Keys.of(f"user{n}", "10.0.0.7"), policy, now=T0)
    throttle.check(db, Keys.of("user99", "10.0.0.7"), now=T0)
    throttle.record_failure(db, Keys.of("user3", "10.0.0.7"), policy, now=T0)
    with pytest.raises(TooManyRequests) as locked:
        throttle.check(db, Keys.of("user99", "10.0.0.7"), now=T0)
    assert locked.value.retry_after == 30
    throttle.check(db, Keys.of("user99", "10.0.0.8"), now=T0)  # the account itself is not locked


def test_success_clears_the_account_and_old_failures_are_forgotten(db: Session) -> None:
    policy = Policy(account_free=2, address_free=100, base_delay=5.0)
    keys = Keys.of("expert", "10.0.0.2")
    for _ in range(2):
        throttle.record_failure(db, keys, policy, now=T0)
    throttle.clear_account(db, keys)
    db.flush()
    assert throttle.record_failure(db, keys, policy, now=T0) == 0.0  # counting starts over
    later = T0 + throttle.FORGET_AFTER + dt.timedelta(seconds=1)
    throttle.record_failure(db, keys, policy, now=T0)
    assert throttle.record_failure(db, keys, policy, now=later) == 0.0
    row = db.get(LoginThrottle, keys.account)
    assert row is not None
    db.refresh(row)
    assert row.failures == 1
