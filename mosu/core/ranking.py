"""Text search for the domains' lists, answered by the search index that registers for it.

The lists of organisations, models and scenarios order their rows by a query's relevance
through :func:`rank`. :mod:`mosu.search.live` builds its index from those same tables, so
it sits above them: importing it registers its rankers (the application, the workers and
the CLI load it at start-up, see :mod:`mosu.startup`), and the domains never import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from sqlalchemy.orm import Session

Searched = Literal["organisations", "models", "scenarios"]
Ranker = Callable[[Session, str], list[int]]
"""The ids of the rows matching a query, best first."""

_RANKERS: dict[Searched, Ranker] = {}


def register(kind: Searched, ranker: Ranker) -> None:
    _RANKERS[kind] = ranker


def rank(session: Session, kind: Searched, query: str) -> list[int]:
    """The ids of ``kind`` that match ``query``, best first, from the registered index."""
    ranker = _RANKERS.get(kind)
    if ranker is None:
        raise LookupError(f"no search index answers for {kind}: mosu.search.live is not loaded")
    return ranker(session, query)


def engine_first(ids: Iterable[int], ranked: Sequence[int]) -> list[int]:
    """``ids`` (in a list's own order) with the engine's hits moved to the front, best first;
    the rest (substring matches the engine did not rank) keep their order behind them."""
    position = {doc: n for n, doc in enumerate(ranked)}
    return sorted(ids, key=lambda doc: position.get(doc, len(position)))
