"""Fixtures for the evaluation engine's tests: the shared real data sets, when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _shared_data() -> Path:
    env = os.environ.get("MOSU_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository (or ``MOSU_SHARED_DATA``); skips if absent."""
    path = _shared_data().resolve()
    if not (path / "tnews").is_dir():
        pytest.skip(f"real data sets not found at {path} (set MOSU_SHARED_DATA)")
    return path
