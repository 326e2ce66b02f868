"""One page of a list: the ``Page`` every list route returns and the helpers that make it."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

MAX_PER_PAGE = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def page_args(page: int, per_page: int) -> tuple[int, int]:
    """``page`` and ``per_page`` clamped: page 1 at least, 1 to ``MAX_PER_PAGE`` rows."""
    return max(1, page), min(max(1, per_page), MAX_PER_PAGE)


def like_pattern(q: str) -> str:
    """A LIKE pattern matching ``q`` anywhere, with ``%``, ``_`` and ``\\`` taken literally."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
