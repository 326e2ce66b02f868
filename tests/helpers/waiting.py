"""The one polling loop of the tests."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float = 45,
    interval: float = 0.02,
    what: str = "the condition",
) -> None:
    """Call ``predicate`` every ``interval`` seconds until it returns something true; fail the
    test (AssertionError naming ``what``) once ``timeout`` seconds pass without that."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(interval)
