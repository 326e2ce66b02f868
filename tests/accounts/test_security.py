"""Password hashing is bounded: no more argon2 computations at once than there are CPUs."""

from __future__ import annotations

import threading
import time

import pytest
from argon2 import PasswordHasher

from mosu.accounts import security


class OverlapHasher(PasswordHasher):
    """Records how many hashes run at the same moment (each holds its slot for a while)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def _enter(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self._enter()
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._enter()
        return super().hash(password, salt=salt)


def test_concurrent_hashing_is_bounded_by_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    hasher = OverlapHasher()
    monkeypatch.setattr(security, "_hasher", hasher)
    stored = security.hash_password("a-long-password")
    threads = [
        threading.Thread(target=security.verify_password, args=(stored, f"guess-{n}"))
        for n in range(4 * security.HASHING_SLOTS + 4)
    ]
    threads += [
        threading.Thread(target=security.hash_password, args=(f"new-password-{n}",))
        for n in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= hasher.most <= security.HASHING_SLOTS
    assert security.verify_password(stored, "a-long-password")
