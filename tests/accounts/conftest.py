"""Fixtures for the accounts tests."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from mosu.accounts import security


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its lowest cost, so that each test world's users hash in microseconds.

    The production parameters are checked separately (``test_production_hashing_cost``).
    """
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
