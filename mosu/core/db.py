"""Database engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from mosu.core.sqlite_writer import WriterQueuedConnection
from mosu.core.text import Bilingual, Text

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class StoredText(TypeDecorator[Text]):
    """A catalogued :class:`Text` kept unfinished in a JSON column, so each reader sees it in
    their own language (:func:`mosu.i18n.render`). A bare string read back (a row written
    before the column held texts) is a :class:`~mosu.core.text.Bilingual`."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def process_bind_param(self, value: Text | None, dialect: Any) -> dict[str, Any] | None:
        return None if value is None else value.to_json()

    def process_result_value(self, value: object, dialect: Any) -> Text | None:
        if value is None:
            return None
        if isinstance(value, str):
            return Bilingual(value)
        assert isinstance(value, dict)
        return Text.from_json(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}  # noqa: RUF012


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _json_dumps(value: Any) -> str:
    """JSON kept readable (not ``\\u`` escaped) so that Chinese text in it is searchable."""
    return json.dumps(value, ensure_ascii=False)


POOL_OVERFLOW = 20
"""Connections an engine opens beyond its pool for work outside the request gate (an error
page after its request's session closed, a CLI command's second session)."""


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url`` keeping ``pool_size`` connections (and ``POOL_OVERFLOW`` more
    when busy). SQLite gets WAL, foreign keys, a busy timeout, and writers that queue for
    their turn in the process (:mod:`mosu.core.sqlite_writer`)."""
    sizes: dict[str, Any] = {"pool_size": pool_size, "max_overflow": POOL_OVERFLOW}
    if url.startswith("sqlite"):
        memory = make_url(url).database in (None, "", ":memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "factory": WriterQueuedConnection},
            json_serializer=_json_dumps,
            **({} if memory else sizes),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, json_serializer=_json_dumps, **sizes)
    _ping_when_idle(engine)
    return engine


IDLE_PING_SECONDS = 5.0
"""A pooled server connection idle longer than this is pinged before it is handed out."""
_USED = "mosu_used"  # the monotonic time a pooled connection was last given back


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection when it comes out of the pool after more than
    ``IDLE_PING_SECONDS`` of rest, not at every checkout (``pool_pre_ping``: a round trip
    per request). A server restart or an idle timeout closes connections that rest; one in
    use a moment ago is alive. A failed ping raises ``DisconnectionError``, so the pool
    drops that connection and hands out another (a new one when need be)."""
    dialect = engine.dialect

    def checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_USED] = time.monotonic()

    def checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        used = record.info.get(_USED)  # none: a connection made just now
        if used is None or time.monotonic() - used <= IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
