"""SQLite writers take turns in the process instead of failing on the busy timeout, and
readers never wait for them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from mosu.core.db import make_engine
from mosu.core.sqlite_writer import writer_lock


def test_a_second_writer_waits_for_its_turn_and_readers_do_not(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    first, second, reader = engine.connect(), engine.connect(), engine.connect()
    for conn in (first, second):  # SQLite itself would refuse the second writer at once
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        conn.commit()
    trying = threading.Event()
    failures: list[BaseException] = []

    def write_second() -> None:
        try:
            trying.set()
            second.execute(text("INSERT INTO t VALUES (2)"))
            second.commit()
        except BaseException as exc:  # reported to the test below
            failures.append(exc)

    first.execute(text("INSERT INTO t VALUES (1)"))  # the write transaction is open
    assert writer_lock(str(path)).locked()
    thread = threading.Thread(target=write_second)
    thread.start()
    trying.wait()
    time.sleep(0.2)  # the second writer is at its INSERT while the first still writes
    assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0  # readers go on
    reader.rollback()
    first.commit()
    thread.join()

    assert failures == []
    assert sorted(reader.execute(text("SELECT n FROM t")).scalars()) == [1, 2]
    assert not writer_lock(str(path)).locked()
    for conn in (first, second, reader):
        conn.close()
    engine.dispose()


def test_a_failed_write_gives_up_its_turn(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        try:
            conn.execute(text("INSERT INTO missing VALUES (1)"))
        except Exception as exc:  # no such table: nothing began
            assert "missing" in str(exc)
        assert not writer_lock(str(path)).locked()
        conn.execute(text("CREATE TABLE t (n INTEGER UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        conn.commit()
        try:
            conn.execute(text("INSERT INTO t VALUES (1)"))  # a transaction began, then failed
        except Exception as exc:
            assert "UNIQUE" in str(exc)
        conn.rollback()
        assert not writer_lock(str(path)).locked()
    engine.dispose()
