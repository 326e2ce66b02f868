"""Password guessing over real HTTP: the lock answers 429 with Retry-After, hashes nothing,
and holds even against the right password."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from mosu.accounts import security
from mosu.core.settings import Settings
from tests.conftest import TEST_SECRET, LiveServer, World
from tests.helpers.signin import browser, sign_in


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Locks long enough (10 minutes at first) that none lifts while a test runs."""
    return Settings.from_env(
        {},
        database_url=database_url,
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "data",
        login_free_failures=5,
        login_free_failures_per_address=50,
        login_base_delay_seconds=600,
    )


class CountingHasher(PasswordHasher):
    """The tests' cheap hasher, counting the passwords it verifies."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


def test_sixty_wrong_passwords_then_the_right_one_is_refused(
    live: LiveServer, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr(security, "_hasher", hasher)
    statuses = []
    with browser(live) as client:
        for n in range(60):
            answer = sign_in(client, "supplier_a", f"wrong-guess-{n:03d}")
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                assert int(answer.headers["retry-after"]) > 0
                assert "尝试次数过多" in answer.text
        assert statuses[:5] == [401] * 5
        assert statuses[5] == 401  # the sixth wrong password starts the lock
        assert statuses[6:] == [429] * 54
        assert hasher.verified == 6, "a locked account's passwords are never hashed"
        right = sign_in(client, "supplier_a", world.passwords["supplier_a"])
        assert right.status_code == 429
        assert 0 < int(right.headers["retry-after"]) <= 600
        assert "mosu_session" not in client.cookies
        assert hasher.verified == 6
    # the lock is the account's, from any address; other accounts sign in
    with browser(live) as other:
        assert sign_in(other, "supplier_b", world.passwords["supplier_b"]).status_code == 303


def test_an_address_guessing_across_accounts_is_locked(
    live: LiveServer, world: World, settings: Settings
) -> None:
    free = settings.login_free_failures_per_address
    with browser(live) as client:
        for n in range(free):  # a few guesses at many accounts: no account reaches its limit
            assert sign_in(client, f"user{n % 20}", "not-the-password").status_code == 401
        assert sign_in(client, "user99", "not-the-password").status_code == 401
        locked = sign_in(client, "expert", world.passwords["expert"])
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0


def test_a_right_password_clears_the_accounts_count(live: LiveServer, world: World) -> None:
    with browser(live) as client:
        for _ in range(2):
            for _ in range(4):
                assert sign_in(client, "demand", "not-the-password").status_code == 401
            assert sign_in(client, "demand", world.passwords["demand"]).status_code == 303
            client.cookies.clear()
