"""Fixtures of the challenge and race tests."""

from __future__ import annotations

import pytest

from mosu.race import handlers


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of failed calls after 10 ms, not the deployment's backoff (0.5 s doubling):
    the same attempts, sent within the test's time."""
    monkeypatch.setattr(handlers, "ENDPOINT_OPTIONS", handlers.ENDPOINT_OPTIONS + "&backoff=0.01")
