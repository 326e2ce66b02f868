"""The public cache of an app's middleware stack, and a clock that tests move by hand."""

from __future__ import annotations

from fastapi import FastAPI

from mosu.public_cache import PublicCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache_of(app: FastAPI) -> PublicCache:
    layer = app.middleware_stack
    while not isinstance(layer, PublicCache):
        layer = layer.app  # type: ignore[union-attr]
    return layer
