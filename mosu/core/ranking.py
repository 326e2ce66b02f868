"""Text search for the domains' lists, answered by the search index that registers for it.

The lists of organisations, models and scenarios order their rows by a query's relevance
through :func:`rank`. :mod:`mosu.search.live` builds its index from those same tables, so
it sits above them: importing it registers its rankers (the application, the workers and
the CLI load it at start-up, see :mod:`mosu.startup`), and the domains never import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeVar

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

Searched = Literal["organisations", "models", "scenarios"]
R = TypeVar("R")
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


def page_rows(
    session: Session,
    ordered: Select[R],
    entity: type[R],
    ranked: Sequence[int],
    *,
    page: int,
    per_page: int,
    options: Sequence[ORMOption] = (),
) -> list[R]:
    """One page of ``ordered``'s rows (loaded with ``options``). With ``ranked``, the
    engine's hits among them come first, best first, and the other matches keep
    ``ordered``'s order behind them; without, ``ordered`` is paged as it is."""
    start = (page - 1) * per_page
    if not ranked:
        return list(session.scalars(ordered.options(*options).offset(start).limit(per_page)))
    key = inspect(entity).primary_key[0]
    shown = engine_first(session.scalars(ordered.with_only_columns(key)), ranked)
    shown = shown[start : start + per_page]
    found = session.scalars(select(entity).where(key.in_(shown)).options(*options))
    by_id = {inspect(row).identity[0]: row for row in found}
    return [by_id[i] for i in shown]
